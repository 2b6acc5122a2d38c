"""embrec's rows: each registered model with the library's defaults, and a validation-tuned blend.

Defaults are read from the code (``TrainConfig()``, ``ModelConfig(kind=...)``), never restated
here, so the table always shows what a user of the library gets.

``embrec best`` is chosen on a validation split carved out of the training fold (never the
test fold): ``valid = random_test_mask(len(train), VALID_FRACTION, seed)``, the same seeded mask
``TrainConfig.valid_fraction`` uses. Candidates (every registered rating model with its
defaults, and ``dot`` with the default weight decay halved and doubled) are trained on the rest
and predict the validation ratings. A linear blend ``y = w0 + sum_k w_k y_k`` is fitted to them
by least squares; its validation RMSE is estimated by two-fold cross-fitting on the validation
ratings (weights fitted on one half, scored on the other), and the blend is kept only if that
beats the best single candidate. The chosen candidates are then refitted on the whole training
fold and combined with the weights fitted on all validation ratings (stacking as in the
Netflix prize "probe blending").
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import torch
from torch import nn

from embrec.data.ratings import Ratings
from embrec.data.splits import random_test_mask
from embrec.evaluation.rating_metrics import rmse
from embrec.models import MODELS, ModelConfig
from embrec.recommend.recommender import Recommender
from embrec.training.config import TrainConfig
from embrec.training.loop import train_model

VALID_FRACTION = 0.1


@dataclass(frozen=True)
class Candidate:
    name: str
    model: ModelConfig
    train: TrainConfig


@dataclass
class Trained:
    recommender: Recommender
    fit_seconds: float
    params: dict[str, Any] = field(default_factory=dict)


def default_rows() -> dict[str, Candidate]:
    """``embrec <kind>`` for every registered model but the global mean, with the defaults."""
    kinds = [kind for kind in MODELS if kind != "mean"]
    return {f"embrec {kind}": Candidate(kind, ModelConfig(kind=kind), TrainConfig()) for kind in kinds}


def fit_embrec(train: Ratings, candidate: Candidate, repeats: int = 1) -> Trained:
    """Train ``candidate`` on ``train``; fit seconds are the fastest of ``repeats`` identical fits."""
    best = float("inf")
    recommender = None
    for _ in range(repeats):
        start = time.perf_counter()
        model, resolved, history = train_model(train, candidate.model, candidate.train)
        best = min(best, time.perf_counter() - start)
        recommender = Recommender.from_training(model, resolved, train, candidate.train)
    assert recommender is not None
    params = _describe(candidate) | {"epochs_run": len(history.epochs)}
    return Trained(recommender, best, params)


def _describe(candidate: Candidate) -> dict[str, Any]:
    m, t = candidate.model, candidate.train
    out: dict[str, Any] = {"kind": m.kind}
    if m.kind in ("dot", "nn"):
        out |= {"factors": m.factors, "epochs": t.epochs, "lr": t.lr, "wd": t.weight_decay, "bs": t.batch_size}
        out |= {"optimizer": t.optimizer, "schedule": t.schedule}
    return out


def candidates() -> list[Candidate]:
    """The pool ``embrec best`` is chosen from (see the module docstring)."""
    pool = [Candidate(row.model.kind, row.model, row.train) for row in default_rows().values()]
    base = TrainConfig()
    for factor in (0.5, 2.0):
        tuned = replace(base, weight_decay=base.weight_decay * factor)
        pool.append(Candidate(f"dot wd x{factor:g}", ModelConfig(kind="dot"), tuned))
    return pool


class Blend(nn.Module):
    """``y = w0 + sum_k w_k f_k(u, i)`` over trained models (rows and lists alike)."""

    def __init__(self, models: list[nn.Module], weights: np.ndarray, intercept: float):
        super().__init__()
        self.parts = nn.ModuleList(models)
        self.register_buffer("weights", torch.as_tensor(weights, dtype=torch.float32))
        self.intercept = float(intercept)

    def forward(self, users: torch.Tensor, items: torch.Tensor) -> torch.Tensor:
        return self._combine([m(users, items) for m in self.parts])

    def score_all(self, users: torch.Tensor) -> torch.Tensor:
        return self._combine([m.score_all(users) for m in self.parts])

    def _combine(self, outputs: list[torch.Tensor]) -> torch.Tensor:
        weights = self.get_buffer("weights")
        total = torch.full_like(outputs[0], self.intercept)
        for w, out in zip(weights, outputs, strict=True):
            total = total + w * out
        return total


def fit_best(train: Ratings, seed: int, log: Callable[[str], None]) -> Trained:
    """``embrec best``: choose on validation (module docstring), refit on all of ``train``."""
    held = random_test_mask(len(train), VALID_FRACTION, seed)
    part, valid = train.subset(~held, name="train-minus-valid"), train.subset(held, name="validation")
    tuning_start = time.perf_counter()
    pool, columns = [], []
    for candidate in candidates():
        trained = fit_embrec(part, candidate)
        predicted = trained.recommender.predict_indices(valid.users, valid.items).astype(np.float64)
        log(f"    candidate {candidate.name}: validation RMSE {rmse(predicted, valid.ratings):.4f}")
        pool.append(candidate)
        columns.append(predicted)
    x = np.column_stack(columns)
    single = [rmse(col, valid.ratings) for col in columns]
    blend_rmse = _cross_fitted_rmse(x, valid.ratings.astype(np.float64), seed)
    log(f"    blend of {len(pool)} (cross-fitted on validation): RMSE {blend_rmse:.4f}; best single {min(single):.4f}")
    tuning_seconds = time.perf_counter() - tuning_start
    if blend_rmse >= min(single):
        chosen = pool[int(np.argmin(single))]
        final = fit_embrec(train, chosen)
        final.params = {"chosen": chosen.name, "validation_rmse": round(min(single), 4)} | final.params
        final.params["tuning_seconds"] = round(tuning_seconds, 1)
        return final
    weights, intercept = _least_squares(x, valid.ratings.astype(np.float64))
    refits = [fit_embrec(train, c) for c in pool]
    blend = Blend([r.recommender.model for r in refits], weights, intercept)
    first = refits[0].recommender
    recommender = Recommender.from_training(blend, replace(first.model_config, kind="blend"), train)
    params = {
        "chosen": "blend",
        "weights": {c.name: round(float(w), 3) for c, w in zip(pool, weights, strict=True)},
        "intercept": round(intercept, 3),
        "validation_rmse": round(blend_rmse, 4),
        "tuning_seconds": round(tuning_seconds, 1),
    }
    return Trained(recommender, sum(r.fit_seconds for r in refits), params)


def _least_squares(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, float]:
    design = np.column_stack([np.ones(len(x)), x])
    coef = np.linalg.lstsq(design, y, rcond=None)[0]
    return coef[1:], float(coef[0])


def _cross_fitted_rmse(x: np.ndarray, y: np.ndarray, seed: int) -> float:
    """RMSE of the least-squares blend scored on the half of the ratings it was not fitted on."""
    half = np.random.default_rng(seed).random(len(y)) < 0.5
    errors = np.empty(len(y))
    for fit_on in (half, ~half):
        w, b = _least_squares(x[fit_on], y[fit_on])
        errors[~fit_on] = x[~fit_on] @ w + b - y[~fit_on]
    return float(np.sqrt(np.mean(errors**2)))
