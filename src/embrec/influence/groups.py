"""Groups of users whose influence the audit measures: by activity, taste cluster, or attribute."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from embrec.data.ratings import Ratings


@dataclass(frozen=True)
class UserGroup:
    """A named set of user indices; ``kind`` says how it was formed (activity, cluster, a column)."""

    name: str
    kind: str
    members: np.ndarray


def activity_groups(train: Ratings, fractions: tuple[float, ...] = (0.05,)) -> list[UserGroup]:
    """The ``ceil(f * active users)`` most active users, one group per fraction ``f``."""
    counts = train.user_counts()
    order = np.argsort(-counts, kind="stable")[: int((counts > 0).sum())]
    groups = []
    for fraction in fractions:
        size = max(1, int(np.ceil(fraction * len(order) - 1e-9)))
        groups.append(UserGroup(f"top {fraction * 100:g}% most active", "activity", np.sort(order[:size])))
    return groups


def cluster_groups(factors: np.ndarray, users: np.ndarray, k: int, seed: int = 0) -> list[UserGroup]:
    """``k`` taste clusters of ``users``: k-means on their rows of the user factor table."""
    _, labels = kmeans(factors[users], k, seed)
    return [
        UserGroup(f"taste cluster {c + 1}", "cluster", np.sort(users[labels == c]))
        for c in range(k)
        if (labels == c).any()
    ]


def attribute_groups(train: Ratings, column: str, max_groups: int = 3, min_users: int = 5) -> list[UserGroup]:
    """Users sharing a value of side-table ``column`` (the ``max_groups`` largest values with >= ``min_users``).

    Only users with training ratings count. Numbers (age) are grouped by value as they are;
    bucket them first for coarser groups.
    """
    table = train.user_table
    if table is None or column not in table.columns:
        raise ValueError(f"the data has no user attribute {column!r}")
    active = np.flatnonzero(train.user_counts() > 0)
    values = table[column].iloc[active].astype(str).to_numpy()
    names, sizes = np.unique(values, return_counts=True)
    order = np.argsort(-sizes, kind="stable")
    chosen = [names[i] for i in order if sizes[i] >= min_users][:max_groups]
    return [UserGroup(f"{column} = {name}", column, active[values == name]) for name in chosen]


def kmeans(x: np.ndarray, k: int, seed: int = 0, iterations: int = 100) -> tuple[np.ndarray, np.ndarray]:
    """Lloyd's k-means with k-means++ seeding: (centroids (k, d), labels (n,)).

    Minimises ``sum_n ||x_n - c_label(n)||^2``. Seeded from ``seed`` only; a cluster left empty
    is re-seeded at the point farthest from its centroid. Stops when the labels stop changing.
    """
    x = np.asarray(x, dtype=np.float64)
    if not 1 <= k <= len(x):
        raise ValueError(f"k must be between 1 and the number of points ({len(x)}), got {k}")
    rng = np.random.default_rng(seed)
    centroids = _plus_plus(x, k, rng)
    labels = np.full(len(x), -1)
    for _ in range(iterations):
        distances = _squared_distances(x, centroids)  # (n, k)
        new_labels = distances.argmin(axis=1)
        if np.array_equal(new_labels, labels):
            break
        labels = new_labels
        for c in range(k):
            members = labels == c
            if members.any():
                centroids[c] = x[members].mean(axis=0)
            else:
                far = int(distances[np.arange(len(x)), labels].argmax())
                centroids[c], labels[far] = x[far], c
    return centroids, labels


def _plus_plus(x: np.ndarray, k: int, rng: np.random.Generator) -> np.ndarray:
    """k-means++: each next centroid drawn with probability proportional to its squared distance."""
    centroids = np.empty((k, x.shape[1]))
    centroids[0] = x[rng.integers(len(x))]
    closest = _squared_distances(x, centroids[:1])[:, 0]
    for c in range(1, k):
        total = closest.sum()
        index = rng.choice(len(x), p=closest / total) if total > 0 else rng.integers(len(x))
        centroids[c] = x[index]
        closest = np.minimum(closest, _squared_distances(x, centroids[c : c + 1])[:, 0])
    return centroids


def _squared_distances(x: np.ndarray, centroids: np.ndarray) -> np.ndarray:
    """(n, k) squared Euclidean distances, clipped at 0 against rounding."""
    d: np.ndarray = (x**2).sum(axis=1)[:, None] - 2 * x @ centroids.T + (centroids**2).sum(axis=1)[None, :]
    clipped: np.ndarray = np.maximum(d, 0.0)
    return clipped


def favourite_items(train: Ratings, members: np.ndarray, n: int = 10, threshold: float | None = None) -> np.ndarray:
    """The ``n`` items the group loves more than everyone else does.

    With ``p_g(i)`` the share of the group's high ratings (``>= threshold``, default 80% of the
    scale's top) that go to item ``i`` and ``p_o(i)`` the same share among everyone else, the
    favourites are the items with the largest ``p_g(i) - p_o(i)`` (only items the group rated high).
    """
    threshold = 0.8 * train.scale[1] if threshold is None else threshold
    in_group = np.zeros(train.n_users, dtype=bool)
    in_group[members] = True
    high = train.ratings >= threshold
    group = np.bincount(train.items[high & in_group[train.users]], minlength=train.n_items).astype(np.float64)
    others = np.bincount(train.items[high & ~in_group[train.users]], minlength=train.n_items).astype(np.float64)
    lift = group / max(group.sum(), 1.0) - others / max(others.sum(), 1.0)
    order = np.argsort(-lift, kind="stable")
    return order[group[order] > 0][:n]
