"""How concentrated the training signal and the recommendations are: Gini, top shares, Lorenz curves.

For non-negative amounts ``x_1 <= ... <= x_n`` (sorted ascending) with total ``S > 0``:

- Gini: ``G = sum_ij |x_i - x_j| / (2 n^2 mean) = 2 sum_i i x_i / (n S) - (n + 1) / n``
  (``i`` from 1): 0 when everyone holds the same amount, ``1 - 1/n`` when one holds all.
- top share at ``f``: the share of ``S`` held by the ``ceil(f n)`` largest amounts (at least one).
- Lorenz curve: the points ``(i / n, (x_1 + ... + x_i) / S)`` for ``i = 0..n``.

Populations: *user activity* is taken over users with at least one rating (an id without
ratings does not train the model); *item popularity* and *recommendation counts* over the whole
catalog (an item nobody rated, or nobody is shown, is part of the concentration).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from embrec.data.ratings import Ratings

SHARE_FRACTIONS = (0.01, 0.05, 0.10)


def gini(values: np.ndarray) -> float:
    """Gini coefficient of non-negative ``values`` (0 for an empty or all-zero array)."""
    x = np.sort(np.asarray(values, dtype=np.float64).ravel())
    if len(x) == 0 or x.sum() <= 0:
        return 0.0
    if x[0] < 0:
        raise ValueError("the Gini coefficient needs non-negative values")
    n = len(x)
    ranks = np.arange(1, n + 1)
    return float(2.0 * (ranks * x).sum() / (n * x.sum()) - (n + 1) / n)


def top_share(values: np.ndarray, fraction: float) -> float:
    """Share of the total held by the ``ceil(fraction * n)`` largest values (at least one)."""
    if not 0.0 < fraction <= 1.0:
        raise ValueError("fraction must be in (0, 1]")
    x = np.sort(np.asarray(values, dtype=np.float64).ravel())[::-1]
    total = x.sum()
    if len(x) == 0 or total <= 0:
        return 0.0
    top = max(1, math.ceil(fraction * len(x) - 1e-9))
    return float(x[:top].sum() / total)


def lorenz(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The Lorenz curve: (population share, cumulative share of the total), both from 0 to 1."""
    x = np.sort(np.asarray(values, dtype=np.float64).ravel())
    total = x.sum()
    population = np.linspace(0.0, 1.0, len(x) + 1)
    cumulative = np.concatenate([[0.0], np.cumsum(x) / total]) if total > 0 else population.copy()
    return population, cumulative


def _label(fraction: float) -> str:
    return f"{fraction * 100:g}%"


@dataclass(frozen=True)
class SignalConcentration:
    """Who the training ratings come from and which items they are about."""

    n_ratings: int
    active_users: int
    n_items: int
    top_user_share: dict[str, float]
    gini_users: float
    gini_items: float

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def signal_concentration(train: Ratings, fractions: tuple[float, ...] = SHARE_FRACTIONS) -> SignalConcentration:
    """Shares of the ratings from the most active users and Gini of user activity and item popularity."""
    per_user = train.user_counts()
    active = per_user[per_user > 0]
    return SignalConcentration(
        n_ratings=len(train),
        active_users=len(active),
        n_items=train.n_items,
        top_user_share={_label(f): top_share(active, f) for f in fractions},
        gini_users=gini(active),
        gini_items=gini(train.item_counts()),
    )


@dataclass(frozen=True)
class ListConcentration:
    """How the slots of the users' top-``k`` lists are spread over the catalog.

    ``coverage``: share of the catalog shown to anyone; ``gini``: Gini of the number of slots per
    item (whole catalog); ``top_item_share``: share of the slots taken by the 1% most shown items.
    """

    k: int
    users: int
    slots: int
    coverage: float
    gini: float
    top_item_share: float

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def recommendation_counts(lists: np.ndarray, n_items: int) -> np.ndarray:
    """Number of slots each item takes in ``lists`` ((n_users, k) item indices, -1 for empty slots)."""
    shown = lists[lists >= 0]
    return np.bincount(shown, minlength=n_items)


def list_concentration(lists: np.ndarray, n_items: int, top_fraction: float = 0.01) -> ListConcentration:
    """:class:`ListConcentration` of top-``k`` ``lists`` over a catalog of ``n_items``."""
    counts = recommendation_counts(lists, n_items)
    return ListConcentration(
        k=int(lists.shape[1]) if lists.ndim == 2 else 0,
        users=int(lists.shape[0]),
        slots=int(counts.sum()),
        coverage=float((counts > 0).sum() / n_items) if n_items else 0.0,
        gini=gini(counts),
        top_item_share=top_share(counts, top_fraction),
    )


def slot_share(lists: np.ndarray, items: np.ndarray) -> float:
    """Share of the filled slots of ``lists`` taken by the items of boolean catalog mask ``items``."""
    shown = lists[lists >= 0]
    return float(items[shown].mean()) if len(shown) else 0.0
