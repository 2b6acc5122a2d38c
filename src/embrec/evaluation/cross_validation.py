"""Cross-validation: train and evaluate on each split, report mean and standard deviation."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from embrec.data.splits import Split
from embrec.evaluation.protocol import evaluate
from embrec.models import ModelConfig
from embrec.recommend.recommender import Recommender
from embrec.training.config import TrainConfig
from embrec.training.loop import EpochRecord, train_model


@dataclass(frozen=True)
class CrossValidation:
    folds: dict[str, dict[str, Any]]

    def summary(self) -> dict[str, dict[str, float]]:
        """Mean and (population) standard deviation of every numeric metric over the folds."""
        keys = [k for k, v in next(iter(self.folds.values())).items() if isinstance(v, int | float)]
        out: dict[str, dict[str, float]] = {}
        for key in keys:
            values = np.array([fold[key] for fold in self.folds.values() if fold.get(key) is not None], dtype=float)
            out[key] = {"mean": float(values.mean()), "std": float(values.std())}
        return out

    def to_json(self) -> dict[str, Any]:
        return {"folds": self.folds, "summary": self.summary()}


def cross_validate(
    splits: Sequence[Split],
    model_config: ModelConfig,
    train_config: TrainConfig,
    k: int = 10,
    on_fold: Callable[[str, dict[str, Any]], None] | None = None,
    on_epoch: Callable[[EpochRecord], None] | None = None,
) -> CrossValidation:
    """Train a fresh model on each split's training part and evaluate it on its test part."""
    results: dict[str, dict[str, Any]] = {}
    for split in splits:
        model, resolved, history = train_model(split.train, model_config, train_config, on_epoch=on_epoch)
        recommender = Recommender.from_training(model, resolved, split.train, train_config)
        report = evaluate(recommender, split.test, k) | {"fit_seconds": history.seconds}
        results[split.name] = report
        if on_fold is not None:
            on_fold(split.name, report)
    return CrossValidation(results)
