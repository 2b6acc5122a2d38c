"""The contract every model of the registry keeps, on tiny data where the right answer is known.

A model is an ``nn.Module`` from index tensors to predicted ratings with a batched
``score_all``; trained through the one loop and wrapped in a Recommender it must give finite
predictions inside its output range, agree between ``forward`` and ``score_all``, return
exactly ``k`` unseen items while ``k`` remain, survive a save/load round trip, and find the
known answer of the data it can express.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

import numpy as np
import pytest
import torch

from embrec.artifacts.model_dir import load, save
from embrec.data.ratings import Ratings
from embrec.models import MODELS, ModelConfig, build_model
from embrec.recommend.recommender import Recommender
from tiny_ratings import checkerboard, item_quality, ratings, raw_rows, train_tiny

NEEDS_SIDE_FEATURES = {"widedeep"}  # contract-tested with its features by its own tests
KINDS = sorted(set(MODELS) - NEEDS_SIDE_FEATURES)
PERSONALISED = [k for k in KINDS if k not in ("bias", "mean")]  # models with a user-item interaction
SQUASHED = [k for k in KINDS if hasattr(build_model(2, 2, ModelConfig(kind=k, y_range=(0, 1))), "y_range")]


@cache
def _checkerboard() -> tuple[Ratings, dict[int, set[int]]]:
    return checkerboard()


@cache
def trained(kind: str) -> Recommender:
    """``kind`` fitted once per test session on the checkerboard."""
    return train_tiny(_checkerboard()[0], kind)


def all_pairs(n_users: int, n_items: int) -> tuple[torch.Tensor, torch.Tensor]:
    users = torch.arange(n_users).repeat_interleave(n_items)
    items = torch.arange(n_items).repeat(n_users)
    return users, items


def test_the_contract_covers_the_foundation_models() -> None:
    assert {"dot", "nn", "bias", "mean"} <= set(KINDS)
    assert {"dot", "nn"} <= set(PERSONALISED)
    assert {"dot", "nn"} <= set(SQUASHED)


@pytest.mark.parametrize("kind", KINDS)
def test_predictions_are_finite_float32_and_inside_the_output_range(kind: str) -> None:
    recommender = trained(kind)
    lo, hi = recommender.model_config.y_range or (-np.inf, np.inf)
    predicted = recommender.predict_indices(*all_pairs(recommender.n_users, recommender.n_items))
    assert predicted.dtype == np.float32
    assert predicted.shape == (recommender.n_users * recommender.n_items,)
    assert np.isfinite(predicted).all()
    assert ((predicted >= lo) & (predicted <= hi)).all()


@pytest.mark.parametrize("kind", KINDS)
def test_score_all_equals_forward_on_every_pair(kind: str) -> None:
    recommender = trained(kind)
    users, items = all_pairs(recommender.n_users, recommender.n_items)
    pairwise = recommender.predict_indices(users, items).reshape(recommender.n_users, recommender.n_items)
    batched = recommender.score_users(np.arange(recommender.n_users)).numpy()
    assert batched.shape == (recommender.n_users, recommender.n_items)
    np.testing.assert_allclose(batched, pairwise, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("kind", SQUASHED)
def test_output_stays_inside_y_range_even_with_huge_parameters(kind: str) -> None:
    model = build_model(3, 4, ModelConfig(kind=kind, factors=4, layers=(16,), y_range=(0.0, 5.5)))
    with torch.no_grad():
        for param in model.parameters():
            param.copy_(torch.randn_like(param) * 100)
    users, items = all_pairs(3, 4)
    out = model(users, items)
    assert torch.isfinite(out).all()
    assert ((out >= 0.0) & (out <= 5.5)).all()


@pytest.mark.parametrize("kind", PERSONALISED)
def test_top_n_puts_the_liked_group_first_on_a_checkerboard(kind: str) -> None:
    recommender = trained(kind)
    _, liked = _checkerboard()
    items, scores = recommender.top_n(np.arange(recommender.n_users), k=2)
    for user in range(recommender.n_users):
        assert items[user, 0] in liked[user]
        assert scores[user, 0] > scores[user, 1] + 1.0  # liked well above disliked


@pytest.mark.parametrize("kind", [k for k in KINDS if k != "mean"])
def test_items_everyone_rates_higher_rank_first(kind: str) -> None:
    data = item_quality()
    recommender = train_tiny(data, kind)
    items, _ = recommender.top_n(np.arange(data.n_users), k=data.n_items, exclude_seen=False)
    best_first = [data.item_ids.index(f"q{j}") for j in reversed(range(data.n_items))]
    assert (items == best_first).all()


def test_the_global_mean_predicts_the_training_mean_everywhere() -> None:
    recommender = trained("mean")
    data, _ = _checkerboard()
    scores = recommender.score_users(np.arange(data.n_users)).numpy()
    np.testing.assert_allclose(scores, data.ratings.mean(), rtol=1e-6)


@pytest.mark.parametrize("kind", KINDS)
def test_top_n_returns_exactly_k_unseen_items_while_k_remain_then_pads_with_minus_one(kind: str) -> None:
    recommender = trained(kind)
    users = np.arange(recommender.n_users)
    left = recommender.n_items - np.diff(recommender.seen.indptr)  # 2 unrated items per user
    assert (left == 2).all()
    items, scores = recommender.top_n(users, k=2)
    assert items.shape == scores.shape == (recommender.n_users, 2)
    assert (items >= 0).all()
    padded, padded_scores = recommender.top_n(users, k=5)
    assert padded.shape == (recommender.n_users, 5)
    assert (padded[:, 2:] == -1).all()
    np.testing.assert_array_equal(padded_scores[:, :2], scores)
    for user in users:
        assert not set(items[user]) & set(recommender.seen[user].indices)
        assert len(set(items[user])) == 2
        assert scores[user, 0] >= scores[user, 1]


@pytest.mark.parametrize("kind", KINDS)
def test_a_batch_of_users_gets_the_same_scores_as_one_user_at_a_time(kind: str) -> None:
    recommender = trained(kind)
    _, batch_scores = recommender.top_n(np.arange(recommender.n_users), k=2)
    for user in range(recommender.n_users):
        _, one = recommender.top_n(np.array([user]), k=2)
        np.testing.assert_allclose(one[0], batch_scores[user], rtol=1e-6)


@pytest.mark.parametrize("kind", KINDS)
def test_a_save_load_round_trip_gives_identical_predictions(kind: str, tmp_path: Path) -> None:
    recommender = trained(kind)
    loaded = load(save(recommender, tmp_path / kind))
    users, items = all_pairs(recommender.n_users, recommender.n_items)
    np.testing.assert_array_equal(loaded.predict_indices(users, items), recommender.predict_indices(users, items))
    np.testing.assert_array_equal(loaded.top_n(np.arange(3), 2)[0], recommender.top_n(np.arange(3), 2)[0])


@pytest.mark.parametrize("kind", KINDS)
def test_users_and_items_without_training_ratings_get_finite_predictions_in_range(kind: str) -> None:
    data, _ = _checkerboard()
    # "newcomer" and "fresh" are in the catalog (through the item table and a removed rating) but never trained
    rows = raw_rows(data)
    titles = {raw: raw for raw in data.item_ids.ids} | {"fresh": "A fresh item"}
    full = ratings([*rows, ("newcomer", "x0", 5.0)], scale=(1.0, 5.0), titles=titles)
    train = full.subset(full.users != full.user_ids.index("newcomer"))
    recommender = train_tiny(train, kind)
    lo, hi = recommender.model_config.y_range or (-np.inf, np.inf)
    newcomer = full.user_ids.index("newcomer")
    scores = recommender.score_users(np.array([newcomer, 0])).numpy()
    assert np.isfinite(scores).all()
    assert ((scores >= lo) & (scores <= hi)).all()
    assert np.isfinite(recommender.predict("u0", "fresh"))
    assert len(recommender.recommend("newcomer", k=5)) == 5
