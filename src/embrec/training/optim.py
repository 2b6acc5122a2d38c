"""Optimiser and learning-rate schedule, with weight decay in named parameter groups."""

from __future__ import annotations

from torch import nn, optim

from embrec.training.config import TrainConfig
from embrec.training.lazy_adam import LazyAdamW


def parameter_groups(model: nn.Module) -> dict[str, list[nn.Parameter]]:
    """``tables``: embedding tables; ``weights``: other weight matrices (MLP layers);
    ``no_decay``: layer biases and offsets."""
    tables = {id(m.weight) for m in model.modules() if isinstance(m, nn.Embedding | nn.EmbeddingBag)}
    groups: dict[str, list[nn.Parameter]] = {"tables": [], "weights": [], "no_decay": []}
    for param in model.parameters():
        if param.requires_grad:
            kind = "no_decay" if param.dim() < 2 else "tables" if id(param) in tables else "weights"
            groups[kind].append(param)
    return groups


def make_optimizer(model: nn.Module, config: TrainConfig) -> optim.Optimizer:
    """The optimiser of ``config``, with the brief's L2 convention (see :class:`TrainConfig`)."""
    groups = parameter_groups(model)
    dense = config.decay == "dense"
    table_wd = config.weight_decay if dense else 0.0  # per-example decay is a loss term instead
    matrix_wd = config.weight_decay if dense else config.mlp_weight_decay
    if config.sparse:  # row-sparse tables (their L2 is in the loss), AdamW on the rest
        return LazyAdamW(
            [
                {"params": groups["tables"], "weight_decay": 0.0},
                {"params": groups["weights"], "weight_decay": matrix_wd},
                {"params": groups["no_decay"], "weight_decay": 0.0},
            ],
            lr=config.lr,
        )
    if config.optimizer == "adamw":  # decoupled: p -= lr * wd * p
        return optim.AdamW(
            [
                {"params": groups["tables"], "weight_decay": table_wd},
                {"params": groups["weights"], "weight_decay": matrix_wd},
                {"params": groups["no_decay"], "weight_decay": 0.0},
            ],
            lr=config.lr,
        )
    # torch adds weight_decay * p to the gradient; the brief's wd * sum(p^2) has gradient 2 * wd * p
    param_groups = [
        {"params": groups["tables"], "weight_decay": 2 * table_wd},
        {"params": groups["weights"], "weight_decay": 2 * matrix_wd},
        {"params": groups["no_decay"], "weight_decay": 0.0},
    ]
    if config.optimizer == "adam":
        return optim.Adam(param_groups, lr=config.lr)
    return optim.SGD(param_groups, lr=config.lr, momentum=0.9)


def make_schedule(
    optimizer: optim.Optimizer, config: TrainConfig, steps_per_epoch: int
) -> optim.lr_scheduler.LRScheduler:
    """One-cycle (warm up to ``lr``, anneal to near zero) or a constant rate, stepped per batch."""
    total = config.epochs * max(steps_per_epoch, 1)
    # one-cycle needs a few steps in each phase; on a handful of batches the rate stays constant
    if config.schedule == "one_cycle" and config.warmup * total >= 2 and (1 - config.warmup) * total >= 2:
        return optim.lr_scheduler.OneCycleLR(optimizer, max_lr=config.lr, total_steps=total, pct_start=config.warmup)
    return optim.lr_scheduler.ConstantLR(optimizer, factor=1.0, total_iters=0)
