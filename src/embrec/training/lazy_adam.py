"""Adam that touches only the embedding rows a batch used: training cost flat in the catalog size.

Dense Adam updates every row of every table on every step, so with 160k users and 60k items an
epoch of small batches spends its time on rows the batch never saw. With sparse embedding
gradients (``nn.Embedding(sparse=True)``) this optimiser updates the moments and weights of the
used rows only ("lazy" Adam, as ``torch.optim.SparseAdam`` and TensorFlow's LazyAdam): the
moments of an unused row are not decayed, which is the usual and harmless approximation. Dense
parameters (the global offset, MLP layers) get a plain AdamW step, with decoupled weight decay.
Sparse tables get none: their L2 is the per-example term in the loss (``decay="per_example"``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

import torch
from torch import optim


class LazyAdamW(optim.Optimizer):
    """AdamW for dense gradients, lazy row-wise Adam for sparse ones, in one optimiser (so one
    learning-rate schedule drives both)."""

    def __init__(
        self,
        params: Iterable[torch.Tensor] | Iterable[dict[str, Any]],
        lr: float = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 0.0,
    ):
        super().__init__(params, {"lr": lr, "betas": betas, "eps": eps, "weight_decay": weight_decay})

    @torch.no_grad()
    def step(self, closure: Callable[[], float] | None = None) -> float | None:  # type: ignore[override]
        loss = None
        if closure is not None:
            with torch.enable_grad():
                loss = closure()
        for group in self.param_groups:
            beta1, beta2 = group["betas"]
            for param in group["params"]:
                if param.grad is None:
                    continue
                state = self.state[param]
                if not state:
                    state["step"] = 0
                    # sparse: both moments of a row side by side, one gather and one scatter per step
                    shape = (param.shape[0], 2, *param.shape[1:]) if param.grad.is_sparse else (2, *param.shape)
                    state["moments"] = param.new_zeros(shape)
                state["step"] += 1
                correction1 = 1 - beta1 ** state["step"]
                correction2 = 1 - beta2 ** state["step"]
                if param.grad.is_sparse:
                    _sparse_step(param, param.grad, state, group, correction1, correction2)
                else:
                    _dense_step(param, param.grad, state, group, correction1, correction2)
        return loss


def _sparse_step(
    param: torch.Tensor,
    grad: torch.Tensor,
    state: dict[str, Any],
    group: dict[str, Any],
    correction1: float,
    correction2: float,
) -> None:
    beta1, beta2 = group["betas"]
    grad = grad.coalesce()  # duplicate rows (a user twice in the batch) summed, rows unique
    rows, values = grad.indices()[0], grad.values()
    moments = state["moments"].index_select(0, rows)  # (used rows, 2, ...)
    exp_avg, exp_avg_sq = moments[:, 0], moments[:, 1]
    exp_avg.mul_(beta1).add_(values, alpha=1 - beta1)
    exp_avg_sq.mul_(beta2).addcmul_(values, values, value=1 - beta2)
    state["moments"].index_copy_(0, rows, moments)
    denom = exp_avg_sq.div(correction2).sqrt_().add_(group["eps"])
    param.index_add_(0, rows, exp_avg.div(denom), alpha=-group["lr"] / correction1)


def _dense_step(
    param: torch.Tensor,
    grad: torch.Tensor,
    state: dict[str, Any],
    group: dict[str, Any],
    correction1: float,
    correction2: float,
) -> None:
    beta1, beta2 = group["betas"]
    if group["weight_decay"]:
        param.mul_(1 - group["lr"] * group["weight_decay"])
    exp_avg, exp_avg_sq = state["moments"]
    exp_avg.mul_(beta1).add_(grad, alpha=1 - beta1)
    exp_avg_sq.mul_(beta2).addcmul_(grad, grad, value=1 - beta2)
    denom = (exp_avg_sq / correction2).sqrt_().add_(group["eps"])
    param.addcdiv_(exp_avg, denom, value=-group["lr"] / correction1)
