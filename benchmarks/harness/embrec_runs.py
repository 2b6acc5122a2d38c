"""embrec's rows: each registered model with the library's defaults, and a validation-tuned blend.

Defaults are read from the code (``TrainConfig()``, ``ModelConfig(kind=...)``), never restated
here, so the table always shows what a user of the library gets.

``embrec best`` is chosen on a validation split carved out of the training fold (never the
test fold): ``valid = random_test_mask(len(train), VALID_FRACTION, seed)``, the same seeded mask
``TrainConfig.valid_fraction`` uses. Candidates (every registered rating model with its
defaults, and the settings of :data:`GRID`) are trained on the rest
and predict the validation ratings. A linear blend ``y = w0 + sum_k w_k y_k`` is fitted to them
by least squares; its validation RMSE is estimated by two-fold cross-fitting on the validation
ratings (weights fitted on one half, scored on the other), and the blend is kept only if that
beats the best single candidate. The chosen candidates are then refitted on the whole training
fold and combined with the weights fitted on all validation ratings (stacking as in the
Netflix prize "probe blending").
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field, fields, replace
from typing import Any, get_args, get_type_hints

import numpy as np
import torch
from torch import nn

from embrec.data.ratings import Ratings
from embrec.data.splits import random_test_mask
from embrec.evaluation.protocol import ranking_report
from embrec.evaluation.rating_metrics import rmse
from embrec.models import MODELS, ModelConfig, default_model_config
from embrec.recommend.recommender import Recommender
from embrec.training.config import TrainConfig, default_train_config
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
    popularity_boost: float = 0.0  # lists ranked by prediction + boost * log(1 + count)


def default_rows() -> dict[str, Candidate]:
    """``embrec <kind>`` for every registered model but the global mean, with the defaults (the
    library's, and the kind's own where its ``ModelSpec`` has some: ``autorec``, ``bmf``)."""
    kinds = [kind for kind in MODELS if kind != "mean"]
    return {f"embrec {kind}": Candidate(kind, model_config(kind), default_train_config(kind)) for kind in kinds}


def objective_rows() -> dict[str, Candidate]:
    """``embrec dot (<objective>)`` for each non-default training objective, when ``TrainConfig`` has one.

    Looked up, not assumed: a ranking objective (BPR, sampled softmax) shows up here as soon as
    ``TrainConfig.objective`` offers it.
    """
    found = {f.name: f for f in fields(TrainConfig)}.get("objective")
    if found is None:
        return {}
    choices = get_args(get_type_hints(TrainConfig)["objective"])
    default = getattr(TrainConfig(), "objective")  # noqa: B009 (the field may not exist in this version)
    return {
        f"embrec dot ({value})": Candidate("dot", ModelConfig(kind="dot"), replace(TrainConfig(), objective=value))
        for value in choices
        if value != default
    }


def model_config(kind: str) -> ModelConfig:
    """The kind's default ``ModelConfig``; ``widedeep`` also gets the MovieLens side features it needs."""
    if kind != "widedeep":
        return default_model_config(kind)
    from embrec.data.side_features import movielens_features

    return replace(default_model_config(kind), features=movielens_features().to_json())


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
    if m.kind in ("dot", "svdpp", "nn", "autorec"):
        out |= {"factors": m.factors, "epochs": t.epochs, "lr": t.lr, "wd": t.weight_decay, "bs": t.batch_size}
        out |= {"optimizer": t.optimizer, "schedule": t.schedule, "decay": t.decay}
    elif m.kind == "bmf":
        out |= {"factors": m.factors, "sweeps": t.epochs, "fit": "Gibbs sampling, posterior mean"}
    return out


# Training settings tried beside the defaults: (kind, weight_decay, lr, epochs), other fields from
# TrainConfig(). The list was drawn up by looking at validation RMSE on u1's validation split.
GRID = (
    ("dot", 0.05, 0.003, 10),
    ("dot", 0.1, 0.003, 20),
    ("dot", 0.1, 0.01, 10),
    ("dot", 0.2, 0.01, 10),
    ("nn", 0.05, 0.003, 5),
)


def candidates() -> list[Candidate]:
    """The pool ``embrec best`` is chosen from: each model with its defaults, and :data:`GRID`."""
    pool = [Candidate(row.model.kind, row.model, row.train) for row in default_rows().values()]
    for kind, wd, lr, epochs in GRID:
        tuned = replace(TrainConfig(), weight_decay=wd, lr=lr, epochs=epochs)
        pool.append(Candidate(f"{kind} wd={wd:g} lr={lr:g} epochs={epochs}", model_config(kind), tuned))
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


def fit_best(train: Ratings, seed: int, log: Callable[[str], None]) -> dict[str, Trained]:
    """Choose on validation (module docstring), refit on all of ``train``.

    Returns ``best`` (the blend, or the best single candidate when blending does not help) and
    ``dot`` (the ``dot`` candidate with the lowest validation RMSE, refitted).
    """
    held = random_test_mask(len(train), VALID_FRACTION, seed)
    part, valid = train.subset(~held, name="train-minus-valid"), train.subset(held, name="validation")
    tuning_start = time.perf_counter()
    pool, columns = candidates(), []
    for candidate in pool:
        predicted = fit_embrec(part, candidate).recommender.predict_indices(valid.users, valid.items)
        columns.append(predicted.astype(np.float64))
        log(f"    candidate {candidate.name}: validation RMSE {rmse(columns[-1], valid.ratings):.4f}")
    x, y = np.column_stack(columns), valid.ratings.astype(np.float64)
    single = [rmse(col, y) for col in columns]
    blend_rmse = _cross_fitted_rmse(x, y, seed)
    log(f"    blend of {len(pool)} (cross-fitted on validation): RMSE {blend_rmse:.4f}; best single {min(single):.4f}")
    tuning = {"tuning_seconds": round(time.perf_counter() - tuning_start, 1)}
    dots = [i for i, c in enumerate(pool) if c.model.kind == "dot"]
    best_dot = min(dots, key=lambda i: single[i])
    keep = range(len(pool)) if blend_rmse < min(single) else [int(np.argmin(single))]
    refits = {i: fit_embrec(train, pool[i]) for i in sorted({*keep, best_dot})}
    out = {"dot": _labelled(refits[best_dot], pool[best_dot], single[best_dot], tuning)}
    if blend_rmse >= min(single):
        out["best"] = _labelled(refits[keep[0]], pool[keep[0]], min(single), tuning)
        return out
    weights, intercept = _least_squares(x, y)
    blend = Blend([refits[i].recommender.model for i in keep], weights, intercept)
    config = replace(refits[0].recommender.model_config, kind="blend")
    params = {
        "chosen": "blend",
        "weights": {c.name: round(float(w), 3) for c, w in zip(pool, weights, strict=True)},
        "intercept": round(intercept, 3),
        "validation_rmse": round(blend_rmse, 4),
    }
    seconds = sum(refits[i].fit_seconds for i in keep)
    out["best"] = Trained(Recommender.from_training(blend, config, train), seconds, params | tuning)
    return out


# Ranking settings tried for ``embrec dot (ranking, validation-tuned)``: TrainConfig() with these
# fields replaced (negatives=None: against every unrated item). The list was drawn up by looking at
# validation NDCG@10 on u1's validation split (50 factors unless said; implicit ALS 0.189, EASE 0.223
# there): softmax at lr 0.03 and wd 0.03/0.1/0.16/0.22/0.4: 0.145/0.207/0.210/0.185/0.110 (lr 0.1:
# 0.213; 30 epochs: 0.214; 64 factors alike); BPR against every unrated item at lr 0.03 and wd
# 0.002/0.005/0.01/0.02/0.05/0.16: 0.209/0.221/0.227/0.216/0.151/0.108; BPR with 8 sampled negatives
# at wd 0.01: 0.231 in a quarter of the time (128 or 256 factors: 0.228, 0.229).
RANKING_GRID: tuple[dict[str, Any], ...] = (
    {"objective": "bpr", "lr": 0.03, "weight_decay": 0.01, "negatives": 8},
    {"objective": "bpr", "lr": 0.03, "weight_decay": 0.005, "negatives": 8},
    {"objective": "bpr", "lr": 0.03, "weight_decay": 0.02, "negatives": 8},
    {"objective": "softmax", "lr": 0.03, "weight_decay": 0.16},
)
POPULARITY_BOOSTS = (0.0, 0.5, 1.0, 2.0, 3.0)


def _validation(train: Ratings, seed: int) -> tuple[Ratings, Ratings]:
    held = random_test_mask(len(train), VALID_FRACTION, seed)
    return train.subset(~held, name="train-minus-valid"), train.subset(held, name="validation")


def fit_ranking_tuned(train: Ratings, seed: int, log: Callable[[str], None]) -> Trained:
    """The :data:`RANKING_GRID` setting with the best validation NDCG@10, refitted on all of ``train``."""
    part, valid = _validation(train, seed)
    start, scored = time.perf_counter(), []
    for overrides in RANKING_GRID:
        name = "dot " + " ".join(f"{k}={v}" for k, v in overrides.items())
        candidate = Candidate(name, ModelConfig(kind="dot"), replace(TrainConfig(), **overrides))
        ndcg = ranking_report(fit_embrec(part, candidate).recommender, valid)["ndcg@10"]
        log(f"    candidate {candidate.name}: validation NDCG@10 {ndcg:.4f}")
        scored.append((ndcg, candidate))
    ndcg, best = max(scored, key=lambda s: s[0])
    extra = {"validation_ndcg@10": round(ndcg, 4), "grid_size": len(scored)}
    extra |= {"objective": best.train.objective, "tuning_seconds": round(time.perf_counter() - start, 1)}
    return _labelled(fit_embrec(train, best), best, math.nan, extra)


def fit_boosted_dot(train: Ratings, seed: int, log: Callable[[str], None]) -> Trained:
    """``embrec dot`` with its defaults, lists ranked with the :data:`POPULARITY_BOOSTS` value of the
    best validation NDCG@10 (``Recommender.top_n(popularity_boost=...)``), refitted on all of ``train``."""
    part, valid = _validation(train, seed)
    candidate = Candidate("dot", ModelConfig(kind="dot"), TrainConfig())
    fitted = fit_embrec(part, candidate).recommender
    scored = [(ranking_report(fitted, valid, popularity_boost=b)["ndcg@10"], b) for b in POPULARITY_BOOSTS]
    log("    popularity boost, validation NDCG@10: " + ", ".join(f"{b:g}: {n:.4f}" for n, b in scored))
    ndcg, boost = max(scored)
    trained = fit_embrec(train, candidate)
    trained.params |= {"popularity_boost": boost, "validation_ndcg@10": round(ndcg, 4)}
    trained.popularity_boost = boost
    return trained


def _labelled(trained: Trained, candidate: Candidate, valid_rmse: float, extra: dict[str, Any]) -> Trained:
    params = {"chosen": candidate.name} | ({} if math.isnan(valid_rmse) else {"validation_rmse": round(valid_rmse, 4)})
    params |= trained.params | extra
    return Trained(trained.recommender, trained.fit_seconds, params)


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
