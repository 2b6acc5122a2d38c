"""Training settings as a frozen dataclass that round-trips to JSON."""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields, replace
from typing import Any, Literal

Optimizer = Literal["adam", "adamw", "sgd"]
Schedule = Literal["one_cycle", "constant"]
Decay = Literal["per_example", "dense"]
Objective = Literal["mse", "bpr", "softmax"]
Sampling = Literal["uniform", "popularity"]


@dataclass(frozen=True)
class TrainConfig:
    """How to train.

    ``weight_decay`` is the L2 strength ``wd`` of the brief: for ``adam`` and ``sgd`` it is
    classic L2 added to the gradient, ``grad += 2 * wd * p`` (the same as adding
    ``wd * sum(p ** 2)`` to the loss); for ``adamw`` it is decoupled, ``p -= lr * wd * p`` after
    the Adam step (Loshchilov & Hutter). It applies to embedding tables and weight matrices,
    never to layer biases or the global offset.

    With ``decay="per_example"`` (the default) the L2 term is computed on the rows each batch
    uses, so a row is shrunk in proportion to how often it is seen. ``penalty_alpha`` tempers
    that: a user's or item's term is scaled by ``count ** -penalty_alpha`` (normalised to mean 1
    over the training ratings), so a row with ``n`` ratings is penalised like ``n ** (1 - alpha)``:
    0 gives plain per-example L2, 1 the same pull on every row whatever its count. Biases get
    their own, weaker strength ``bias_decay``; the weight matrices of an MLP get a decoupled
    ``mlp_weight_decay`` (AdamW style) since they are not rows of a table.

    ``threads`` is the number of torch threads while fitting (``None``: leave the process's
    setting). One is the default: batches of ~1k ratings are too small to split, and on a busy
    2-core machine two threads were measured 2-20x slower than one (``TrainConfig()`` on u1).

    ``sparse`` trains embedding tables with sparse gradients and a lazy Adam that updates only
    the rows a batch used (:class:`embrec.training.lazy_adam.LazyAdamW`): the cost of a step no
    longer grows with the catalog, which matters from about 1e5 users or items on (see
    ``benchmarks/scale.py``). It needs ``adam``/``adamw`` and per-example decay.

    ``objective`` is what training minimises: ``"mse"`` the (weighted) squared error of the
    ratings; ``"bpr"`` and ``"softmax"`` rank positives (ratings >= ``positive_threshold``,
    default 0.8 of the scale's top: the protocol's relevance) above items the user did not rate,
    against every such item (``negatives=None``) or ``negatives`` drawn per positive by
    ``sampling`` (see :mod:`embrec.training.ranking`). A ranking-trained model outputs scores,
    not ratings: only its order means something.

    ``valid_fraction`` carves a seeded random validation part out of the training ratings;
    with ``patience`` set, training stops after that many epochs without a better validation
    RMSE and keeps the best weights.
    """

    epochs: int = 15
    lr: float = 7e-3
    weight_decay: float = 0.16
    penalty_alpha: float = 0.6
    bias_decay: float = 0.01
    mlp_weight_decay: float = 0.3
    warmup: float = 0.1
    batch_size: int = 1024
    optimizer: Optimizer = "adamw"
    decay: Decay = "per_example"
    schedule: Schedule = "one_cycle"
    objective: Objective = "mse"
    positive_threshold: float | None = None
    negatives: int | None = None
    sampling: Sampling = "uniform"
    seed: int = 0
    patience: int | None = None
    valid_fraction: float = 0.0
    threads: int | None = 1
    sparse: bool = False

    def __post_init__(self) -> None:
        if self.epochs < 1 or self.batch_size < 1:
            raise ValueError("epochs and batch_size must be positive")
        if self.lr <= 0 or min(self.weight_decay, self.bias_decay, self.mlp_weight_decay) < 0:
            raise ValueError("lr must be positive and weight_decay, bias_decay, mlp_weight_decay non-negative")
        if self.sparse and (self.optimizer == "sgd" or self.decay != "per_example"):
            raise ValueError("sparse training needs optimizer adam or adamw and decay='per_example'")
        if self.threads is not None and self.threads < 1:
            raise ValueError("threads must be positive (or None for torch's setting)")
        if not 0.0 <= self.penalty_alpha <= 1.0:
            raise ValueError("penalty_alpha must be in [0, 1]")
        if not 0.0 < self.warmup < 1.0:
            raise ValueError("warmup (the one-cycle warm-up fraction) must be in (0, 1)")
        if not 0.0 <= self.valid_fraction < 1.0:
            raise ValueError("valid_fraction must be in [0, 1)")
        if self.optimizer not in ("adam", "adamw", "sgd"):
            raise ValueError(f"unknown optimizer {self.optimizer!r}")
        if self.schedule not in ("one_cycle", "constant"):
            raise ValueError(f"unknown schedule {self.schedule!r}")
        self._check_objective()

    def _check_objective(self) -> None:
        if self.objective not in ("mse", "bpr", "softmax") or self.sampling not in ("uniform", "popularity"):
            raise ValueError(f"unknown objective {self.objective!r} or sampling {self.sampling!r}")
        if self.negatives is not None and self.negatives < 1:
            raise ValueError("negatives must be positive (or None: every item the user did not rate)")
        if self.objective != "mse" and self.patience is not None:
            raise ValueError("early stopping (patience) watches validation RMSE: not for ranking objectives")

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


def default_train_config(kind: str) -> TrainConfig:
    """``TrainConfig()`` with the training defaults of model ``kind`` (``ModelSpec.train_defaults``)."""
    from embrec.models.registry import model_spec  # the registry's models do not need training

    return replace(TrainConfig(), **model_spec(kind).train_defaults)
