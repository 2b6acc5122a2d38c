"""Fixtures of the influence tests: small synthetic ratings with a known shape."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pandas as pd
import pytest
import torch

from embrec.data.ids import IdMap
from embrec.data.ratings import Ratings


def synthetic(n_users: int, n_items: int, low: int, high: int, seed: int = 0) -> Ratings:
    """Ratings 1-5 from a rank-2 taste model; item popularity follows a Zipf law, activity is uniform.

    User ``u`` rates between ``low`` and ``high`` distinct items drawn by popularity. The user
    table has an ``occupation`` column cycling through a, b, c; items have titles ``Item i``.
    """
    rng = np.random.default_rng(seed)
    popularity = 1.0 / np.arange(1, n_items + 1)
    popularity /= popularity.sum()
    users, items = [], []
    for u in range(n_users):
        chosen = rng.choice(n_items, size=int(rng.integers(low, high + 1)), replace=False, p=popularity)
        users.append(np.full(len(chosen), u))
        items.append(chosen)
    user_index, item_index = np.concatenate(users), np.concatenate(items)
    taste_u, taste_i = rng.normal(0, 0.7, (n_users, 2)), rng.normal(0, 0.7, (n_items, 2))
    bias_u, bias_i = rng.normal(0, 0.4, n_users), rng.normal(0, 0.5, n_items)
    score = 3.5 + bias_u[user_index] + bias_i[item_index] + (taste_u[user_index] * taste_i[item_index]).sum(axis=1)
    values = np.clip(np.round(score + rng.normal(0, 0.5, len(score))), 1, 5)
    return Ratings(
        users=user_index.astype(np.int32),
        items=item_index.astype(np.int32),
        ratings=values.astype(np.float32),
        user_ids=IdMap(tuple(str(u + 1) for u in range(n_users)), kind="user"),
        item_ids=IdMap(tuple(str(i + 1) for i in range(n_items)), kind="item"),
        scale=(1.0, 5.0),
        item_table=pd.DataFrame({"title": [f"Item {i + 1}" for i in range(n_items)]}),
        user_table=pd.DataFrame({"occupation": [("a", "b", "c")[u % 3] for u in range(n_users)]}),
        name="synthetic",
    )


@pytest.fixture(scope="session")
def small() -> Ratings:
    """60 users x 40 items, 8 to 20 ratings each: for shapes and plumbing."""
    return synthetic(60, 40, 8, 20, seed=1)


@pytest.fixture(scope="session")
def population() -> Ratings:
    """400 users x 300 items, 20 to 60 ratings each: enough users for robust statistics."""
    return synthetic(400, 300, 20, 60, seed=2)


@pytest.fixture(scope="module", autouse=True)
def one_thread() -> Iterator[None]:
    """Tiny models train fastest on one thread (and do not fight other processes for the cores)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)
