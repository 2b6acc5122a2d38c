"""Training settings as a frozen dataclass that round-trips to JSON."""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from typing import Any, Literal

Optimizer = Literal["adam", "adamw", "sgd"]
Schedule = Literal["one_cycle", "constant"]
Decay = Literal["per_example", "dense"]


@dataclass(frozen=True)
class TrainConfig:
    """How to train.

    ``weight_decay`` is the L2 strength ``wd`` of the brief: for ``adam`` and ``sgd`` it is
    classic L2 added to the gradient, ``grad += 2 * wd * p`` (the same as adding
    ``wd * sum(p ** 2)`` to the loss); for ``adamw`` it is decoupled, ``p -= lr * wd * p`` after
    the Adam step (Loshchilov & Hutter). It applies to embedding tables and weight matrices,
    never to layer biases or the global offset.

    ``valid_fraction`` carves a seeded random validation part out of the training ratings;
    with ``patience`` set, training stops after that many epochs without a better validation
    RMSE and keeps the best weights.
    """

    epochs: int = 20
    lr: float = 1e-2
    weight_decay: float = 0.05
    batch_size: int = 1024
    optimizer: Optimizer = "adamw"
    decay: Decay = "per_example"
    schedule: Schedule = "one_cycle"
    seed: int = 0
    patience: int | None = None
    valid_fraction: float = 0.0

    def __post_init__(self) -> None:
        if self.epochs < 1 or self.batch_size < 1:
            raise ValueError("epochs and batch_size must be positive")
        if self.lr <= 0 or self.weight_decay < 0:
            raise ValueError("lr must be positive and weight_decay non-negative")
        if not 0.0 <= self.valid_fraction < 1.0:
            raise ValueError("valid_fraction must be in [0, 1)")
        if self.optimizer not in ("adam", "adamw", "sgd"):
            raise ValueError(f"unknown optimizer {self.optimizer!r}")
        if self.schedule not in ("one_cycle", "constant"):
            raise ValueError(f"unknown schedule {self.schedule!r}")

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> TrainConfig:
        unknown = set(data) - {f.name for f in fields(cls)}
        if unknown:
            raise ValueError(f"unknown training config keys: {sorted(unknown)}")
        return cls(**data)


def default_y_range(scale: tuple[float, float]) -> tuple[float, float]:
    """Output range for a rating scale: a margin below and above so the ends are reachable.

    ``(lo - (hi - lo) / 4, hi + (hi - lo) / 8)``: 1-5 stars give fastai's (0, 5.5).
    """
    lo, hi = scale
    span = hi - lo if hi > lo else 1.0
    return (lo - span / 4, hi + span / 8)
