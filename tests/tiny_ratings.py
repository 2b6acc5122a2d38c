"""Tiny synthetic ratings with known answers, shared by the foundation tests.

Importable from any test module because ``tests/conftest.py`` puts ``tests/`` on the path
(pytest's default ``prepend`` import mode).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

import numpy as np
import pandas as pd
import torch
from torch import nn

from embrec.data.ratings import Ratings
from embrec.data.readers import ratings_from_frame
from embrec.models import ModelConfig
from embrec.recommend.recommender import Recommender
from embrec.training.config import TrainConfig
from embrec.training.loop import train_model

Row = tuple[object, ...]


def ratings(
    rows: Sequence[Row],
    scale: tuple[float, float] | None = None,
    titles: dict[str, str] | None = None,
) -> Ratings:
    """Ratings from ``(user, item, rating[, timestamp])`` rows; ``titles`` maps raw item id -> title
    (ids only in ``titles`` join the catalog without ratings)."""
    columns = ["user", "item", "rating", "timestamp"][: len(rows[0])]
    frame = pd.DataFrame([tuple(r) for r in rows], columns=columns)
    frame["user"] = frame["user"].astype(str)
    frame["item"] = frame["item"].astype(str)
    items = None
    if titles is not None:
        items = pd.DataFrame({"title": list(titles.values())}, index=pd.Index(list(titles), dtype=str))
    return ratings_from_frame(frame, scale=scale, item_table=items)


def raw_rows(data: Ratings) -> list[Row]:
    """``(user, item, rating)`` rows of ``data`` with raw ids (to rebuild it with changes)."""
    users, items = data.user_ids.raws(data.users), data.item_ids.raws(data.items)
    return list(zip(users, items, data.ratings.tolist(), strict=True))


def checkerboard(
    users_per_group: int = 8, items_per_group: int = 6, seed: int = 0
) -> tuple[Ratings, dict[int, set[int]]]:
    """Two user groups that like two item groups: group A rates items ``x*`` 5 and ``y*`` 1,
    group B the opposite (plus a little noise). Every user leaves one item of each group
    unrated; returns the ratings (scale 1..5) and, per user index, the indices of the unrated
    items of the liked group (what a personalised model must put first).
    """
    rng = np.random.default_rng(seed)
    items = [f"x{j}" for j in range(items_per_group)] + [f"y{j}" for j in range(items_per_group)]
    rows: list[Row] = []
    liked_left: dict[str, str] = {}
    for u in range(2 * users_per_group):
        group_a = u < users_per_group
        skip = {f"x{u % items_per_group}", f"y{(u + 1) % items_per_group}"}
        liked_left[f"u{u}"] = f"x{u % items_per_group}" if group_a else f"y{(u + 1) % items_per_group}"
        for item in items:
            if item in skip:
                continue
            likes = (item[0] == "x") == group_a
            value = 5.0 if likes else 1.0
            rows.append((f"u{u}", item, float(np.clip(value + rng.normal(0, 0.2), 1, 5))))
    data = ratings(rows, scale=(1.0, 5.0))
    liked = {data.user_ids.index(u): {data.item_ids.index(i)} for u, i in liked_left.items()}
    return data, liked


def item_quality(n_users: int = 10, n_items: int = 6) -> Ratings:
    """Items of increasing quality: every user rates item ``q{j}`` ``1 + 4 j / (n_items - 1)``
    (so ``q0`` is the worst, the last the best); user ``u`` leaves item ``u % n_items`` unrated."""
    rows: list[Row] = []
    for u in range(n_users):
        for j in range(n_items):
            if j != u % n_items:
                rows.append((f"u{u}", f"q{j}", 1.0 + 4.0 * j / (n_items - 1)))
    return ratings(rows, scale=(1.0, 5.0))


TINY_TRAIN = TrainConfig(epochs=30, lr=0.05, batch_size=32, weight_decay=0.001, seed=0)
TINY_MODEL = ModelConfig(factors=4, layers=(16,), dropout=0.0)


def train_tiny(data: Ratings, kind: str = "dot", config: TrainConfig = TINY_TRAIN) -> Recommender:
    """A small model of ``kind`` (4 factors, one hidden layer of 16) fitted on ``data`` on one
    torch thread (tiny batches run fastest that way, and a busy machine does not slow them)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        model, resolved, _ = train_model(data, replace(TINY_MODEL, kind=kind), config)
    finally:
        torch.set_num_threads(threads)
    return Recommender.from_training(model, resolved, data, config)


class FixedScores(nn.Module):
    """A stand-in model whose predictions are a given (n_users, n_items) matrix: the known answer
    of the recommender and evaluation tests. ``item_vectors`` become an ``item_factors`` table."""

    def __init__(self, scores: np.ndarray, item_vectors: np.ndarray | None = None):
        super().__init__()
        self.register_buffer("scores", torch.as_tensor(np.asarray(scores), dtype=torch.float32))
        if item_vectors is not None:
            vectors = torch.as_tensor(np.asarray(item_vectors), dtype=torch.float32)
            self.item_factors = nn.Embedding.from_pretrained(vectors)

    def forward(self, users: torch.Tensor, items: torch.Tensor) -> torch.Tensor:
        return self.scores[users, items]

    def score_all(self, users: torch.Tensor) -> torch.Tensor:
        return self.scores[users]


def fixed_recommender(train: Ratings, scores: np.ndarray, item_vectors: np.ndarray | None = None) -> Recommender:
    """A Recommender over ``train``'s catalog and training interactions that predicts ``scores``."""
    model = FixedScores(scores, item_vectors)
    return Recommender.from_training(model, ModelConfig(kind="dot", y_range=(0.0, 10.0)), train)
