"""The bias lists are the true extremes among the users or items that pass the filter."""

from __future__ import annotations

import numpy as np
import pytest

from embrec.data.ratings import Ratings
from embrec.interpret.biases import extreme_biases, extreme_item_biases, learned_biases
from embrec.interpret.observed import training_ratings
from embrec.recommend.recommender import Recommender


@pytest.mark.parametrize("side", ["item", "user"])
def test_listed_biases_are_the_extremes_among_eligible(recommender: Recommender, ratings: Ratings, side: str) -> None:
    min_ratings = 25
    extremes = extreme_biases(recommender, side, 4, min_ratings, training_ratings(recommender, ratings))  # type: ignore[arg-type]
    index, n = (ratings.items, ratings.n_items) if side == "item" else (ratings.users, ratings.n_users)
    counts = np.bincount(index, minlength=n)
    biases = learned_biases(recommender.model, side)
    assert biases is not None
    eligible = {int(i) for i in np.flatnonzero(counts >= min_ratings)}
    assert extremes.n_eligible == len(eligible)
    ranked = sorted(eligible, key=lambda i: biases[i])
    ids = recommender.item_ids if side == "item" else recommender.user_ids
    assert [e.id for e in extremes.lowest] == [ids.raw(i) for i in ranked[:4]]
    assert [e.id for e in extremes.highest] == [ids.raw(i) for i in ranked[::-1][:4]]
    for entry in extremes.lowest + extremes.highest:
        i = ids.index(entry.id)
        assert entry.n_ratings == counts[i] >= min_ratings
        assert entry.mean_rating == pytest.approx(float(ratings.ratings[index == i].mean()))


def test_without_ratings_there_is_no_mean(recommender: Recommender) -> None:
    extremes = extreme_biases(recommender, "user", 2, 0)
    assert all(e.mean_rating is None for e in extremes.highest)
    assert extremes.highest[0].label.startswith(f"user {extremes.highest[0].id} (")


def test_extreme_item_biases_keeps_its_contract(recommender: Recommender) -> None:
    lowest, highest = extreme_item_biases(recommender, 3, min_ratings=20)
    assert len(lowest) == len(highest) == 3
    assert lowest[0].bias <= lowest[-1].bias <= highest[-1].bias <= highest[0].bias
    assert highest[0].label == recommender.title(recommender.item_ids.index(highest[0].id))
