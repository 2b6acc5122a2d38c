"""Train/test splits over one catalog: random, per-user holdout, temporal.

Every split keeps the id maps of the data it came from, so an item that lands only in the
test part is still in the catalog. Test users or items that have no training rating are
counted by :meth:`Split.unseen`; the recommender predicts for them from the mean of the
trained embeddings (see ``training.loop.fill_untrained``), never crashes.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from embrec.data.ratings import Ratings


@dataclass(frozen=True)
class Split:
    train: Ratings
    test: Ratings
    name: str = "split"

    def unseen(self) -> dict[str, int]:
        """Test users and items (and their ratings) absent from the training part."""
        train_users = np.bincount(self.train.users, minlength=self.train.n_users) > 0
        train_items = np.bincount(self.train.items, minlength=self.train.n_items) > 0
        new_user = ~train_users[self.test.users]
        new_item = ~train_items[self.test.items]
        return {
            "users": len(np.unique(self.test.users[new_user])),
            "items": len(np.unique(self.test.items[new_item])),
            "ratings_with_unseen_user": int(new_user.sum()),
            "ratings_with_unseen_item": int(new_item.sum()),
        }


def split_random(ratings: Ratings, test_fraction: float = 0.2, seed: int = 0) -> Split:
    """A seeded uniform split of the ratings."""
    return _split(ratings, random_test_mask(len(ratings), test_fraction, seed), f"random{test_fraction:g}")


def random_test_mask(n: int, test_fraction: float, seed: int) -> np.ndarray:
    """A seeded boolean mask selecting about ``test_fraction`` of ``n`` rows."""
    _check_fraction(test_fraction)
    return np.random.default_rng(seed).random(n) < test_fraction


def split_per_user(ratings: Ratings, test_fraction: float | None = None, k: int | None = None, seed: int = 0) -> Split:
    """Hold out ``k`` ratings, or a fraction, of every user (a user keeps at least one in train)."""
    if (test_fraction is None) == (k is None):
        raise ValueError("give exactly one of test_fraction and k")
    rng = np.random.default_rng(seed)
    order = np.lexsort((rng.random(len(ratings)), ratings.users))  # shuffled within user
    counts = ratings.user_counts()
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
    rank = np.arange(len(ratings)) - np.repeat(starts, counts)
    per_user = np.full(ratings.n_users, k) if k is not None else np.floor(counts * (test_fraction or 0.0))
    held = np.minimum(per_user, np.maximum(counts - 1, 0))
    test = np.zeros(len(ratings), dtype=bool)
    test[order] = rank < np.repeat(held, counts)
    return _split(ratings, test, f"per-user{k if k is not None else test_fraction}")


def split_temporal(ratings: Ratings, cutoff: int | None = None, test_fraction: float | None = None) -> Split:
    """Ratings after a global ``cutoff`` timestamp, or each user's latest ``test_fraction``, are test."""
    if ratings.timestamps is None:
        raise ValueError("a temporal split needs timestamps")
    if (cutoff is None) == (test_fraction is None):
        raise ValueError("give exactly one of cutoff and test_fraction")
    if cutoff is not None:
        return _split(ratings, ratings.timestamps > cutoff, f"temporal>{cutoff}")
    assert test_fraction is not None
    _check_fraction(test_fraction)
    order = np.lexsort((ratings.timestamps, ratings.users))
    counts = ratings.user_counts()
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
    rank = np.arange(len(ratings)) - np.repeat(starts, counts)
    keep = np.repeat(np.ceil(counts * (1 - test_fraction)), counts)
    test = np.zeros(len(ratings), dtype=bool)
    test[order] = rank >= keep
    return _split(ratings, test, f"temporal-last{test_fraction:g}")


def _split(ratings: Ratings, test: np.ndarray, name: str) -> Split:
    train_part, test_part = ratings.subset(~test, name=f"{name}.train"), ratings.subset(test, name=f"{name}.test")
    return Split(train=train_part, test=test_part, name=name)


def _check_fraction(fraction: float) -> None:
    if not 0.0 < fraction < 1.0:
        raise ValueError(f"test fraction must be between 0 and 1, got {fraction}")
