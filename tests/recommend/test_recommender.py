"""The Recommender: raw ids at the edge, seen items excluded, exact-k lists, similar items by cosine."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import embrec.recommend.recommender as recommender_module
from embrec.data.ids import UnknownIdError
from embrec.data.ratings import Ratings
from embrec.recommend.recommender import ItemScore, Recommender
from tiny_ratings import fixed_recommender, ratings

TITLES = {
    "10": "Star Wars (1977)",
    "20": "Return of the Jedi (1983)",
    "30": "Fargo (1996)",
    "40": "Heat (1995)",
    "50": "Babe (1995)",
}
# user "1" rated 10 and 20; user "2" rated 10; user "3" rated every item but 50
ROWS = [("1", "10", 5.0), ("1", "20", 4.0), ("2", "10", 3.0)] + [("3", i, 3.0) for i in ("10", "20", "30", "40")]


def catalog() -> Ratings:
    return ratings(ROWS, scale=(1.0, 5.0), titles=TITLES)


def by_item_id(data: Ratings) -> Recommender:
    """Every user scores item ``i`` as ``i / 10`` (so 50 > 40 > ... > 10)."""
    scores = np.tile([float(raw) / 10 for raw in data.item_ids.ids], (data.n_users, 1))
    return fixed_recommender(data, scores)


def test_recommend_lists_the_best_unseen_items_by_raw_id_with_titles() -> None:
    recommender = by_item_id(catalog())
    listed = recommender.recommend("1", k=2)
    assert [entry.item for entry in listed] == ["50", "40"]
    assert listed[0] == ItemScore(item="50", index=recommender.item_ids.index("50"), title="Babe (1995)", score=5.0)
    assert listed[0].to_json() == {"item": "50", "title": "Babe (1995)", "score": 5.0}


def test_recommend_returns_exactly_k_while_k_items_remain() -> None:
    recommender = by_item_id(catalog())
    assert [len(recommender.recommend("1", k=k)) for k in (1, 2, 3)] == [1, 2, 3]  # three unseen items


def test_recommend_returns_what_remains_when_fewer_than_k_items_are_left() -> None:
    recommender = by_item_id(catalog())
    assert [entry.item for entry in recommender.recommend("3", k=10)] == ["50"]


def test_top_n_pads_rows_with_minus_one_after_the_last_unseen_item() -> None:
    recommender = by_item_id(catalog())
    users = np.array([recommender.user_ids.index(u) for u in ("1", "3")])
    items, scores = recommender.top_n(users, k=4)
    assert items.shape == scores.shape == (2, 4)
    assert recommender.item_ids.raws(items[0][:3]) == ["50", "40", "30"] and items[0][3] == -1
    assert recommender.item_ids.raws(items[1][:1]) == ["50"] and (items[1][1:] == -1).all()
    assert (np.diff(scores[0][:3]) <= 0).all()


def test_k_beyond_the_catalog_gives_one_column_per_item() -> None:
    recommender = by_item_id(catalog())
    items, _ = recommender.top_n(np.array([0]), k=50)
    assert items.shape == (1, recommender.n_items)


def test_top_n_can_include_seen_items_when_asked() -> None:
    recommender = by_item_id(catalog())
    items, _ = recommender.top_n(np.array([recommender.user_ids.index("3")]), k=5, exclude_seen=False)
    assert recommender.item_ids.raws(items[0]) == ["50", "40", "30", "20", "10"]


def test_users_are_scored_in_chunks_with_the_same_result(monkeypatch: pytest.MonkeyPatch) -> None:
    recommender = by_item_id(catalog())
    users = np.arange(recommender.n_users)
    whole = recommender.top_n(users, k=3)
    monkeypatch.setattr(recommender_module, "SCORE_CHUNK_USERS", 2)
    chunked = recommender.top_n(users, k=3)
    np.testing.assert_array_equal(whole[0], chunked[0])
    np.testing.assert_array_equal(whole[1], chunked[1])


def test_no_users_give_an_empty_list_matrix() -> None:
    items, scores = by_item_id(catalog()).top_n(np.array([], dtype=np.int64), k=3)
    assert items.shape == scores.shape == (0, 3)


@pytest.mark.parametrize("k", [0, -1, 10_001])
def test_k_outside_one_to_ten_thousand_is_refused(k: int) -> None:
    recommender = by_item_id(catalog())
    with pytest.raises(ValueError, match="k must be between 1"):
        recommender.recommend("1", k=k)
    with pytest.raises(ValueError, match="k must be between 1"):
        recommender.similar_items("10", k=k)


def test_an_unknown_user_is_an_unknown_id_error() -> None:
    with pytest.raises(UnknownIdError, match="unknown user id '99'"):
        by_item_id(catalog()).recommend("99")


def test_predict_takes_raw_ids_or_an_exact_title() -> None:
    recommender = by_item_id(catalog())
    assert recommender.predict("1", "30") == pytest.approx(3.0)
    assert recommender.predict(2, 40) == pytest.approx(4.0)
    assert recommender.predict("1", "Fargo (1996)") == pytest.approx(3.0)


def test_items_are_found_by_raw_id_or_exact_title_and_near_misses_suggest_titles() -> None:
    recommender = by_item_id(catalog())
    assert recommender.item_index("Star Wars (1977)") == recommender.item_index("10")
    with pytest.raises(UnknownIdError) as caught:
        recommender.item_index("Star Wars 1977")
    assert caught.value.suggestions[0] == "Star Wars (1977)"
    assert "did you mean 'Star Wars (1977)'" in str(caught.value)


def test_items_of_a_user_are_the_training_items() -> None:
    recommender = by_item_id(catalog())
    assert recommender.item_ids.raws(np.sort(recommender.items_of("1"))) == ["10", "20"]
    assert recommender.item_popularity.tolist() == [3, 2, 1, 1, 0]


def test_similar_items_ranks_by_cosine_of_item_factors_and_leaves_out_the_item_itself() -> None:
    data = catalog()
    vectors = {"10": [1.0, 0.0], "20": [10.0, 1.0], "30": [0.0, 1.0], "40": [-1.0, 0.2], "50": [0.5, 0.5]}
    item_vectors = np.array([vectors[raw] for raw in data.item_ids.ids])
    recommender = fixed_recommender(data, np.zeros((data.n_users, data.n_items)), item_vectors)
    similar = recommender.similar_items("Star Wars (1977)", k=3)
    assert [entry.item for entry in similar] == ["20", "50", "30"]
    assert similar[0].score == pytest.approx(10 / np.hypot(10, 1))
    assert similar[1].score == pytest.approx(np.sqrt(0.5))
    assert len(recommender.similar_items("10", k=10)) == 4  # every other item, itself excluded


def test_similar_items_needs_item_factors() -> None:
    with pytest.raises(ValueError, match="no item factors"):
        by_item_id(catalog()).similar_items("10")


def test_titles_fall_back_to_raw_ids_for_items_without_a_title() -> None:
    data = ratings(ROWS, scale=(1.0, 5.0), titles={"10": "Star Wars (1977)"})
    recommender = by_item_id(data)
    assert recommender.title(recommender.item_ids.index("30")) == "30"
    assert recommender.title(recommender.item_ids.index("10")) == "Star Wars (1977)"


def test_without_an_item_table_titles_are_raw_ids() -> None:
    recommender = by_item_id(ratings(ROWS, scale=(1.0, 5.0)))
    assert recommender.titles() is None
    assert recommender.recommend("1", k=1)[0].title == "40"  # 50 is not in this catalog


def test_a_model_without_score_all_cannot_rank() -> None:
    recommender = by_item_id(catalog())
    recommender.model = torch.nn.Identity()
    with pytest.raises(TypeError, match="Identity has no score_all"):
        recommender.recommend("1")
