"""The service's lists for a large catalog come from the Recommender's approximate index: seen
items and ratings given through the service stay out, scores are the model's predictions."""

from __future__ import annotations

import numpy as np
import pytest

from embrec.recommend.approximate import Retrieval
from embrec.recommend.retrieval import recall_at_k
from embrec.serving.live_model import LiveModel
from large_catalog import N_USERS, large_recommender

pytest.importorskip("faiss")


def test_large_catalogs_are_listed_through_the_index() -> None:
    recommender = large_recommender()
    recommender.retrieval = Retrieval(from_items=1_000)  # 20,000 items count as large
    live = LiveModel.build("v1", recommender)
    assert recommender.retrieval.built  # built when the version was loaded
    users = [f"u{u}" for u in range(0, N_USERS, 4)]
    rated = {"u0": {"i1": 4.0, "i2": 1.0}}
    lists = {user: live.recommend(user, 10, rated.get(user, {})) for user in users}
    exact, _ = recommender.top_n(np.array([recommender.user_ids.index(u) for u in users]), 10, exact=True)
    found = np.array([[entry.index for entry in lists[user]] for user in users])
    assert found.shape == (len(users), 10) and recall_at_k(found, exact) >= 0.9
    for user in users:
        indices = [entry.index for entry in lists[user]]
        assert not set(indices) & set(recommender.items_of(user).tolist())
        predicted = recommender.predict_indices(np.full(10, recommender.user_ids.index(user)), np.array(indices))
        np.testing.assert_allclose([entry.score for entry in lists[user]], predicted, rtol=1e-6)
    top_of_u0 = [entry.item for entry in recommender.recommend("u0", 3, exact=False)]
    again = live.recommend("u0", 10, dict.fromkeys(top_of_u0, 5.0), explain=True)
    assert not {recommender.item_ids.raw(e.index) for e in again} & set(top_of_u0)
    assert all(entry.because is not None for entry in again)
