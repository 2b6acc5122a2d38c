"""Fixtures of the interpretation tests: a small planted world and a dot model trained on it."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch

from embrec.data.ids import IdMap
from embrec.data.ratings import Ratings
from embrec.models import ModelConfig
from embrec.recommend.recommender import Recommender
from embrec.training.config import TrainConfig
from embrec.training.loop import train_model

GENRES = ("Comedy", "Drama|Romance", "Action|Sci-Fi", "Horror", "Children's|Comedy")


def planted(n_users: int = 90, n_items: int = 70, seed: int = 0) -> Ratings:
    """1-5 star ratings from a rank-2 taste model; item popularity falls with the index."""
    rng = np.random.default_rng(seed)
    p = 1.0 / np.arange(1, n_items + 1) ** 0.6
    p /= p.sum()
    chosen = [rng.choice(n_items, int(rng.integers(12, 35)), replace=False, p=p) for _ in range(n_users)]
    users = np.repeat(np.arange(n_users), [len(c) for c in chosen])
    items = np.concatenate(chosen)
    taste_u, taste_i = rng.normal(0, 0.9, (n_users, 2)), rng.normal(0, 0.9, (n_items, 2))
    bias_u, bias_i = rng.normal(0, 0.3, n_users), rng.normal(0, 0.6, n_items)
    score = 3.4 + bias_u[users] + bias_i[items] + (taste_u[users] * taste_i[items]).sum(axis=1)
    values = np.clip(np.round(score + rng.normal(0, 0.3, len(score))), 1, 5)
    return Ratings(
        users=users.astype(np.int32),
        items=items.astype(np.int32),
        ratings=values.astype(np.float32),
        user_ids=IdMap(tuple(str(u + 1) for u in range(n_users)), kind="user"),
        item_ids=IdMap(tuple(str(i + 1) for i in range(n_items)), kind="item"),
        scale=(1.0, 5.0),
        item_table=pd.DataFrame(
            {
                "title": [f"Film {i + 1} ({1950 + i % 40})" for i in range(n_items)],
                "year": pd.array([1950 + i % 40 for i in range(n_items)], dtype="Int64"),
                "genres": [GENRES[i % len(GENRES)] for i in range(n_items)],
            }
        ),
        user_table=pd.DataFrame(
            {
                "age": [20 + u % 40 for u in range(n_users)],
                "gender": ["MF"[u % 2] for u in range(n_users)],
                "occupation": [("student", "writer", "engineer")[u % 3] for u in range(n_users)],
            }
        ),
        name="planted",
    )


@pytest.fixture(scope="session")
def ratings() -> Ratings:
    return planted()


@pytest.fixture(scope="session")
def recommender(ratings: Ratings) -> Recommender:
    """A 6-factor dot model, 8 epochs: trained, not tuned."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        config = TrainConfig(epochs=8, lr=0.03, weight_decay=0.01, batch_size=256, seed=0)
        model, resolved, _ = train_model(ratings, ModelConfig(kind="dot", factors=6), config)
    finally:
        torch.set_num_threads(threads)
    return Recommender.from_training(model, resolved, ratings, config)
