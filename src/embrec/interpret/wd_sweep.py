"""Weight decay made visible: validation RMSE per epoch and embedding norms for several strengths.

One validation part is carved from the training ratings (a seeded random share, the same for
every setting), then one model per weight decay is trained on the rest with the same seed, so
the curves differ only by ``weight_decay``. Without decay the validation RMSE typically falls
and then climbs again while the training loss keeps falling (over-fitting), and the embedding
norms grow; more decay keeps them small.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
from torch import nn

from embrec.data.ratings import Ratings
from embrec.data.splits import random_test_mask
from embrec.models import ModelConfig
from embrec.training.config import TrainConfig
from embrec.training.loop import EpochRecord, train_model


@dataclass(frozen=True)
class SweepRun:
    """One weight decay: train loss and validation RMSE per epoch, and the final embedding norms.

    ``norms`` maps each embedding table (``user_factors``, ``item_factors``...) to the mean L2 norm
    of its rows that had training ratings.
    """

    weight_decay: float
    train_loss: list[float]
    valid_rmse: list[float]
    norms: dict[str, float]

    @property
    def best_epoch(self) -> int:
        """1-based epoch of the lowest validation RMSE."""
        return int(np.argmin(self.valid_rmse)) + 1

    def to_json(self) -> dict[str, Any]:
        return {
            "weight_decay": self.weight_decay,
            "train_loss": [round(v, 6) for v in self.train_loss],
            "valid_rmse": [round(v, 6) for v in self.valid_rmse],
            "best_epoch": self.best_epoch,
            "norms": {k: round(v, 6) for k, v in self.norms.items()},
        }


def weight_decay_sweep(
    train: Ratings,
    weight_decays: Sequence[float],
    model_config: ModelConfig,
    train_config: TrainConfig,
    valid_fraction: float = 0.1,
    on_epoch: Callable[[float, EpochRecord], None] | None = None,
) -> list[SweepRun]:
    """Train one model per weight decay on ``train`` minus a validation share carved from it.

    The split is ``random_test_mask(len(train), valid_fraction, train_config.seed)``; every run
    uses ``train_config`` with only ``weight_decay`` replaced (no early stopping, so each curve
    covers every epoch). ``on_epoch(weight_decay, record)`` reports progress.
    """
    if not weight_decays:
        raise ValueError("give at least one weight decay")
    if not 0.0 < valid_fraction < 1.0:
        raise ValueError(f"valid_fraction must be in (0, 1), got {valid_fraction}")
    held = random_test_mask(len(train), valid_fraction, train_config.seed)
    fit_part, valid = train.subset(~held, name=train.name), train.subset(held, name="validation")
    runs = []
    for wd in weight_decays:
        config = replace(train_config, weight_decay=float(wd), patience=None, valid_fraction=0.0)
        records: list[EpochRecord] = []

        def record(entry: EpochRecord, wd: float = float(wd), records: list[EpochRecord] = records) -> None:
            records.append(entry)
            if on_epoch is not None:
                on_epoch(wd, entry)

        model, _, _ = train_model(fit_part, model_config, config, valid=valid, on_epoch=record)
        runs.append(
            SweepRun(
                float(wd),
                [r.train_loss for r in records],
                [float(r.valid_rmse) for r in records if r.valid_rmse is not None],
                embedding_norms(model, fit_part),
            )
        )
    return runs


def embedding_norms(model: nn.Module, train: Ratings) -> dict[str, float]:
    """Mean L2 row norm of each embedding table with more than one column, over trained rows.

    Rows without training ratings are left out: training fills them with the mean row.
    """
    trained = {"user": train.user_counts() > 0, "item": train.item_counts() > 0}
    norms = {}
    for name, module in model.named_modules():
        if not isinstance(module, nn.Embedding) or module.embedding_dim < 2:
            continue
        rows = module.weight.detach().numpy()
        mask = trained.get(name.split("_", 1)[0])
        if mask is not None and len(mask) == len(rows):
            rows = rows[mask]
        norms[name] = float(np.linalg.norm(rows, axis=1).mean()) if len(rows) else 0.0
    return norms
