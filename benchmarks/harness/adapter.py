"""Any library's predictions, scored by embrec's own evaluation protocol.

A reference library gives two dense (n_users, n_items) matrices over embrec's indices: the
rating it predicts for every pair (``None`` for ranking-only libraries) and the score it ranks
by. :class:`ScoreTable` wraps them as a model, :func:`evaluate_scores` hands that to
``Recommender.from_training`` and ``embrec.evaluation.protocol.evaluate``: the same seen-item
exclusion (the user's training ratings), the same top-k, the same metric functions as every
embrec figure. Nothing is re-implemented here.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from torch import nn

from embrec.data.ratings import Ratings
from embrec.evaluation.protocol import evaluate
from embrec.models import ModelConfig
from embrec.recommend.recommender import Recommender


class ScoreTable(nn.Module):
    """Precomputed predictions as a model: ``forward`` looks pairs up, ``score_all`` returns rows.

    ``ratings`` (n_users, n_items) are the predicted ratings (NaN for a ranking-only library:
    its RMSE is then NaN, shown as "-"); ``ranking`` the scores lists are ordered by.
    """

    def __init__(self, ratings: np.ndarray | None, ranking: np.ndarray):
        super().__init__()
        shape = ranking.shape
        if ratings is not None and ratings.shape != shape:
            raise ValueError("ratings and ranking matrices differ in shape")
        table = np.full(shape, np.nan, dtype=np.float32) if ratings is None else ratings
        self.register_buffer("ratings", torch.as_tensor(np.ascontiguousarray(table, dtype=np.float32)))
        self.register_buffer("ranking", torch.as_tensor(np.ascontiguousarray(ranking, dtype=np.float32)))

    def forward(self, users: torch.Tensor, items: torch.Tensor) -> torch.Tensor:
        return self.get_buffer("ratings")[users, items]

    def score_all(self, users: torch.Tensor) -> torch.Tensor:
        return self.get_buffer("ranking")[users]


def evaluate_scores(
    train: Ratings, test: Ratings, ratings: np.ndarray | None, ranking: np.ndarray, name: str, k: int = 10
) -> dict[str, Any]:
    """``protocol.evaluate`` of a library's score matrices (training ratings excluded from lists)."""
    if ranking.shape != (train.n_users, train.n_items):
        raise ValueError(f"scores must be (n_users, n_items) = {(train.n_users, train.n_items)}, got {ranking.shape}")
    recommender = Recommender.from_training(ScoreTable(ratings, ranking), ModelConfig(kind=name), train)
    return evaluate(recommender, test, k)


def popularity_scores(train: Ratings, positive: float) -> np.ndarray:
    """The most-popular baseline: every user gets items by their count of ratings >= ``positive``."""
    counts = np.bincount(train.items[train.ratings >= positive], minlength=train.n_items).astype(np.float32)
    return np.broadcast_to(counts, (train.n_users, train.n_items)).copy()
