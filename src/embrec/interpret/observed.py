"""What a model was trained on, recovered for the views that need rating values.

A model directory keeps which (user, item) pairs were trained on (``Recommender.seen``) but not
the rating values. Given the ratings table the model came from, :func:`training_ratings` picks
out exactly the training pairs, on the recommender's own indices, so mean ratings and each
user's favourite items can be shown next to what the model learned.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np

from embrec.data.ratings import Ratings
from embrec.evaluation.protocol import relevance_threshold
from embrec.recommend.recommender import Recommender

Side = Literal["user", "item"]


def training_ratings(recommender: Recommender, full: Ratings) -> Ratings:
    """The ratings of ``full`` on pairs the recommender was trained on, re-indexed to its id maps.

    Raw ids are matched, so ``full`` may use other indices (e.g. the whole MovieLens table read
    again). Raises ``ValueError`` when ``full`` does not hold every training pair: then it is not
    the data the model was trained on.
    """
    users = recommender.user_ids.indices(np.asarray(full.user_ids.ids, dtype=object)[full.users], "missing")
    items = recommender.item_ids.indices(np.asarray(full.item_ids.ids, dtype=object)[full.items], "missing")
    known = (users >= 0) & (items >= 0)
    trained = np.zeros(len(full), dtype=bool)
    trained[known] = np.asarray(recommender.seen[users[known], items[known]]).ravel()
    n_pairs = len(np.unique(users[trained].astype(np.int64) * recommender.n_items + items[trained]))
    if n_pairs != recommender.seen.nnz:
        raise ValueError(
            f"these ratings hold {n_pairs:,} of the model's {recommender.seen.nnz:,} training pairs:"
            " not the data it was trained on"
        )
    return Ratings(
        users=users[trained].astype(np.int32),
        items=items[trained].astype(np.int32),
        ratings=full.ratings[trained],
        user_ids=recommender.user_ids,
        item_ids=recommender.item_ids,
        scale=recommender.scale,
        item_table=recommender.item_table,
        user_table=recommender.user_table,
        name=f"{full.name} (training pairs)",
    )


def mean_ratings(ratings: Ratings, side: Side) -> np.ndarray:
    """Mean rating per user or item index (float64, NaN where there is none)."""
    index, n = (ratings.users, ratings.n_users) if side == "user" else (ratings.items, ratings.n_items)
    counts = np.bincount(index, minlength=n)
    sums = np.bincount(index, weights=ratings.ratings.astype(np.float64), minlength=n)
    with np.errstate(invalid="ignore", divide="ignore"):
        means: np.ndarray = np.where(counts > 0, sums / np.maximum(counts, 1), np.nan)
    return means


def rating_counts(recommender: Recommender, side: Side) -> np.ndarray:
    """Training ratings per user or item index (from the model's training pairs)."""
    if side == "item":
        return np.asarray(recommender.item_popularity, dtype=np.int64)
    return np.diff(np.asarray(recommender.seen.indptr, dtype=np.int64))


@dataclass(frozen=True)
class Liked:
    """A user's liked training items, best first, and what "liked" was read from.

    ``basis`` is ``"rated"`` when actual ratings were given, ``"fitted"`` when only the model's
    fitted predictions on the user's training items were available.
    """

    items: np.ndarray  # (n,) item indices
    values: np.ndarray  # (n,) the rating (or fitted prediction) of each
    basis: Literal["rated", "fitted"]


def liked_items(recommender: Recommender, user: int, ratings: Ratings | None = None) -> Liked:
    """The training items user index ``user`` liked: rated at or above the relevance threshold
    (4 of 5 stars), or, when none is, the user's top third by rating.

    Without ``ratings`` the model's predictions on the user's training items stand in for the
    ratings (a fitted model reproduces them closely, but not exactly).
    """
    if ratings is not None:
        mine = ratings.users == user
        items, values = ratings.items[mine].astype(np.int64), ratings.ratings[mine].astype(np.float64)
        basis: Literal["rated", "fitted"] = "rated"
    else:
        items = recommender.seen.indices[recommender.seen.indptr[user] : recommender.seen.indptr[user + 1]].astype(
            np.int64
        )
        values = recommender.predict_indices(np.full(len(items), user), items).astype(np.float64)
        basis = "fitted"
    order = np.argsort(-values, kind="stable")
    items, values = items[order], values[order]
    good = values >= relevance_threshold(recommender.scale)
    keep = int(good.sum()) if good.any() else -(-len(items) // 3)
    return Liked(items[:keep], values[:keep], basis)
