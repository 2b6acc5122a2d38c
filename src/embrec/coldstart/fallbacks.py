"""A newcomer about whom nothing is known: the representative user or popularity corrected by bias.

Two answers, compared by :func:`compare_fallbacks` on users the model never saw:

* ``representative``: the real (trained) user whose rows are nearest, in Euclidean distance, to
  the mean of all trained users' rows (factors and bias together). A real person's tastes, so
  the list is coherent, but someone's in particular.
* ``popularity``: popularity corrected by bias. Predicted ratings are the *average user's* (the
  prior mean, what ``fill_untrained`` gives an unseen id); items are ranked by::

      score_i = log(1 + n_i) + logit((r_i - lo) / (hi - lo))

  where ``n_i`` is the item's rating count and ``r_i`` the average user's predicted rating on
  the model's output range ``(lo, hi)``: log-odds of having seen it plus log-odds of liking it.
  A popular film the average user would rate low falls; an obscure film with a high bias does not
  outrank the classics on one enthusiastic rating.

``DEFAULT_FALLBACK`` is the one that won on MovieLens 100k held-out users in
``benchmarks/coldstart.py`` (NDCG@10 and RMSE); :func:`choose_fallback` re-decides it on any
held-out ratings given.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

from embrec.coldstart.fold_in import predict_folded
from embrec.coldstart.metrics import cold_metrics
from embrec.coldstart.prior import FoldedRows, Prior, flat_rows, population_prior, trained_rows
from embrec.data.ratings import Ratings
from embrec.recommend.recommender import Recommender
from embrec.training.config import default_y_range

FallbackName = Literal["representative", "popularity"]
DEFAULT_FALLBACK: FallbackName = "popularity"


@dataclass(frozen=True)
class ColdList:
    """What a cold path gives a newcomer: predicted ratings of every item, and ranking scores."""

    name: str
    predictions: np.ndarray  # (n_items,) float32, on the rating scale
    ranking: np.ndarray  # (n_items,) float, higher first
    rows: FoldedRows | None = None


def representative_user(recommender: Recommender, prior: Prior | None = None) -> int:
    """Index of the trained user whose rows are nearest the mean of all trained users' rows."""
    prior = prior if prior is not None else population_prior(recommender, "user")
    candidates = trained_rows(recommender, "user")
    rows = flat_rows(recommender.model, prior.layout, candidates)
    return int(candidates[np.argmin(((rows - prior.mean) ** 2).sum(axis=1))])


def representative_fallback(recommender: Recommender, prior: Prior | None = None) -> ColdList:
    index = representative_user(recommender, prior)
    predictions = recommender.score_users(np.array([index]))[0].numpy().astype(np.float32)
    return ColdList("representative", predictions, predictions.astype(np.float64))


def popularity_fallback(recommender: Recommender, prior: Prior | None = None) -> ColdList:
    prior = prior if prior is not None else population_prior(recommender, "user")
    average = FoldedRows("user", prior.layout.split(prior.mean), "none")
    predictions = predict_folded(recommender, average)
    return ColdList("popularity", predictions, popularity_ranking(recommender, predictions), average)


def popularity_ranking(recommender: Recommender, predictions: np.ndarray) -> np.ndarray:
    """``log(1 + n_i) + logit`` of the predicted rating on the output range (module docstring)."""
    lo, hi = recommender.model_config.y_range or default_y_range(recommender.scale)
    share = np.clip((np.asarray(predictions, dtype=np.float64) - lo) / (hi - lo), 1e-4, 1 - 1e-4)
    return np.log1p(np.asarray(recommender.item_popularity, dtype=np.float64)) + np.log(share / (1 - share))


def fallback(recommender: Recommender, name: FallbackName = DEFAULT_FALLBACK, prior: Prior | None = None) -> ColdList:
    if name == "representative":
        return representative_fallback(recommender, prior)
    if name == "popularity":
        return popularity_fallback(recommender, prior)
    raise ValueError(f"unknown fallback {name!r}; choose representative or popularity")


def compare_fallbacks(recommender: Recommender, test: Ratings, k: int = 10) -> dict[str, dict[str, Any]]:
    """RMSE and NDCG@k of both fallbacks on ``test``, whose users are cold (every one gets the same list)."""
    users = np.unique(test.users)
    report = {}
    for name in ("representative", "popularity"):
        cold = fallback(recommender, name)
        tile = (len(users), 1)
        report[name] = cold_metrics(users, np.tile(cold.predictions, tile), np.tile(cold.ranking, tile), test, None, k)
    return report


def choose_fallback(recommender: Recommender, test: Ratings | None = None, k: int = 10) -> ColdList:
    """The better fallback by NDCG@k on ``test`` (RMSE breaks ties), or :data:`DEFAULT_FALLBACK` without it."""
    if test is None or len(test) == 0:
        return fallback(recommender)
    report = compare_fallbacks(recommender, test, k)
    best = max(report, key=lambda name: (report[name][f"ndcg@{k}"] or 0.0, -report[name]["rmse"]))
    return fallback(recommender, "representative" if best == "representative" else "popularity")

