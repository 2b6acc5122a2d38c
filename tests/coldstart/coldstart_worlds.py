"""Small planted worlds for the cold-start tests: a dot model whose every weight is known.

Imported by the test modules (pytest puts this folder on sys.path); ``dot_world`` is re-exported
as a fixture by conftest.py.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import torch

from embrec.data.ids import IdMap
from embrec.data.ratings import Ratings
from embrec.models import ModelConfig, build_model
from embrec.models.dot import DotProductBias
from embrec.recommend.recommender import Recommender

N_USERS, N_ITEMS, FACTORS = 60, 120, 4
GENRES = ("Comedy", "Drama", "Action|Sci-Fi", "Romance|Comedy", "Horror", "Drama|Romance")


@dataclass(frozen=True)
class World:
    recommender: Recommender
    ratings: Ratings


def planted_model(seed: int = 0, kind: str = "dot") -> tuple[torch.nn.Module, ModelConfig]:
    """A model with weights drawn at a visible scale (not the tiny training init)."""
    config = ModelConfig(kind=kind, factors=FACTORS, y_range=(0.0, 5.5), layers=(16,), dropout=0.0)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = build_model(N_USERS, N_ITEMS, config)
        with torch.no_grad():
            for name, param in model.named_parameters():
                if name.endswith("factors.weight"):
                    param.normal_(0.0, 0.6)
                elif name.endswith("bias.weight"):
                    param.normal_(0.0, 0.3)
    model.eval()
    return model, config


def world(seed: int = 0, kind: str = "dot", per_user: int = 30) -> World:
    """Every user rates ``per_user`` items (a seeded choice) exactly as the planted model predicts."""
    model, config = planted_model(seed, kind)
    rng = np.random.default_rng(seed)
    # popularity falls with the item index, so the popular items are known
    weights = 1.0 / np.arange(1, N_ITEMS + 1) ** 0.7
    p = weights / weights.sum()
    items = np.concatenate([rng.choice(N_ITEMS, per_user, replace=False, p=p) for _ in range(N_USERS)])
    users = np.repeat(np.arange(N_USERS), per_user)
    with torch.no_grad():
        values = model(torch.as_tensor(users), torch.as_tensor(items)).numpy()
    item_table = pd.DataFrame(
        {
            "title": [f"Film {i} ({1950 + i % 50})" for i in range(N_ITEMS)],
            "year": [1950 + i % 50 for i in range(N_ITEMS)],
            "genres": [GENRES[i % len(GENRES)] for i in range(N_ITEMS)],
        }
    )
    user_table = pd.DataFrame(
        {
            "age": 18 + np.arange(N_USERS) % 40,
            "gender": np.where(np.arange(N_USERS) % 2, "F", "M"),
            "occupation": "other",
        }
    )
    ratings = Ratings(
        users.astype(np.int32),
        items.astype(np.int32),
        np.clip(values, 1.0, 5.0).astype(np.float32),
        IdMap(tuple(str(u) for u in range(1, N_USERS + 1)), "user"),
        IdMap(tuple(str(i) for i in range(1, N_ITEMS + 1)), "item"),
        (1.0, 5.0),
        item_table=item_table,
        user_table=user_table,
        name="planted",
    )
    return World(Recommender.from_training(model, config, ratings), ratings)


def dot_model(recommender: Recommender) -> DotProductBias:
    assert isinstance(recommender.model, DotProductBias)
    return recommender.model
