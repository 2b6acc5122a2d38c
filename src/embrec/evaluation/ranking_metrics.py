"""Top-k list metrics from a hits matrix.

``hits`` is (n_users, width) boolean: ``hits[u, j]`` says the item at rank ``j + 1`` of user
``u``'s list is relevant. A list narrower than ``k`` (a catalog of fewer than ``k`` items) has
its missing slots counted as misses. ``n_relevant`` is each user's number of relevant items (>= 1). Gains are
binary. Every function returns the mean over users.
"""

from __future__ import annotations

import numpy as np


def precision_at_k(hits: np.ndarray, k: int) -> float:
    """Share of the ``k`` slots that hold a relevant item (an empty slot counts as a miss)."""
    return float(_top(hits, k).sum(axis=1).mean() / k)


def recall_at_k(hits: np.ndarray, n_relevant: np.ndarray, k: int) -> float:
    """Share of each user's relevant items found in the top ``k``."""
    return float((_top(hits, k).sum(axis=1) / n_relevant).mean())


def hit_rate_at_k(hits: np.ndarray, k: int) -> float:
    """Share of users with at least one relevant item in the top ``k``."""
    return float(_top(hits, k).any(axis=1).mean())


def ndcg_at_k(hits: np.ndarray, n_relevant: np.ndarray, k: int) -> float:
    """DCG / ideal DCG with gains 1/log2(rank + 1); the ideal list puts all relevant items first."""
    discounts = 1.0 / np.log2(np.arange(2, k + 2))
    dcg = (_top(hits, k) * discounts).sum(axis=1)
    ideal_cum = np.cumsum(discounts)
    idcg = ideal_cum[np.minimum(n_relevant, k) - 1]
    return float((dcg / idcg).mean())


def map_at_k(hits: np.ndarray, n_relevant: np.ndarray, k: int) -> float:
    """Mean average precision: sum of precision@rank at each hit, over min(n_relevant, k)."""
    h = _top(hits, k).astype(np.float64)
    precision_at_rank = np.cumsum(h, axis=1) / np.arange(1, k + 1)
    return float(((precision_at_rank * h).sum(axis=1) / np.minimum(n_relevant, k)).mean())


def _top(hits: np.ndarray, k: int) -> np.ndarray:
    """The first ``k`` columns of ``hits``, padded with misses when the lists are shorter."""
    hits = np.asarray(hits, dtype=bool)[:, :k]
    if hits.shape[1] < k:
        hits = np.pad(hits, ((0, 0), (0, k - hits.shape[1])))
    return hits
