"""Wide & Deep: the model contract with side features, features-only scoring, and learning a
feature's signal on a small world where the right answer is known.

The world: users belong to group ``a`` or ``b`` (their occupation says which: ``a1``/``a2`` or
``b1``/``b2``); items are ``x`` or ``y`` films (their genre). Group ``a`` rates ``x`` films 5 and
``y`` films 1, group ``b`` the opposite. A user or item without ratings can only be placed from
its attributes.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from functools import cache
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch

from embrec.artifacts.model_dir import load, save
from embrec.data.ratings import Ratings
from embrec.data.readers import ratings_from_frame
from embrec.data.side_features import Categorical, Cross, MultiHot, SideFeatures
from embrec.evaluation.rating_metrics import rmse
from embrec.interpret.entity_embeddings import feature_embedding, nearest_categories
from embrec.models import ModelConfig, build_model
from embrec.models.wide_deep import FeatureLayout, WideAndDeep
from embrec.recommend.features_only import score_new_items, score_new_users, side_features
from embrec.recommend.recommender import Recommender
from embrec.training.config import TrainConfig
from embrec.training.loop import train_model

FEATURES = SideFeatures(
    (Categorical("occupation", "user"), MultiHot("genres", "item")), (Cross("occupation", "genres"),)
)
# 60 epochs: with the default 5% id dropout the features-only path sees few id-less examples here
TRAIN = TrainConfig(epochs=60, lr=0.03, batch_size=32, weight_decay=0.001, seed=0)
MODEL = ModelConfig(kind="widedeep", factors=4, layers=(16,), dropout=0.0, features=FEATURES.to_json())


@pytest.fixture(scope="module", autouse=True)
def one_thread() -> Iterator[None]:
    """Tiny batches train fastest on one thread, and a busy machine does not slow them down."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@cache
def world(n_users: int = 40, n_items: int = 20, seed: int = 0) -> Ratings:
    """Every user rates a random half of the items (see the module docstring)."""
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
    items = pd.DataFrame({"genres": genres}, index=pd.Index([f"i{i}" for i in range(n_items)]))
    return ratings_from_frame(frame, scale=(1.0, 5.0), item_table=items, user_table=users)


def fit(data: Ratings, config: ModelConfig = MODEL) -> Recommender:
    model, resolved, _ = train_model(data, config, TRAIN)
    return Recommender.from_training(model, resolved, data, TRAIN)


@cache
def trained() -> Recommender:
    return fit(world())


def all_pairs(n_users: int, n_items: int) -> tuple[torch.Tensor, torch.Tensor]:
    return torch.arange(n_users).repeat_interleave(n_items), torch.arange(n_items).repeat(n_users)


# --- the contract -----------------------------------------------------------------------------
def test_training_stores_the_fitted_features_in_the_config_and_the_rows_in_buffers() -> None:
    recommender = trained()
    features = SideFeatures.from_json(recommender.model_config.features or {})
    assert features.feature("occupation").labels() == ["(unknown)", "a1", "a2", "b1", "b2"]
    model = recommender.model
    assert isinstance(model, WideAndDeep)
    data = world()
    assert model.user_features.shape == (data.n_users, 1) and model.item_features.shape == (data.n_items, 1)
    np.testing.assert_array_equal(model.user_features.numpy(), features.encode("user", data.user_table))


def test_predictions_have_the_batch_shape_and_stay_inside_y_range() -> None:
    recommender = trained()
    lo, hi = recommender.model_config.y_range or (0.0, 0.0)
    users, items = all_pairs(recommender.n_users, recommender.n_items)
    predicted = recommender.predict_indices(users, items)
    assert predicted.shape == (len(users),) and predicted.dtype == np.float32
    assert ((predicted >= lo) & (predicted <= hi)).all()
    batched = recommender.score_users(np.arange(recommender.n_users)).numpy()
    np.testing.assert_allclose(batched.ravel(), predicted, rtol=1e-5, atol=1e-5)


def test_output_stays_inside_y_range_even_with_huge_parameters() -> None:
    data = world()
    spec = FEATURES.fit(data.user_table, data.item_table)
    model = build_model(data.n_users, data.n_items, replace(MODEL, y_range=(0.0, 5.5), features=spec.to_json()))
    with torch.no_grad():
        for param in model.parameters():
            param.copy_(torch.randn_like(param) * 100)
    out = model(*all_pairs(data.n_users, data.n_items))
    assert out.shape == (data.n_users * data.n_items,)
    assert torch.isfinite(out).all() and ((out >= 0.0) & (out <= 5.5)).all()


def test_widedeep_without_fitted_features_is_refused_with_a_clear_message() -> None:
    with pytest.raises(ValueError, match="needs side features"):
        build_model(3, 4, ModelConfig(kind="widedeep", y_range=(0, 5)))
    with pytest.raises(ValueError, match="not fitted"):
        FeatureLayout.from_json(FEATURES.to_json())


def test_a_model_directory_round_trips_with_its_features(tmp_path: Path) -> None:
    recommender = trained()
    loaded = load(save(recommender, tmp_path / "widedeep"))
    assert loaded.model_config == recommender.model_config
    users, items = all_pairs(recommender.n_users, recommender.n_items)
    np.testing.assert_array_equal(loaded.predict_indices(users, items), recommender.predict_indices(users, items))
    model = loaded.model
    assert isinstance(model, WideAndDeep)
    assert isinstance(recommender.model, WideAndDeep)
    assert torch.equal(model.item_features, recommender.model.item_features)
    rows = pd.DataFrame({"occupation": ["b2"]})
    np.testing.assert_array_equal(score_new_users(loaded, rows), score_new_users(recommender, rows))


def test_the_top_n_excludes_seen_items_and_puts_the_liked_group_first() -> None:
    recommender = trained()
    data = world()
    items, _ = recommender.top_n(np.arange(data.n_users), k=3)
    genres = data.item_table["genres"].to_numpy() if data.item_table is not None else None
    assert genres is not None
    for user in range(data.n_users):
        assert not set(items[user]) & set(recommender.seen[user].indices)
        liked = "x" if data.user_ids.raw(user) in {f"u{u}" for u in range(0, data.n_users, 2)} else "y"
        assert set(genres[items[user]]) == {liked}


# --- features only ----------------------------------------------------------------------------
def test_new_users_and_items_get_one_score_per_catalog_entry_in_range() -> None:
    recommender = trained()
    lo, hi = recommender.model_config.y_range or (0.0, 0.0)
    users = score_new_users(recommender, pd.DataFrame({"occupation": ["a1", "astronaut", None]}))
    items = score_new_items(recommender, pd.DataFrame({"genres": ["x", "y|x"]}))
    assert users.shape == (3, recommender.n_items) and items.shape == (2, recommender.n_users)
    assert np.isfinite(users).all() and ((users >= lo) & (users <= hi)).all()
    assert np.isfinite(items).all() and ((items >= lo) & (items <= hi)).all()


def test_a_model_without_side_features_cannot_score_new_rows() -> None:
    recommender = fit(world(), replace(MODEL, kind="dot", features=None))
    with pytest.raises(ValueError, match="no side features"):
        score_new_users(recommender, pd.DataFrame({"occupation": ["a1"]}))
    with pytest.raises(ValueError, match="no side features"):
        side_features(recommender)


def held_out(data: Ratings, side: str, share: float = 0.25) -> tuple[Ratings, Ratings, np.ndarray]:
    n = data.n_users if side == "user" else data.n_items
    held = np.arange(n)[np.random.default_rng(1).permutation(n) < round(share * n)]
    index = data.users if side == "user" else data.items
    mask = np.isin(index, held)
    return data.subset(~mask), data.subset(mask), held


def test_a_new_user_is_placed_from_their_occupation_where_ids_alone_cannot() -> None:
    data = world()
    train, test, held = held_out(data, "user")
    assert data.user_table is not None
    widedeep, dot = fit(train), fit(train, replace(MODEL, kind="dot", features=None))
    position = np.full(data.n_users, -1)
    position[held] = np.arange(len(held))
    scores = score_new_users(widedeep, data.user_table.iloc[held])
    features_only = rmse(scores[position[test.users], test.items], test.ratings)
    ids_only = rmse(dot.predict_indices(test.users, test.items), test.ratings)  # the mean-user fallback
    assert features_only < 0.55  # ratings are 1 or 5
    assert features_only < ids_only / 3


def test_a_new_item_is_placed_from_its_genre_for_each_user() -> None:
    data = world()
    train, test, held = held_out(data, "item")
    assert data.item_table is not None
    widedeep, dot = fit(train), fit(train, replace(MODEL, kind="dot", features=None))
    position = np.full(data.n_items, -1)
    position[held] = np.arange(len(held))
    scores = score_new_items(widedeep, data.item_table.iloc[held])
    features_only = rmse(scores[position[test.items], test.users], test.ratings)
    ids_only = rmse(dot.predict_indices(test.users, test.items), test.ratings)
    assert features_only < 0.55  # ratings are 1 or 5
    assert features_only < ids_only / 3


def test_features_only_prediction_ignores_the_id_of_the_new_side() -> None:
    model = trained().model
    assert isinstance(model, WideAndDeep)
    rows = model.user_features[:2]
    with torch.inference_mode():
        by_rows = model.predict_features(None, torch.tensor([0, 0]), user_rows=rows)
        with_ids = model.predict_features(torch.tensor([0, 1]), torch.tensor([0, 0]))
    assert by_rows.shape == (2,)
    assert not torch.allclose(by_rows, with_ids)  # the ids add what the features do not know


# --- entity embeddings ------------------------------------------------------------------------
def test_occupations_of_the_same_group_are_nearest_neighbours() -> None:
    table = feature_embedding(trained(), "occupation")
    assert table.labels == ["a1", "a2", "b1", "b2"]
    assert table.vectors.shape[0] == 4
    nearest = {n.category: n.nearest[0][0] for n in nearest_categories(table, k=1)}
    assert nearest == {"a1": "a2", "a2": "a1", "b1": "b2", "b2": "b1"}
