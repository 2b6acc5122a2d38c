"""Gini, top shares, Lorenz curves and list concentration against hand-computed cases."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from embrec.data.ids import IdMap
from embrec.data.ratings import Ratings
from embrec.influence.concentration import (
    gini,
    list_concentration,
    lorenz,
    signal_concentration,
    slot_share,
    top_share,
)


def test_gini_hand_cases() -> None:
    assert gini(np.array([1, 1, 1, 1])) == pytest.approx(0.0)
    # sum_ij |x_i - x_j| = 2 * (1 + 2 + 3 + 1 + 2 + 1) = 20; 2 n^2 mean = 2 * 16 * 2.5 = 80
    assert gini(np.array([4, 1, 3, 2])) == pytest.approx(0.25)
    assert gini(np.array([0, 0, 0, 1])) == pytest.approx(0.75)  # one holds all: 1 - 1/n
    assert gini(np.array([])) == 0.0 and gini(np.zeros(3)) == 0.0
    with pytest.raises(ValueError):
        gini(np.array([-1.0, 2.0]))


@given(st.lists(st.floats(0, 1e6, allow_nan=False), min_size=1, max_size=40), st.floats(0.1, 100))
def test_gini_is_bounded_and_scale_and_order_free(values: list[float], factor: float) -> None:
    x = np.array(values)
    g = gini(x)
    assert -1e-9 <= g <= 1 - 1 / len(x) + 1e-9
    assert gini(x * factor) == pytest.approx(g, abs=1e-9)
    assert gini(x[::-1]) == pytest.approx(g, abs=1e-9)


def test_top_share_takes_the_ceiling_and_at_least_one() -> None:
    x = np.array([1, 10, 3, 5, 1])  # total 20
    assert top_share(x, 0.2) == pytest.approx(0.5)  # ceil(1.0) = 1 value: 10
    assert top_share(x, 0.3) == pytest.approx(0.75)  # ceil(1.5) = 2 values: 10 + 5
    assert top_share(x, 0.01) == pytest.approx(0.5)  # at least one
    assert top_share(x, 1.0) == pytest.approx(1.0)
    with pytest.raises(ValueError):
        top_share(x, 0.0)


def test_lorenz_curve_points() -> None:
    population, cumulative = lorenz(np.array([3, 1]))
    np.testing.assert_allclose(population, [0, 0.5, 1])
    np.testing.assert_allclose(cumulative, [0, 0.25, 1])


def test_signal_concentration_by_hand() -> None:
    # users 0..3 rate 1, 1, 2, 6 items; user 4 has no rating; items: counts 4, 3, 2, 1, 0
    users = np.array([0, 1, 2, 2, 3, 3, 3, 3, 3, 3], dtype=np.int32)
    items = np.array([0, 0, 0, 1, 0, 1, 2, 3, 1, 2], dtype=np.int32)
    ratings = Ratings(
        users, items, np.full(10, 4.0, dtype=np.float32), IdMap(tuple("abcde")), IdMap(tuple("vwxyz")), (1.0, 5.0)
    )
    signal = signal_concentration(ratings, (0.25, 0.5))
    assert signal.active_users == 4 and signal.n_ratings == 10
    assert signal.top_user_share == {"25%": pytest.approx(0.6), "50%": pytest.approx(0.8)}
    assert signal.gini_users == pytest.approx(gini(np.array([1, 1, 2, 6])))  # the user without ratings is left out
    assert signal.gini_items == pytest.approx(gini(np.array([4, 3, 2, 1, 0])))  # the unrated item counts


def test_list_concentration_by_hand() -> None:
    lists = np.array([[0, 1], [0, 2], [0, -1]])  # slots per item: 3, 1, 1, 0 (one empty slot)
    concentration = list_concentration(lists, n_items=4)
    assert concentration.slots == 5 and concentration.k == 2 and concentration.users == 3
    assert concentration.coverage == pytest.approx(0.75)
    assert concentration.gini == pytest.approx(0.45)  # 2 * (0 + 2 + 3 + 12) / (4 * 5) - 5 / 4
    assert concentration.top_item_share == pytest.approx(0.6)  # the top 1% of 4 items is one item
    assert slot_share(lists, np.array([True, False, False, False])) == pytest.approx(0.6)
