"""Splits over one catalog: random (seeded), per-user holdout, temporal; disjoint and complete."""

from __future__ import annotations

import numpy as np
import pytest

from embrec.data.ratings import Ratings
from embrec.data.splits import Split, split_per_user, split_random, split_temporal
from tiny_ratings import ratings


def timed(n_users: int = 12, seed: int = 0) -> Ratings:
    """User ``u`` rates ``u + 1`` of 40 items at random times (so user 0 has a single rating)."""
    rng = np.random.default_rng(seed)
    rows = []
    for u in range(n_users):
        for j in rng.choice(40, size=u + 1, replace=False):
            rows.append((f"u{u}", f"i{j}", float(rng.integers(1, 6)), int(rng.integers(0, 10_000))))
    return ratings(rows, scale=(1.0, 5.0))


def keys(part: Ratings) -> list[tuple[int, int]]:
    return list(zip(part.users.tolist(), part.items.tolist(), strict=True))


def assert_partition(split: Split, data: Ratings) -> None:
    """Train and test are disjoint, together hold every rating once, and keep the full catalog."""
    train, test = keys(split.train), keys(split.test)
    assert not set(train) & set(test)
    assert sorted(train + test) == sorted(keys(data))
    assert len(split.train) + len(split.test) == len(data)
    for part in (split.train, split.test):
        assert part.user_ids is data.user_ids and part.item_ids is data.item_ids
        assert part.timestamps is not None and len(part.timestamps) == len(part)


def test_a_random_split_is_a_seeded_partition() -> None:
    data = timed()
    split = split_random(data, test_fraction=0.3, seed=1)
    assert_partition(split, data)
    assert 0 < len(split.test) < len(data)
    again = split_random(data, test_fraction=0.3, seed=1)
    assert keys(again.test) == keys(split.test)
    assert keys(split_random(data, test_fraction=0.3, seed=2).test) != keys(split.test)


@pytest.mark.parametrize("fraction", [0.0, 1.0, -0.1, 1.5])
def test_a_test_fraction_outside_zero_one_is_refused(fraction: float) -> None:
    with pytest.raises(ValueError, match="test fraction"):
        split_random(timed(), test_fraction=fraction)


def test_per_user_holdout_of_k_keeps_at_least_one_training_rating_per_user() -> None:
    data = timed()
    split = split_per_user(data, k=3, seed=0)
    assert_partition(split, data)
    counts, held = data.user_counts(), split.test.user_counts()
    assert (split.train.user_counts() >= 1).all()
    np.testing.assert_array_equal(held, np.minimum(3, counts - 1))


def test_per_user_holdout_of_a_fraction_rounds_down_per_user() -> None:
    data = timed()
    split = split_per_user(data, test_fraction=0.5, seed=0)
    assert_partition(split, data)
    counts = data.user_counts()
    np.testing.assert_array_equal(split.test.user_counts(), np.minimum(np.floor(counts * 0.5), counts - 1))
    assert (split.train.user_counts() >= 1).all()


def test_per_user_holdout_needs_exactly_one_of_k_and_fraction() -> None:
    with pytest.raises(ValueError, match="exactly one"):
        split_per_user(timed())
    with pytest.raises(ValueError, match="exactly one"):
        split_per_user(timed(), test_fraction=0.2, k=1)


def test_a_global_time_cutoff_puts_everything_after_it_in_test() -> None:
    data = timed()
    split = split_temporal(data, cutoff=5_000)
    assert_partition(split, data)
    assert split.train.timestamps is not None and split.test.timestamps is not None
    assert split.train.timestamps.max() <= 5_000 < split.test.timestamps.min()


def test_a_per_user_temporal_split_tests_each_users_latest_ratings() -> None:
    data = timed()
    split = split_temporal(data, test_fraction=0.3)
    assert_partition(split, data)
    assert split.train.timestamps is not None and split.test.timestamps is not None
    for user in np.unique(split.test.users):
        latest_train = split.train.timestamps[split.train.users == user].max()
        earliest_test = split.test.timestamps[split.test.users == user].min()
        assert latest_train <= earliest_test
    assert (split.train.user_counts() >= 1).all()  # ceil: the oldest rating always trains


def test_a_temporal_split_needs_timestamps() -> None:
    with pytest.raises(ValueError, match="timestamps"):
        split_temporal(ratings([("a", "x", 1.0)]), cutoff=0)


def test_unseen_counts_test_users_and_items_without_training_ratings() -> None:
    data = ratings([("a", "x", 5.0, 1), ("a", "y", 3.0, 2), ("b", "x", 4.0, 3), ("c", "z", 2.0, 4), ("c", "x", 1.0, 5)])
    split = split_temporal(data, cutoff=3)  # test: c rates z and x; c and z are new
    assert split.unseen() == {
        "users": 1,
        "items": 1,
        "ratings_with_unseen_user": 2,
        "ratings_with_unseen_item": 1,
    }
