"""Scoring cold users: each gets a row of predicted ratings and a row of ranking scores.

The same protocol as :mod:`embrec.evaluation.protocol`, for users the recommender does not hold:
RMSE over each user's test ratings, and NDCG@k over all items minus the ones the user revealed
(relevant = test ratings >= :func:`relevance_threshold`; users without a relevant test item are
not ranked).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from scipy import sparse

from embrec.data.ratings import Ratings
from embrec.evaluation.protocol import relevance_threshold
from embrec.evaluation.ranking_metrics import ndcg_at_k
from embrec.evaluation.rating_metrics import rmse
from embrec.recommend.ranking import exclude, top_k


def cold_metrics(
    users: np.ndarray,
    predictions: np.ndarray,
    ranking: np.ndarray,
    test: Ratings,
    revealed: sparse.csr_matrix | None = None,
    k: int = 10,
) -> dict[str, Any]:
    """``rmse`` and ``ndcg@k`` of rows ``predictions``/``ranking`` (len(users), n_items) on ``test``.

    ``users`` are the test user indices the rows belong to (``test`` holds only those users);
    ``revealed`` (len(users), n_items) marks items excluded from each list.
    """
    row_of = np.full(test.n_users, -1, dtype=np.int64)
    row_of[users] = np.arange(len(users))
    rows = row_of[test.users]
    if (rows < 0).any():
        raise ValueError("test holds ratings of users without a row")
    report: dict[str, Any] = {"rmse": rmse(predictions[rows, test.items], test.ratings), "n_test": len(test)}
    scores = torch.as_tensor(np.asarray(ranking, dtype=np.float32)).clone()
    if revealed is not None:
        exclude(scores, np.arange(len(users)), revealed)
    lists, _ = top_k(scores, k)
    relevant = test.ratings >= relevance_threshold(test.scale)
    n_items = predictions.shape[1]
    relevant_keys = np.unique(rows[relevant] * n_items + test.items[relevant])
    list_keys = np.arange(len(users))[:, None] * n_items + lists
    hits = np.isin(list_keys, relevant_keys) & (lists >= 0)
    n_relevant = np.bincount(relevant_keys // n_items, minlength=len(users))
    ranked = n_relevant > 0
    report[f"ndcg@{k}"] = ndcg_at_k(hits[ranked], n_relevant[ranked], k) if ranked.any() else None
    report["ranked_users"] = int(ranked.sum())
    return report
