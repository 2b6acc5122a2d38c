"""Groups of users: k-means, activity, attributes; a group's favourite items."""

from __future__ import annotations

import numpy as np
import pytest

from embrec.data.ids import IdMap
from embrec.data.ratings import Ratings
from embrec.influence.groups import activity_groups, attribute_groups, cluster_groups, favourite_items, kmeans


def test_kmeans_recovers_separated_blobs_and_is_seeded() -> None:
    rng = np.random.default_rng(0)
    centres = np.array([[0.0, 0.0], [10.0, 0.0], [0.0, 10.0]])
    truth = np.repeat(np.arange(3), 30)
    x = centres[truth] + rng.normal(0, 0.5, (90, 2))
    centroids, labels = kmeans(x, 3, seed=1)
    for c in range(3):  # every blob is one cluster
        assert len(np.unique(labels[truth == c])) == 1
    assert len(np.unique(labels)) == 3
    np.testing.assert_allclose(np.sort(centroids[:, 0]), [0, 0, 10], atol=0.5)
    np.testing.assert_array_equal(kmeans(x, 3, seed=1)[1], labels)
    with pytest.raises(ValueError):
        kmeans(x, 91)


def test_cluster_groups_partition_the_users() -> None:
    factors = np.concatenate([np.zeros((5, 2)), np.full((5, 2), 3.0)])
    groups = cluster_groups(factors, np.arange(10), 2, seed=0)
    assert sorted(len(g.members) for g in groups) == [5, 5]
    assert sorted(np.concatenate([g.members for g in groups])) == list(range(10))


def test_activity_and_attribute_groups(small: Ratings) -> None:
    (top,) = activity_groups(small, (0.1,))
    counts = small.user_counts()
    assert len(top.members) == 6 and counts[top.members].min() >= np.sort(counts)[-6]
    groups = attribute_groups(small, "occupation", max_groups=2)
    assert [g.name for g in groups] == ["occupation = a", "occupation = b"]
    assert all(len(g.members) == 20 for g in groups)
    with pytest.raises(ValueError, match="zip"):
        attribute_groups(small, "zip")


def test_favourites_are_what_the_group_loves_more_than_others() -> None:
    # users 0-1 (the group) love items 0 and 1; users 2-3 love item 2 and also like item 0
    users = np.array([0, 0, 1, 1, 2, 2, 3, 3], dtype=np.int32)
    items = np.array([0, 1, 0, 1, 2, 0, 2, 3], dtype=np.int32)
    ratings = np.array([5, 5, 5, 4, 5, 5, 5, 2], dtype=np.float32)
    data = Ratings(users, items, ratings, IdMap(tuple("abcd")), IdMap(tuple("wxyz")), (1.0, 5.0))
    # group high ratings: item 0: 2/4, item 1: 2/4; others: item 0: 1/3, item 2: 2/3
    np.testing.assert_array_equal(favourite_items(data, np.array([0, 1]), n=2), [1, 0])
