"""Score -> exclude seen -> top-k, for one user or a batch."""

from __future__ import annotations

import numpy as np
import torch
from scipy import sparse


def seen_matrix(users: np.ndarray, items: np.ndarray, n_users: int, n_items: int) -> sparse.csr_matrix:
    """Boolean user x item matrix of the training interactions."""
    data = np.ones(len(users), dtype=bool)
    matrix = sparse.csr_matrix((data, (users, items)), shape=(n_users, n_items), dtype=bool)
    matrix.sum_duplicates()
    return matrix


def exclude(scores: torch.Tensor, users: np.ndarray, seen: sparse.csr_matrix) -> torch.Tensor:
    """``scores`` (batch, n_items) with each user's seen items set to -inf (in place)."""
    rows = seen[users]
    batch_rows = np.repeat(np.arange(len(users)), np.diff(rows.indptr))
    scores[torch.from_numpy(batch_rows).long(), torch.from_numpy(rows.indices).long()] = -torch.inf
    return scores


def top_k(scores: torch.Tensor, k: int) -> tuple[np.ndarray, np.ndarray]:
    """The ``k`` best columns per row, best first: (indices, scores), both (batch, min(k, n_items)).

    A partial sort (``torch.topk``), not a full sort. Slots that only an excluded item could
    fill (score -inf) get index -1, so a user with fewer than ``k`` items left gets them all
    and then -1s.
    """
    k = min(k, scores.shape[1])
    values, indices = torch.topk(scores, k, dim=1)
    best = indices.numpy().astype(np.int64)
    best_scores = values.numpy()
    best[~np.isfinite(best_scores)] = -1
    return best, best_scores
