"""Optimiser and learning-rate schedule, with weight decay in named parameter groups."""

from __future__ import annotations

from torch import nn, optim

from embrec.training.config import TrainConfig


def parameter_groups(model: nn.Module) -> dict[str, list[nn.Parameter]]:
    """``decay``: embedding tables and weight matrices; ``no_decay``: layer biases, offsets."""
    groups: dict[str, list[nn.Parameter]] = {"decay": [], "no_decay": []}
    for param in model.parameters():
        if param.requires_grad:
            groups["decay" if param.dim() >= 2 else "no_decay"].append(param)
    return groups


def make_optimizer(model: nn.Module, config: TrainConfig) -> optim.Optimizer:
    """The optimiser of ``config``, with the brief's L2 convention (see :class:`TrainConfig`)."""
    groups = parameter_groups(model)
    wd = config.weight_decay if config.decay == "dense" else 0.0
    if config.optimizer == "adamw":
        decay = wd  # decoupled: p -= lr * wd * p
        return optim.AdamW(
            [{"params": groups["decay"], "weight_decay": decay}, {"params": groups["no_decay"], "weight_decay": 0.0}],
            lr=config.lr,
        )
    # torch adds weight_decay * p to the gradient; the brief's wd * sum(p^2) has gradient 2 * wd * p
    param_groups = [
        {"params": groups["decay"], "weight_decay": 2 * wd},
        {"params": groups["no_decay"], "weight_decay": 0.0},
    ]
    if config.optimizer == "adam":
        return optim.Adam(param_groups, lr=config.lr)
    return optim.SGD(param_groups, lr=config.lr, momentum=0.9)


def make_schedule(
    optimizer: optim.Optimizer, config: TrainConfig, steps_per_epoch: int
) -> optim.lr_scheduler.LRScheduler:
    """One-cycle (warm up to ``lr``, anneal to near zero) or a constant rate, stepped per batch."""
    if config.schedule == "one_cycle":
        return optim.lr_scheduler.OneCycleLR(
            optimizer, max_lr=config.lr, epochs=config.epochs, steps_per_epoch=max(steps_per_epoch, 1), pct_start=0.25
        )
    return optim.lr_scheduler.ConstantLR(optimizer, factor=1.0, total_iters=0)
