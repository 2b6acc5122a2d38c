"""Neighbours in the taste space: what two items share, and who a film is for.

**Shared directions.** Write item factors in the orthonormal basis of the taste map's principal
directions ``v_k`` (:mod:`embrec.interpret.embedding_map`): ``q_a . q_b = sum_k (q_a . v_k)(q_b . v_k)``
exactly, so the cosine of two items splits into one term per direction,
``cos(a, b) = sum_k (q_a . v_k)(q_b . v_k) / (|q_a| |q_b|)``. The largest positive terms are the
directions the two items share (both at the same end of a named axis); negative terms are where
they differ.

**Users for an item.** The users with the highest predicted rating of the item, among those who
have not rated it in training: who to show a new film to.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from embrec.interpret.biases import user_label
from embrec.interpret.embedding_map import TasteMap
from embrec.recommend.recommender import Recommender


@dataclass(frozen=True)
class SharedDirection:
    """One principal direction's share of two items' cosine, and where each item sits on it."""

    name: str
    share: float  # this direction's term of the cosine
    position_a: float  # (q_a . v_k) / |q_a|: -1..1
    position_b: float
    low: tuple[str, ...]  # titles at the direction's low end
    high: tuple[str, ...]

    def to_json(self) -> dict[str, Any]:
        return {
            "direction": self.name,
            "share": round(self.share, 6),
            "position_a": round(self.position_a, 6),
            "position_b": round(self.position_b, 6),
            "low": list(self.low),
            "high": list(self.high),
        }


@dataclass(frozen=True)
class SharedDirections:
    """The cosine of two items' factors and its largest per-direction terms (largest first)."""

    a: int
    b: int
    cosine: float
    directions: list[SharedDirection]


def shared_directions(
    taste: TasteMap, factors: np.ndarray, a: int, b: int, n: int = 3, ends: int = 3
) -> SharedDirections:
    """The ``n`` principal directions that contribute most to the cosine of items ``a`` and ``b``
    (indices into ``factors``, the model's item factor table); each named by the ``ends`` titles
    of the map's items at either end.

    The terms of all directions add up to the cosine (see the module docstring).
    """
    table = np.asarray(factors, dtype=np.float64)
    norm_a, norm_b = (max(float(np.linalg.norm(table[i])), 1e-12) for i in (a, b))
    basis = taste.pca.directions  # (factors, factors)
    along_a, along_b = (table[a] @ basis) / norm_a, (table[b] @ basis) / norm_b
    terms = along_a * along_b  # (factors,): adds up to the cosine
    order = np.argsort(-terms, kind="stable")[:n]
    coords = taste.pca.project(table[taste.items], basis.shape[1])  # (n_map_items, factors)
    named = [_named(int(k), coords[:, k], taste.titles, ends) for k in order]
    return SharedDirections(
        a,
        b,
        float(terms.sum()),
        [
            SharedDirection(f"PC{k + 1}", float(terms[k]), float(along_a[k]), float(along_b[k]), low, high)
            for k, (low, high) in zip(order, named, strict=True)
        ],
    )


def _named(k: int, values: np.ndarray, titles: tuple[str, ...], n: int) -> tuple[tuple[str, ...], tuple[str, ...]]:
    order = np.argsort(values, kind="stable")
    return tuple(titles[i] for i in order[:n]), tuple(titles[i] for i in order[::-1][:n])


@dataclass(frozen=True)
class UserScore:
    """A user, a short label (profile when known) and their predicted rating of the item."""

    user: str
    index: int
    label: str
    score: float

    def to_json(self) -> dict[str, Any]:
        return {"user": self.user, "label": self.label, "score": round(self.score, 6)}


def users_for_item(recommender: Recommender, item: object, k: int = 10, exclude_seen: bool = True) -> list[UserScore]:
    """The ``k`` users with the highest predicted rating of ``item`` (raw id or exact title),
    best first, ties in index order; users who rated it in training are left out unless
    ``exclude_seen`` is false."""
    if k < 1:
        raise ValueError(f"k must be positive, got {k}")
    index = recommender.item_index(item)
    users = np.arange(recommender.n_users)
    scores = recommender.predict_indices(users, np.full(recommender.n_users, index)).astype(np.float64)
    if exclude_seen:
        rated = recommender.seen[:, index].nonzero()[0]
        scores[rated] = -np.inf
    order = np.argsort(-scores, kind="stable")[:k]
    return [
        UserScore(recommender.user_ids.raw(int(u)), int(u), user_label(recommender, int(u)), float(scores[u]))
        for u in order
        if np.isfinite(scores[u])
    ]
