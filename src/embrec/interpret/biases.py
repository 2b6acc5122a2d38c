"""Learned biases: what people like more (or less) than their tastes would predict.

In the dot model ``logit = g + b_u + b_i + p_u . q_i`` the item bias ``b_i`` is the part of an
item's appeal that no taste vector explains: a film everyone rates above what their tastes
predict has a high ``b_i``. A user bias ``b_u`` is a generous (or harsh) rater.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from torch import nn

from embrec.data.ratings import Ratings
from embrec.interpret.observed import Side, mean_ratings, rating_counts
from embrec.recommend.recommender import Recommender


@dataclass(frozen=True)
class BiasEntry:
    """One user or item: raw id, label (title, or the user's profile), bias, training count and
    mean training rating (``None`` when the ratings were not given)."""

    id: str
    label: str
    bias: float
    n_ratings: int
    mean_rating: float | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "label": self.label,
            "bias": round(self.bias, 6),
            "n_ratings": self.n_ratings,
            "mean_rating": None if self.mean_rating is None else round(self.mean_rating, 4),
        }


@dataclass(frozen=True)
class BiasExtremes:
    """The lowest and the highest biases (each list most extreme first) among eligible entries."""

    side: Side
    min_ratings: int
    n_eligible: int
    lowest: list[BiasEntry]
    highest: list[BiasEntry]

    def to_json(self) -> dict[str, Any]:
        return {
            "min_ratings": self.min_ratings,
            "n_eligible": self.n_eligible,
            "lowest": [e.to_json() for e in self.lowest],
            "highest": [e.to_json() for e in self.highest],
        }


def learned_biases(model: nn.Module, kind: str) -> np.ndarray | None:
    """The model's per-user or per-item bias vector (``kind`` "user" or "item"), if it has one."""
    table = getattr(model, f"{kind}_bias", None)
    if table is None:
        return None
    weight = table.weight if isinstance(table, nn.Embedding) else table
    return np.asarray(weight.detach().numpy(), dtype=np.float64).reshape(-1)


def extreme_biases(
    recommender: Recommender, side: Side, n: int = 10, min_ratings: int = 20, ratings: Ratings | None = None
) -> BiasExtremes:
    """The ``n`` users or items with the lowest and the highest learned bias, among those with at
    least ``min_ratings`` training ratings.

    The filter keeps the lists about films people actually rated (and users who rated enough): a
    bias estimated from one or two ratings says little. Ties keep index order. ``ratings`` (the
    training ratings on the recommender's indices, see
    :func:`embrec.interpret.observed.training_ratings`) adds the mean rating of each entry.
    """
    if n < 1:
        raise ValueError(f"n must be positive, got {n}")
    biases = learned_biases(recommender.model, side)
    if biases is None:
        raise ValueError(f"a {recommender.model_config.kind!r} model has no {side} biases")
    counts = rating_counts(recommender, side)
    means = mean_ratings(ratings, side) if ratings is not None else None
    eligible = np.flatnonzero(counts >= min_ratings)
    ascending = eligible[np.argsort(biases[eligible], kind="stable")]
    descending = eligible[np.argsort(-biases[eligible], kind="stable")]

    def entry(i: int) -> BiasEntry:
        mean = None if means is None or np.isnan(means[i]) else float(means[i])
        return BiasEntry(
            _raw(recommender, side, i), _label(recommender, side, i), float(biases[i]), int(counts[i]), mean
        )

    return BiasExtremes(
        side,
        min_ratings,
        len(eligible),
        [entry(int(i)) for i in ascending[:n]],
        [entry(int(i)) for i in descending[:n]],
    )


def extreme_item_biases(
    recommender: Recommender, n: int = 5, min_ratings: int = 20
) -> tuple[list[BiasEntry], list[BiasEntry]]:
    """The ``n`` items with the lowest and the highest learned bias among items with enough ratings."""
    extremes = extreme_biases(recommender, "item", n, min_ratings)
    return extremes.lowest, extremes.highest


def _raw(recommender: Recommender, side: Side, index: int) -> str:
    return recommender.item_ids.raw(index) if side == "item" else recommender.user_ids.raw(index)


def _label(recommender: Recommender, side: Side, index: int) -> str:
    """An item's title; a user's profile from the user table (``age gender occupation``) or id."""
    if side == "item":
        return recommender.title(index)
    return user_label(recommender, index)


def user_label(recommender: Recommender, index: int) -> str:
    """``"user 42 (25 M, engineer)"`` when the user table has such columns, else ``"user 42"``."""
    raw = recommender.user_ids.raw(index)
    table = recommender.user_table
    if table is None:
        return f"user {raw}"
    fields = [str(table[c].iat[index]) for c in ("age", "gender", "occupation") if c in table.columns]
    profile = " ".join(fields[:2]) + (", " + fields[2] if len(fields) > 2 else "")
    return f"user {raw} ({profile.strip(', ')})" if fields else f"user {raw}"
