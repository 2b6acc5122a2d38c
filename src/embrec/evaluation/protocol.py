"""The evaluation protocol every embrec figure uses.

Rating accuracy: RMSE and MAE of the predictions for every test rating; test users or items
without training ratings are predicted through the fallback of ``training.loop.fill_untrained``
(the mean trained vector) and counted in ``unseen_users``/``unseen_items``. A ranking-trained
model (``Recommender.predicts_ratings`` false) has no ratings to compare: RMSE and MAE are None.

Ranking (all-items protocol): every test user with at least one *relevant* test rating
(rating >= :func:`relevance_threshold`, 4 on a 1-5 scale) is ranked. The candidates are all
items of the catalog, including items absent from the training part, minus the items the user
rated in training. Relevant = the user's relevant test items. Reported: Precision, Recall,
NDCG (binary gains), MAP and HitRate at ``k``, averaged over ranked users; ``coverage`` (share
of the catalog appearing in any list) and ``mean_popularity`` (mean training rating count of
the recommended items).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from embrec.data.ratings import Ratings
from embrec.evaluation.ranking_metrics import hit_rate_at_k, map_at_k, ndcg_at_k, precision_at_k, recall_at_k
from embrec.evaluation.rating_metrics import mae, rmse
from embrec.recommend.recommender import Recommender


def relevance_threshold(scale: tuple[float, float]) -> float:
    """The rating at or above which a test item counts as relevant: 80% of the scale's top.

    4 on 1-5 stars and on 0.5-5 half stars, 8 on 1-10.
    """
    return 0.8 * scale[1]


def evaluate(recommender: Recommender, test: Ratings, k: int = 10, popularity_boost: float = 0.0) -> dict[str, Any]:
    """Rating and ranking metrics of ``recommender`` on ``test`` (same catalog as training); lists
    ranked with ``popularity_boost`` (see ``Recommender.top_n``)."""
    if len(test) == 0:
        raise ValueError("the test set is empty")
    predicted = recommender.predict_indices(test.users, test.items)
    trained_users = np.bincount(recommender.seen.nonzero()[0], minlength=recommender.n_users) > 0
    rated = recommender.predicts_ratings
    report: dict[str, Any] = {
        "rmse": rmse(predicted, test.ratings) if rated else None,
        "mae": mae(predicted, test.ratings) if rated else None,
        "n_test": len(test),
        "unseen_users": len(np.unique(test.users[~trained_users[test.users]])),
        "unseen_items": len(np.unique(test.items[recommender.item_popularity[test.items] == 0])),
    }
    return report | ranking_report(recommender, test, k, popularity_boost)


def ranking_report(
    recommender: Recommender, test: Ratings, k: int = 10, popularity_boost: float = 0.0
) -> dict[str, Any]:
    """The ranking half of :func:`evaluate`."""
    relevant = test.ratings >= relevance_threshold(test.scale)
    users = np.unique(test.users[relevant])
    if len(users) == 0:
        return {f"{m}@{k}": None for m in ("precision", "recall", "ndcg", "map", "hit_rate")} | {"ranked_users": 0}
    lists, _ = recommender.top_n(users, k, exact=True, popularity_boost=popularity_boost)  # exact: the model
    hits, n_relevant = _hits(lists, users, test.users[relevant], test.items[relevant], recommender.n_items)
    shown = lists[lists >= 0]
    return {
        f"precision@{k}": precision_at_k(hits, k),
        f"recall@{k}": recall_at_k(hits, n_relevant, k),
        f"ndcg@{k}": ndcg_at_k(hits, n_relevant, k),
        f"map@{k}": map_at_k(hits, n_relevant, k),
        f"hit_rate@{k}": hit_rate_at_k(hits, k),
        "coverage": float(len(np.unique(shown)) / recommender.n_items),
        "mean_popularity": float(recommender.item_popularity[shown].mean()) if len(shown) else 0.0,
        "ranked_users": len(users),
    }


def _hits(
    lists: np.ndarray, users: np.ndarray, rel_users: np.ndarray, rel_items: np.ndarray, n_items: int
) -> tuple[np.ndarray, np.ndarray]:
    """(len(users), k) hit matrix and each user's count of relevant items, vectorised by keys."""
    row_of = np.full(users.max() + 1, -1)
    row_of[users] = np.arange(len(users))
    relevant_keys = np.unique(row_of[rel_users].astype(np.int64) * n_items + rel_items)
    list_keys = np.arange(len(users))[:, None].astype(np.int64) * n_items + lists
    hits = np.isin(list_keys, relevant_keys) & (lists >= 0)
    n_relevant = np.bincount(relevant_keys // n_items, minlength=len(users))
    return hits, n_relevant
