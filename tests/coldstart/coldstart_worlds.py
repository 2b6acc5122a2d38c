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
from embrec.data.readers import ratings_from_frame
from embrec.data.side_features import Categorical, MultiHot, SideFeatures
from embrec.models import ModelConfig, build_model
from embrec.models.dot import DotProductBias
from embrec.recommend.recommender import Recommender
from embrec.training.config import TrainConfig
from embrec.training.loop import train_model

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


def widedeep_world(n_users: int = 40, n_items: int = 20, seed: int = 0) -> Recommender:
    """A trained ``widedeep`` model where occupation decides taste: ``a*`` users rate ``x`` films 5
    and ``y`` films 1, ``b*`` users the opposite (the Wide & Deep tests' world, with titles)."""
    rng = np.random.default_rng(seed)
    occupations = [f"{'ab'[u % 2]}{1 + (u // 2) % 2}" for u in range(n_users)]
    genres = ["x" if i % 2 == 0 else "y" for i in range(n_items)]
    rows = []
    for u in range(n_users):
        for i in rng.permutation(n_items)[: n_items // 2]:
            likes = (occupations[u][0] == "a") == (genres[i] == "x")
            rows.append((f"u{u}", f"i{i}", float(np.clip((5.0 if likes else 1.0) + rng.normal(0, 0.1), 1, 5))))
    frame = pd.DataFrame(rows, columns=["user", "item", "rating"])
    users = pd.DataFrame({"occupation": occupations}, index=pd.Index([f"u{u}" for u in range(n_users)]))
    items = pd.DataFrame(
        {"title": [f"Film {i}" for i in range(n_items)], "genres": genres},
        index=pd.Index([f"i{i}" for i in range(n_items)]),
    )
    data = ratings_from_frame(frame, scale=(1.0, 5.0), item_table=items, user_table=users)
    features = SideFeatures((Categorical("occupation", "user"), MultiHot("genres", "item")))
    config = ModelConfig(kind="widedeep", factors=4, layers=(16,), dropout=0.0, features=features.to_json())
    train = TrainConfig(epochs=30, lr=0.03, batch_size=32, weight_decay=0.001, seed=0)
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # tiny batches: one thread is fastest, and a busy machine does not slow it
    try:
        model, resolved, _ = train_model(data, config, train)
    finally:
        torch.set_num_threads(threads)
    return Recommender.from_training(model, resolved, data, train)
