"""Explanations add up to the prediction, and name the liked items closest to it."""

from __future__ import annotations

import numpy as np
import pytest

from embrec.data.ratings import Ratings
from embrec.interpret.explanations import because_you_liked, explain, explain_pair, prediction_parts
from embrec.interpret.observed import liked_items, training_ratings
from embrec.recommend.recommender import Recommender


def weights(recommender: Recommender, name: str) -> np.ndarray:
    return np.asarray(recommender.model.state_dict()[name].numpy(), dtype=np.float64)


def test_parts_add_up_to_the_logit_and_squash_to_the_prediction(recommender: Recommender, ratings: Ratings) -> None:
    users, items = ratings.users[:300], ratings.items[:300]
    split = prediction_parts(recommender, users, items)
    assert set(split.parts) == {"global", "user_bias", "item_bias", "interaction"}
    # before squashing: the parts, and an independent float64 logit from the weights
    total = sum(split.parts[k].astype(np.float64) for k in split.parts)
    p, q = weights(recommender, "user_factors.weight"), weights(recommender, "item_factors.weight")
    logit = (
        weights(recommender, "global_bias")
        + weights(recommender, "user_bias.weight")[users, 0]
        + weights(recommender, "item_bias.weight")[items, 0]
        + (p[users] * q[items]).sum(axis=1)
    )
    np.testing.assert_allclose(total, split.logit, atol=1e-5, rtol=0)
    np.testing.assert_allclose(total, logit, atol=1e-5, rtol=0)
    # after squashing: the model's own predictions
    lo, hi = recommender.model_config.y_range or (0.0, 1.0)
    np.testing.assert_allclose(lo + (hi - lo) / (1 + np.exp(-total)), split.prediction, atol=1e-5, rtol=0)
    np.testing.assert_allclose(split.prediction, recommender.predict_indices(users, items), atol=1e-5, rtol=0)


def test_explained_recommendations_keep_the_list_and_add_up(recommender: Recommender, ratings: Ratings) -> None:
    items = recommender.recommend("5", 4)
    explained, liked = explain(recommender, "5", items, training_ratings(recommender, ratings))
    assert liked.basis == "rated"
    assert [e.item for e in explained] == items
    for entry in explained:
        assert sum(entry.parts.values()) == pytest.approx(entry.logit, abs=1e-5)
        assert entry.prediction == pytest.approx(entry.item.score, abs=1e-5)
        assert 0 < len(entry.because) <= 3


def test_because_you_liked_picks_the_closest_liked_items(recommender: Recommender, ratings: Ratings) -> None:
    liked = liked_items(recommender, 4, training_ratings(recommender, ratings))
    target = 0
    found = because_you_liked(recommender, target, liked, n=2)
    factors = recommender.item_factors()
    assert factors is not None
    unit = factors / np.linalg.norm(factors, axis=1, keepdims=True)
    cosine = {int(i): float(unit[i] @ unit[target]) for i in liked.items if i != target}
    best = sorted(cosine, key=lambda i: -cosine[i])[:2]
    assert [b.item for b in found] == [recommender.item_ids.raw(i) for i in best]
    assert [b.cosine for b in found] == pytest.approx([cosine[i] for i in best], abs=1e-6)


def test_liked_items_are_the_users_high_ratings(recommender: Recommender, ratings: Ratings) -> None:
    liked = liked_items(recommender, 2, training_ratings(recommender, ratings))
    mine = ratings.users == 2
    expected = set(ratings.items[mine & (ratings.ratings >= 4)].tolist())
    if expected:
        assert set(liked.items.tolist()) == expected
    assert (np.diff(liked.values) <= 0).all()
    fitted = liked_items(recommender, 2)
    assert fitted.basis == "fitted" and set(fitted.items.tolist()) <= set(ratings.items[mine].tolist())


def test_training_ratings_are_recovered_and_other_data_refused(recommender: Recommender, ratings: Ratings) -> None:
    recovered = training_ratings(recommender, ratings)
    assert len(recovered) == len(ratings)
    order = np.lexsort((ratings.items, ratings.users))
    again = np.lexsort((recovered.items, recovered.users))
    np.testing.assert_array_equal(recovered.ratings[again], ratings.ratings[order])
    with pytest.raises(ValueError, match="training pairs"):
        training_ratings(recommender, ratings.subset(np.arange(len(ratings) // 2)))


def test_one_pair_by_title(recommender: Recommender) -> None:
    explanation = explain_pair(recommender, "3", "Film 5 (1954)")
    assert explanation.item.item == "5"
    assert explanation.prediction == pytest.approx(recommender.predict("3", "5"), abs=1e-5)
