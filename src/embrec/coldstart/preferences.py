"""A newcomer who only says what they like: genres, and optionally age, gender, occupation.

The mean of similar users. Each trained user ``u`` has a genre profile from the items they rated:
the smoothed share of their ratings in genre ``g`` over the catalog-wide share (the lift)::

    lift_ug = ((c_ug + ALPHA * s_g) / (n_u + ALPHA)) / s_g

where ``c_ug`` counts u's rated items of genre g, ``n_u`` all u's rated items and ``s_g`` the
share of all ratings in genre g. A newcomer who likes genres ``G`` is closest to the users with the
highest ``mean_{g in G} log lift_ug``, plus ``DEMOGRAPHIC_BONUS`` for each of: same gender, age
within ``AGE_BAND`` years, same occupation (when given and known). The newcomer's rows are the mean
of the rows of the ``SIMILAR_USERS`` most similar trained users: a point in the model's own
space, so the usual scoring, lists and explanations apply, and it is stored like any folded-in user.
Items' genres come from the ``genres`` column of the item table ("Action|Comedy").
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from embrec.coldstart.prior import FoldedRows, Prior, flat_rows, population_prior, trained_rows
from embrec.recommend.recommender import Recommender

ALPHA = 10.0  # pseudo-ratings at the catalog-wide genre shares
SIMILAR_USERS = 50
DEMOGRAPHIC_BONUS = 0.3
AGE_BAND = 5


@dataclass(frozen=True)
class Preferences:
    """What a newcomer told us; empty fields are unknown."""

    genres: tuple[str, ...] = ()
    age: float | None = None
    gender: str | None = None
    occupation: str | None = None


def genre_matrix(recommender: Recommender) -> tuple[np.ndarray, tuple[str, ...]]:
    """Boolean (n_items, n_genres) membership from the item table, and the genre names."""
    table = recommender.item_table
    if table is None or "genres" not in table.columns:
        raise ValueError("this model has no item genres (the item table lacks a 'genres' column)")
    split = table["genres"].fillna("").astype(str).str.split("|")
    names = tuple(sorted({g for gs in split for g in gs if g}))
    column = {g: j for j, g in enumerate(names)}
    member = np.zeros((len(table), len(names)), dtype=bool)
    for i, gs in enumerate(split):
        member[i, [column[g] for g in gs if g]] = True
    return member, names


def genre_lift(recommender: Recommender, users: np.ndarray) -> tuple[np.ndarray, tuple[str, ...]]:
    """``log lift_ug`` (len(users), n_genres) from the seen matrix (module docstring)."""
    member, names = genre_matrix(recommender)
    seen = recommender.seen.tocsr()[users].astype(np.float64)
    counts = np.asarray(seen @ member.astype(np.float64))  # (users, genres)
    totals = np.asarray(seen.sum(axis=1)).ravel()[:, None]
    popularity = np.asarray(recommender.item_popularity, dtype=np.float64)
    share = np.clip(popularity @ member / max(popularity.sum(), 1.0), 1e-6, 1.0)  # s_g
    return np.log((counts + ALPHA * share) / (totals + ALPHA) / share), names


def similar_users(recommender: Recommender, preferences: Preferences, k: int = SIMILAR_USERS) -> np.ndarray:
    """Indices of the ``k`` trained users most similar to ``preferences`` (best first)."""
    users = trained_rows(recommender, "user")
    score = np.zeros(len(users))
    if preferences.genres:
        lift, names = genre_lift(recommender, users)
        unknown = [g for g in preferences.genres if g not in names]
        if unknown:
            raise ValueError(f"unknown genre(s) {', '.join(unknown)}; known: {', '.join(names)}")
        score += lift[:, [names.index(g) for g in preferences.genres]].mean(axis=1)
    score += DEMOGRAPHIC_BONUS * _demographic_matches(recommender.user_table, users, preferences)
    order = np.lexsort((users, -score))  # best first, ties to the lower index
    return users[order[:k]]


def _demographic_matches(table: pd.DataFrame | None, users: np.ndarray, preferences: Preferences) -> np.ndarray:
    matches = np.zeros(len(users))
    if table is None:
        return matches
    rows = table.iloc[users]
    if preferences.gender is not None and "gender" in rows.columns:
        matches += (rows["gender"].astype(str).str.upper() == preferences.gender.upper()).to_numpy()
    if preferences.occupation is not None and "occupation" in rows.columns:
        matches += (rows["occupation"].astype(str).str.lower() == preferences.occupation.lower()).to_numpy()
    if preferences.age is not None and "age" in rows.columns:
        ages = pd.to_numeric(rows["age"], errors="coerce").to_numpy(dtype=float)
        matches += np.abs(ages - preferences.age) <= AGE_BAND
    return matches


def from_preferences(
    recommender: Recommender, preferences: Preferences, prior: Prior | None = None, k: int = SIMILAR_USERS
) -> FoldedRows:
    """The newcomer's rows: the mean rows of the similar users (the average user when nothing is known)."""
    prior = prior if prior is not None else population_prior(recommender, "user")
    if preferences == Preferences():
        return FoldedRows("user", prior.layout.split(prior.mean), "none")
    rows = flat_rows(recommender.model, prior.layout, similar_users(recommender, preferences, k))
    return FoldedRows("user", prior.layout.split(rows.mean(axis=0)), "similar_users")


def parse_genres(text: str, known: Sequence[str]) -> tuple[str, ...]:
    """``"comedy, Romance"`` -> ``("Comedy", "Romance")``, matched case-insensitively to ``known``."""
    by_lower = {g.lower(): g for g in known}
    wanted = [g.strip() for g in text.split(",") if g.strip()]
    unknown = [g for g in wanted if g.lower() not in by_lower]
    if unknown:
        raise ValueError(f"unknown genre(s) {', '.join(unknown)}; known: {', '.join(known)}")
    return tuple(dict.fromkeys(by_lower[g.lower()] for g in wanted))
