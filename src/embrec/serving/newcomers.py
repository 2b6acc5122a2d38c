"""Placing a new user in a trained model's space, for the service: a thin layer over ``embrec.coldstart``.

Questionnaire ratings are folded in with :func:`embrec.coldstart.fold_in` (item parameters
frozen, the population prior in place of weight decay). Liked genres, when given, count as
ratings of ``GENRE_LIKE`` of the scale's top for the ``GENRE_ITEMS`` most rated films of each
genre the user has not rated: a cheap way to say "I like science fiction" in the model's terms.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from embrec.coldstart import Prior, fold_in, predict_folded
from embrec.recommend.recommender import Recommender

GENRE_ITEMS = 10
GENRE_LIKE = 0.9


@dataclass(frozen=True)
class Placement:
    """A new user as the model sees it: predicted ratings of every item, and the user's vector if any."""

    scores: np.ndarray  # (n_items,) float32
    vector: np.ndarray | None  # (factors,)


def place_user(
    recommender: Recommender,
    items: np.ndarray,
    ratings: np.ndarray,
    genres: Sequence[str] = (),
    prior: Prior | None = None,
) -> Placement:
    """Fold in a new user from rated item indices (each once) and liked genres; no ratings: the average user."""
    items, ratings = _with_genre_items(recommender, items, ratings, genres)
    folded = fold_in(recommender, items, ratings, prior=prior)
    vector = folded.vector
    return Placement(predict_folded(recommender, folded), None if vector is None else np.ravel(vector))


def questionnaire_items(recommender: Recommender, n: int) -> list[int]:
    """Items to ask about: the most rated ones (people can rate what they have seen)."""
    return [int(i) for i in np.argsort(-recommender.item_popularity, kind="stable")[:n]]


def _with_genre_items(
    recommender: Recommender, items: np.ndarray, ratings: np.ndarray, genres: Sequence[str]
) -> tuple[np.ndarray, np.ndarray]:
    table = recommender.item_table
    if not genres or table is None or "genres" not in table.columns:
        return items, ratings
    wanted, rated = set(genres), set(items.tolist())
    order = np.argsort(-recommender.item_popularity, kind="stable")
    picked: list[int] = []
    for genre in wanted:
        of_genre = [int(i) for i in order if genre in str(table["genres"].iat[i]).split("|") and int(i) not in rated]
        picked += [i for i in of_genre[:GENRE_ITEMS] if i not in picked]
    liked = np.full(len(picked), GENRE_LIKE * recommender.scale[1], dtype=np.float32)
    return np.concatenate([items, np.asarray(picked, dtype=np.int64)]), np.concatenate([ratings, liked])
