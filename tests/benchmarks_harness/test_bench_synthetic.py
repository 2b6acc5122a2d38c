"""The synthetic generator: shapes, power laws, determinism, and a planted structure a model recovers."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from embrec.data.synthetic import SIZES, SyntheticSpec, capped_power_law, planted_ratings
from embrec.evaluation.rating_metrics import rmse
from embrec.models import ModelConfig
from embrec.training.config import TrainConfig
from embrec.training.loop import predict_pairs, train_model

SMALL = SyntheticSpec(n_ratings=20_000, n_users=400, n_items=300, rank=4, noise=0.3)


def test_shapes_and_values() -> None:
    data = planted_ratings(SMALL, seed=1).ratings
    assert len(data) == 20_000 and data.n_users == 400 and data.n_items == 300
    assert data.users.dtype == np.int32 and data.items.dtype == np.int32 and data.ratings.dtype == np.float32
    assert data.users.min() >= 0 and data.users.max() < 400 and data.items.max() < 300
    keys = data.users.astype(np.int64) * 300 + data.items
    assert len(np.unique(keys)) == len(keys)  # distinct (user, item) pairs
    assert data.ratings.min() >= 0.5 and data.ratings.max() <= 5.0


def test_same_seed_same_data_other_seed_other_data() -> None:
    a, b, c = (planted_ratings(SMALL, seed=s).ratings for s in (3, 3, 4))
    assert a.fingerprint() == b.fingerprint()
    assert a.fingerprint() != c.fingerprint()


def test_activity_and_popularity_follow_power_laws() -> None:
    data = planted_ratings(SIZES["1e5"], seed=0).ratings
    for counts in (data.user_counts(), data.item_counts()):
        ranked = np.sort(counts)[::-1].astype(float)
        top_tenth = ranked[: len(ranked) // 10].sum() / ranked.sum()
        assert top_tenth > 0.3  # a heavy head: uniform activity would give 0.1
        middle = slice(len(ranked) // 20, len(ranked) // 2)
        slope = np.polyfit(np.log(np.arange(1, len(ranked) + 1)[middle]), np.log(ranked[middle]), 1)[0]
        assert -1.3 < slope < -0.4  # log count falls linearly in log rank


def test_cap_and_weights() -> None:
    rng = np.random.default_rng(0)
    weights = capped_power_law(1000, 1.2, total=10_000, cap=200, rng=rng)
    assert weights.sum() == pytest.approx(1.0)
    assert weights.max() * 10_000 <= 200 * (1 + 1e-6)
    assert np.argmax(weights) != 0 or np.argsort(weights)[-2] != 1  # ranks shuffled over indices


def test_rejects_a_dense_table() -> None:
    with pytest.raises(ValueError, match="sparse"):
        SyntheticSpec(n_ratings=600, n_users=30, n_items=30)


def test_dot_recovers_the_planted_truth() -> None:
    data = planted_ratings(SMALL, seed=0)
    config = TrainConfig(epochs=10, lr=0.05, weight_decay=0.01, batch_size=1024, seed=0)
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # tiny batches: one thread is fastest, and immune to a busy machine
    try:
        model, _, _ = train_model(data.ratings, ModelConfig(kind="dot", factors=8), config)
    finally:
        torch.set_num_threads(threads)
    users = np.arange(400).repeat(300)
    items = np.tile(np.arange(300), 400)
    expected = data.truth.expected(users, items)  # every cell, mostly unrated
    predicted = predict_pairs(model, torch.from_numpy(users).long(), torch.from_numpy(items).long()).numpy()
    mean_error = rmse(np.full(len(expected), data.ratings.mean()), expected)
    assert rmse(predicted, expected) < 0.6 * mean_error
