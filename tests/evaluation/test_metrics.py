"""Rating and top-k metrics against hand-computed examples, and their properties (Hypothesis)."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from embrec.evaluation.ranking_metrics import hit_rate_at_k, map_at_k, ndcg_at_k, precision_at_k, recall_at_k
from embrec.evaluation.rating_metrics import mae, rmse


def test_rmse_and_mae_of_a_hand_computed_example() -> None:
    predicted, actual = np.array([1.0, 2.0, 3.0, 4.0]), np.array([1.0, 2.0, 5.0, 3.0])
    assert rmse(predicted, actual) == pytest.approx(math.sqrt((0 + 0 + 4 + 1) / 4))
    assert mae(predicted, actual) == pytest.approx((0 + 0 + 2 + 1) / 4)


def test_rating_metrics_refuse_empty_or_mismatched_input() -> None:
    with pytest.raises(ValueError, match="no ratings"):
        rmse(np.array([]), np.array([]))
    with pytest.raises(ValueError, match="length"):
        mae(np.array([1.0]), np.array([1.0, 2.0]))


def test_one_list_with_hits_at_ranks_one_and_three_of_three_relevant() -> None:
    hits, n_relevant, k = np.array([[True, False, True, False]]), np.array([3]), 4
    assert precision_at_k(hits, k) == pytest.approx(2 / 4)
    assert recall_at_k(hits, n_relevant, k) == pytest.approx(2 / 3)
    assert hit_rate_at_k(hits, k) == 1.0
    dcg = 1 / math.log2(2) + 1 / math.log2(4)
    ideal = 1 / math.log2(2) + 1 / math.log2(3) + 1 / math.log2(4)
    assert ndcg_at_k(hits, n_relevant, k) == pytest.approx(dcg / ideal)
    assert map_at_k(hits, n_relevant, k) == pytest.approx((1 / 1 + 2 / 3) / 3)


def test_metrics_average_over_users() -> None:
    hits = np.array([[False, True], [False, False]])
    n_relevant = np.array([1, 4])
    assert precision_at_k(hits, 2) == pytest.approx((1 / 2 + 0) / 2)
    assert recall_at_k(hits, n_relevant, 2) == pytest.approx((1 + 0) / 2)
    assert hit_rate_at_k(hits, 2) == pytest.approx(0.5)
    assert ndcg_at_k(hits, n_relevant, 2) == pytest.approx((1 / math.log2(3)) / 1 / 2)
    assert map_at_k(hits, n_relevant, 2) == pytest.approx((1 / 2) / 1 / 2)


def test_more_relevant_items_than_k_do_not_lower_a_perfect_list() -> None:
    hits, n_relevant = np.array([[True, True]]), np.array([5])
    assert ndcg_at_k(hits, n_relevant, 2) == pytest.approx(1.0)
    assert map_at_k(hits, n_relevant, 2) == pytest.approx(1.0)
    assert recall_at_k(hits, n_relevant, 2) == pytest.approx(2 / 5)


@st.composite
def hit_lists(draw: st.DrawFn) -> tuple[np.ndarray, np.ndarray, int]:
    """A (users, k) hits matrix and each user's relevant count (at least their hits, at least one)."""
    k = draw(st.integers(1, 12))
    n_users = draw(st.integers(1, 6))
    rows = draw(st.lists(st.lists(st.booleans(), min_size=k, max_size=k), min_size=n_users, max_size=n_users))
    hits = np.array(rows, dtype=bool)
    extra = np.array(draw(st.lists(st.integers(0, 20), min_size=n_users, max_size=n_users)))
    return hits, np.maximum(hits.sum(axis=1) + extra, 1), k


@settings(max_examples=60, deadline=None)
@given(hit_lists())
def test_every_metric_lies_between_zero_and_one(case: tuple[np.ndarray, np.ndarray, int]) -> None:
    hits, n_relevant, k = case
    for value in (
        precision_at_k(hits, k),
        recall_at_k(hits, n_relevant, k),
        hit_rate_at_k(hits, k),
        ndcg_at_k(hits, n_relevant, k),
        map_at_k(hits, n_relevant, k),
    ):
        assert -1e-12 <= value <= 1 + 1e-12


@settings(max_examples=60, deadline=None)
@given(st.integers(1, 12), st.integers(1, 30))
def test_a_list_with_every_relevant_item_first_has_ndcg_and_map_one(k: int, n_relevant: int) -> None:
    hits = (np.arange(k) < n_relevant)[None, :]
    relevant = np.array([n_relevant])
    assert ndcg_at_k(hits, relevant, k) == pytest.approx(1.0)
    assert map_at_k(hits, relevant, k) == pytest.approx(1.0)
    assert recall_at_k(hits, relevant, k) == pytest.approx(min(k, n_relevant) / n_relevant)
    assert hit_rate_at_k(hits, k) == 1.0


@settings(max_examples=60, deadline=None)
@given(hit_lists())
def test_a_list_without_hits_scores_zero(case: tuple[np.ndarray, np.ndarray, int]) -> None:
    hits, n_relevant, k = case
    misses = np.zeros_like(hits)
    assert precision_at_k(misses, k) == recall_at_k(misses, n_relevant, k) == 0.0
    assert ndcg_at_k(misses, n_relevant, k) == map_at_k(misses, n_relevant, k) == hit_rate_at_k(misses, k) == 0.0


@settings(max_examples=60, deadline=None)
@given(hit_lists(), st.data())
def test_moving_a_hit_up_the_list_never_lowers_ndcg_or_map(
    case: tuple[np.ndarray, np.ndarray, int], data: st.DataObject
) -> None:
    hits, n_relevant, k = case
    row = hits[:1].copy()
    relevant = n_relevant[:1]
    later = [j for j in range(1, k) if row[0, j] and not row[0, j - 1]]
    if not later:
        return
    j = data.draw(st.sampled_from(later))
    moved = row.copy()
    moved[0, j - 1], moved[0, j] = True, False
    assert ndcg_at_k(moved, relevant, k) >= ndcg_at_k(row, relevant, k) - 1e-12
    assert map_at_k(moved, relevant, k) >= map_at_k(row, relevant, k) - 1e-12
    assert precision_at_k(moved, k) == precision_at_k(row, k)


@settings(max_examples=60, deadline=None)
@given(hit_lists())
def test_precision_at_k_never_exceeds_hit_rate(case: tuple[np.ndarray, np.ndarray, int]) -> None:
    hits, _, k = case
    assert precision_at_k(hits, k) <= hit_rate_at_k(hits, k) + 1e-12


def test_lists_shorter_than_k_count_the_missing_slots_as_misses() -> None:
    short, padded = np.array([[True, False]]), np.array([[True, False, False, False]])
    n_relevant = np.array([2])
    for metric in (ndcg_at_k, map_at_k, recall_at_k):
        assert metric(short, n_relevant, 4) == pytest.approx(metric(padded, n_relevant, 4))
    assert precision_at_k(short, 4) == pytest.approx(1 / 4)
    assert hit_rate_at_k(short, 4) == 1.0
