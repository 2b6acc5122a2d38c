"""Users for an item are ranked by predicted rating; shared directions add up to the cosine."""

from __future__ import annotations

import numpy as np
import pytest

from embrec.interpret.embedding_map import taste_map
from embrec.interpret.neighbours import shared_directions, users_for_item
from embrec.recommend.recommender import Recommender


def test_users_for_item_ranks_by_predicted_rating(recommender: Recommender) -> None:
    item = 3
    found = users_for_item(recommender, recommender.item_ids.raw(item), k=8)
    predicted = recommender.predict_indices(np.arange(recommender.n_users), np.full(recommender.n_users, item))
    raters = set(recommender.seen[:, item].nonzero()[0].tolist())
    candidates = [u for u in range(recommender.n_users) if u not in raters]
    best = sorted(candidates, key=lambda u: -predicted[u])[:8]
    assert [u.index for u in found] == best
    assert [u.score for u in found] == pytest.approx([float(predicted[u]) for u in best], abs=1e-6)
    assert not raters & {u.index for u in found}


def test_raters_can_be_included(recommender: Recommender) -> None:
    item = 0
    found = users_for_item(recommender, "Film 1 (1950)", k=recommender.n_users, exclude_seen=False)
    assert len(found) == recommender.n_users
    assert [u.score for u in found] == sorted((u.score for u in found), reverse=True)
    assert found[0].index == int(
        np.argmax(recommender.predict_indices(np.arange(recommender.n_users), np.full(recommender.n_users, item)))
    )


def test_shared_direction_terms_add_up_to_the_cosine(recommender: Recommender) -> None:
    factors = recommender.item_factors()
    assert factors is not None
    taste = taste_map(recommender, min_ratings=5)
    every = shared_directions(taste, factors, 0, 1, n=factors.shape[1])
    cosine = factors[0] @ factors[1] / np.linalg.norm(factors[0]) / np.linalg.norm(factors[1])
    assert every.cosine == pytest.approx(float(cosine), abs=1e-6)
    assert sum(d.share for d in every.directions) == pytest.approx(float(cosine), abs=1e-6)
    top = shared_directions(taste, factors, 0, 1, n=2, ends=2)
    assert [d.share for d in top.directions] == sorted((d.share for d in every.directions), reverse=True)[:2]
    assert top.directions[0].name.startswith("PC") and len(top.directions[0].high) == 2
