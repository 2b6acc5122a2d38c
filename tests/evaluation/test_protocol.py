"""The evaluation protocol on a hand-computed example.

Catalog: items a..f; item e and f have no training rating. Train: user 1 rated a, b; user 2
rated a, c; user 3 rated a. Test: user 1 rated c 5, f 4, d 2 (relevant: c, f); user 2 rated b 4
(relevant: b); user 3 rated d 3 (nothing relevant, so not ranked). The stand-in model scores
item a 9 for everybody (it is seen by all, so never listed) and ranks user 1's candidates
d > f > e > c and user 2's b > e > f > d. At k = 2: user 1 gets [d, f] (one hit of two
relevant), user 2 gets [b, e] (one hit of one).
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from embrec.data.ratings import Ratings
from embrec.data.splits import Split
from embrec.evaluation.cross_validation import cross_validate
from embrec.evaluation.protocol import evaluate, relevance_threshold
from embrec.models import ModelConfig
from embrec.recommend.recommender import Recommender
from embrec.training.config import TrainConfig
from tiny_ratings import fixed_recommender, ratings

TRAIN_ROWS = [("1", "a", 5.0), ("1", "b", 3.0), ("2", "a", 4.0), ("2", "c", 2.0), ("3", "a", 1.0)]
TEST_ROWS = [("1", "c", 5.0), ("1", "f", 4.0), ("1", "d", 2.0), ("2", "b", 4.0), ("3", "d", 3.0)]
SCORES = {  # user -> item -> predicted rating
    "1": {"a": 9, "b": 8, "c": 1, "d": 7, "e": 2, "f": 6},
    "2": {"a": 9, "b": 5, "c": 9, "d": 1, "e": 3, "f": 2},
    "3": {"a": 9, "b": 1, "c": 1, "d": 3, "e": 1, "f": 1},
}


def score_matrix(data: Ratings, scores: dict[str, dict[str, float]]) -> np.ndarray:
    matrix = np.zeros((data.n_users, data.n_items))
    for user, row in scores.items():
        for item, value in row.items():
            matrix[data.user_ids.index(user), data.item_ids.index(item)] = value
    return matrix


def example() -> tuple[Recommender, Ratings]:
    full = ratings(TRAIN_ROWS + TEST_ROWS, scale=(1.0, 5.0), titles={i: f"Movie {i}" for i in "abcdef"})
    is_test = np.arange(len(full)) >= len(TRAIN_ROWS)
    return fixed_recommender(full.subset(~is_test), score_matrix(full, SCORES)), full.subset(is_test)


def test_rating_metrics_compare_every_test_prediction() -> None:
    report = evaluate(*example(), k=2)
    errors = np.array([1 - 5, 6 - 4, 7 - 2, 5 - 4, 3 - 3])
    assert report["rmse"] == pytest.approx(math.sqrt((errors**2).mean()))
    assert report["mae"] == pytest.approx(np.abs(errors).mean())
    assert report["n_test"] == 5


def test_ranking_metrics_match_the_hand_computed_lists() -> None:
    report = evaluate(*example(), k=2)
    assert report["ranked_users"] == 2  # user 3 has no test rating >= 4
    assert report["precision@2"] == pytest.approx((1 / 2 + 1 / 2) / 2)
    assert report["recall@2"] == pytest.approx((1 / 2 + 1 / 1) / 2)
    assert report["hit_rate@2"] == pytest.approx(1.0)
    ndcg_user1 = (1 / math.log2(3)) / (1 + 1 / math.log2(3))
    assert report["ndcg@2"] == pytest.approx((ndcg_user1 + 1.0) / 2)
    assert report["map@2"] == pytest.approx(((1 / 2) / 2 + 1.0) / 2)


def test_coverage_and_mean_popularity_describe_the_recommended_items() -> None:
    report = evaluate(*example(), k=2)
    assert report["coverage"] == pytest.approx(4 / 6)  # d, f, b, e of six items
    assert report["mean_popularity"] == pytest.approx((0 + 0 + 1 + 0) / 4)  # training counts of d, f, b, e


def test_items_seen_in_training_are_never_recommended_even_when_scored_highest() -> None:
    recommender, _ = example()
    lists, _ = recommender.top_n(np.arange(3), k=6)
    for user in range(3):
        assert recommender.item_ids.index("a") not in lists[user]
        assert not set(lists[user]) & set(recommender.items_of(recommender.user_ids.raw(user)))


def test_items_absent_from_training_are_candidates_and_count_as_hits() -> None:
    recommender, test = example()
    f = recommender.item_ids.index("f")
    assert recommender.item_popularity[f] == 0
    lists, _ = recommender.top_n(np.array([0]), k=2)
    assert f in lists[0]
    one_user = test.subset(test.users == 0)
    assert evaluate(recommender, one_user, k=2)["hit_rate@2"] == 1.0


def test_unseen_test_items_and_users_are_counted() -> None:
    recommender, test = example()
    report = evaluate(recommender, test, k=2)
    assert report["unseen_items"] == 2  # d and f
    assert report["unseen_users"] == 0


def test_a_test_set_without_relevant_ratings_reports_no_ranking_metrics() -> None:
    recommender, test = example()
    report = evaluate(recommender, test.subset(test.ratings < 4), k=2)
    assert report["ranked_users"] == 0 and report["ndcg@2"] is None
    assert report["rmse"] > 0


def test_an_empty_test_set_is_refused() -> None:
    recommender, test = example()
    with pytest.raises(ValueError, match="empty"):
        evaluate(recommender, test.subset(test.ratings > 10))


@pytest.mark.parametrize(("scale", "threshold"), [((1.0, 5.0), 4.0), ((0.5, 5.0), 4.0), ((1.0, 10.0), 8.0)])
def test_relevance_is_four_stars_of_five_and_eighty_percent_of_other_scales(
    scale: tuple[float, float], threshold: float
) -> None:
    assert relevance_threshold(scale) == pytest.approx(threshold)


def test_on_a_one_to_ten_scale_only_ratings_of_eight_or_more_are_relevant() -> None:
    rows = [("1", "a", 10.0), ("1", "b", 7.0), ("1", "c", 8.0)]
    full = ratings(rows, scale=(1.0, 10.0))
    train, test = full.subset(np.array([0])), full.subset(np.array([1, 2]))
    recommender = fixed_recommender(train, score_matrix(full, {"1": {"b": 9, "c": 1}}))  # b (7: not relevant) first
    report = evaluate(recommender, test, k=1)
    assert report["precision@1"] == 0.0 and report["recall@1"] == 0.0


def test_cross_validation_reports_each_fold_and_their_mean_and_std() -> None:
    rows = [(f"u{u}", f"i{i}", float(1 + (u + i) % 5)) for u in range(6) for i in range(5)]
    data = ratings(rows, scale=(1.0, 5.0))
    folds = [Split(data.subset(data.items != i), data.subset(data.items == i), name=f"fold{i}") for i in range(2)]
    result = cross_validate(folds, ModelConfig(kind="bias"), TrainConfig(epochs=1), k=2)
    assert list(result.folds) == ["fold0", "fold1"]
    summary = result.summary()
    rmses = [result.folds[name]["rmse"] for name in ("fold0", "fold1")]
    assert summary["rmse"]["mean"] == pytest.approx(np.mean(rmses))
    assert summary["rmse"]["std"] == pytest.approx(np.std(rmses))
    assert set(result.to_json()) == {"folds", "summary"}


def test_k_beyond_the_catalog_counts_the_empty_slots_as_misses() -> None:
    report = evaluate(*example(), k=10)  # four candidates each: every relevant item is listed
    assert report["precision@10"] == pytest.approx((2 / 10 + 1 / 10) / 2)
    assert report["recall@10"] == pytest.approx(1.0)
    assert report["hit_rate@10"] == pytest.approx(1.0)
    assert report["coverage"] == pytest.approx(5 / 6)  # everything but a
