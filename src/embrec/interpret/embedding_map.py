"""A map of the taste space: principal components of the item factors.

Items with at least ``min_ratings`` training ratings are kept (rarely rated items have factors
that are mostly their initialisation). With ``X`` the kept item factors, centred
(``X = Q - mean(Q)``, one row per item), the principal directions are the eigenvectors ``v_k``
of ``X^T X`` by decreasing eigenvalue ``l_k``; an item's coordinates are ``x_k = (q_i - mean) . v_k``
and direction ``k`` explains ``l_k / sum(l)`` of the variance of the factors. Each direction's
sign is fixed so that its largest coordinate in magnitude is positive (PCA itself leaves the sign
free). An axis is named by the titles at its two ends.

A user is placed by ``u = V^T p_u``: the interaction ``p_u . q_i`` of the user with an item
equals ``u . x_i`` plus terms that do not depend on the map position (the centre and the
directions not drawn), so items lying in the direction of ``u`` are the ones the map says the
user prefers.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch import nn

from embrec.recommend.recommender import Recommender


@dataclass(frozen=True)
class Pca:
    """Principal components of a matrix's rows: centre, directions (columns), explained share."""

    center: np.ndarray  # (factors,)
    directions: np.ndarray  # (factors, factors): column k is the k-th principal direction
    explained: np.ndarray  # (factors,): share of the total variance, decreasing

    def project(self, rows: np.ndarray, k: int) -> np.ndarray:
        """Coordinates of (centred) rows on the first ``k`` directions: (n, k)."""
        return np.asarray((np.asarray(rows, dtype=np.float64) - self.center) @ self.directions[:, :k])


def pca(rows: np.ndarray) -> Pca:
    """PCA of the rows of ``rows`` (n, d) through the eigen-decomposition of the centred scatter matrix.

    Every one of the ``d`` directions is returned (a complete orthonormal basis, even when
    ``n < d``); directions beyond the rank explain nothing.
    """
    data = np.asarray(rows, dtype=np.float64)
    if data.ndim != 2 or len(data) < 2:
        raise ValueError("PCA needs at least two rows")
    center = data.mean(axis=0)
    centred = data - center
    eigenvalues, vectors = np.linalg.eigh(centred.T @ centred)  # ascending
    eigenvalues, vectors = np.clip(eigenvalues[::-1], 0.0, None), vectors[:, ::-1]
    coords = centred @ vectors
    flip = np.sign(coords[np.argmax(np.abs(coords), axis=0), np.arange(coords.shape[1])])
    vectors = vectors * np.where(flip == 0, 1.0, flip)
    total = float((centred**2).sum())
    explained = eigenvalues / total if total > 0 else np.zeros_like(eigenvalues)
    return Pca(center, vectors, explained)


@dataclass(frozen=True)
class Axis:
    """One map axis: its explained share and the titles at its low and high ends (most extreme first)."""

    name: str
    explained: float
    low: tuple[str, ...]
    high: tuple[str, ...]

    def label(self, n: int = 2) -> str:
        """``PC1 (12.3%): Low A, Low B <-> High A, High B``."""
        return f"{self.name} ({self.explained:.1%}): {', '.join(self.low[:n])}  \u2194  {', '.join(self.high[:n])}"

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "explained_variance": round(self.explained, 6),
            "low": list(self.low),
            "high": list(self.high),
        }


@dataclass(frozen=True)
class TasteMap:
    """Item coordinates on the first principal directions of the item factors."""

    items: np.ndarray  # (n,) item indices on the map
    coords: np.ndarray  # (n, k) coordinates
    ids: tuple[str, ...]
    titles: tuple[str, ...]
    n_ratings: np.ndarray  # (n,) training ratings of each item
    axes: tuple[Axis, ...]
    pca: Pca
    min_ratings: int

    def position(self, factors: np.ndarray) -> np.ndarray:
        """Coordinates of item-like vectors (rows of ``factors``) on the map: (n, k)."""
        return self.pca.project(factors, self.coords.shape[1])

    def user_position(self, user_factors: np.ndarray) -> np.ndarray:
        """A user's point ``V^T p_u`` (see the module docstring): (k,)."""
        return np.asarray(np.asarray(user_factors, dtype=np.float64) @ self.pca.directions[:, : self.coords.shape[1]])

    def to_json(self) -> dict[str, Any]:
        return {
            "min_ratings": self.min_ratings,
            "axes": [a.to_json() for a in self.axes],
            "items": [
                {"item": i, "title": t, "n_ratings": int(c), "x": [round(float(v), 6) for v in xy]}
                for i, t, c, xy in zip(self.ids, self.titles, self.n_ratings, self.coords, strict=True)
            ],
        }


def taste_map(recommender: Recommender, min_ratings: int = 20, components: int = 2, ends: int = 10) -> TasteMap:
    """The first ``components`` principal directions of the factors of items with at least
    ``min_ratings`` training ratings, each axis named by the ``ends`` titles at either end."""
    factors = recommender.item_factors()
    if factors is None:
        raise ValueError(f"a {recommender.model_config.kind!r} model has no item factors to map")
    if not 1 <= components <= factors.shape[1]:
        raise ValueError(f"components must be between 1 and {factors.shape[1]}, got {components}")
    items = np.flatnonzero(recommender.item_popularity >= min_ratings)
    if len(items) < 3:
        raise ValueError(f"only {len(items)} items have at least {min_ratings} ratings; lower --min-ratings")
    fitted = pca(factors[items])
    coords = fitted.project(factors[items], components)
    titles = item_titles(recommender, items)
    axes = tuple(_axis(f"PC{k + 1}", float(fitted.explained[k]), coords[:, k], titles, ends) for k in range(components))
    return TasteMap(
        items=items,
        coords=coords,
        ids=tuple(recommender.item_ids.raws(items)),
        titles=titles,
        n_ratings=np.asarray(recommender.item_popularity[items], dtype=np.int64),
        axes=axes,
        pca=fitted,
        min_ratings=min_ratings,
    )


def item_titles(recommender: Recommender, items: np.ndarray) -> tuple[str, ...]:
    """Titles of item indices (raw ids where the model has no titles), read in one pass."""
    titles = recommender.titles()
    if titles is None:
        return tuple(recommender.item_ids.raws(items))
    return tuple(str(titles[int(i)]) for i in items)


def _axis(name: str, explained: float, values: np.ndarray, titles: tuple[str, ...], n: int) -> Axis:
    order = np.argsort(values, kind="stable")
    return Axis(name, explained, tuple(titles[i] for i in order[:n]), tuple(titles[i] for i in order[::-1][:n]))


def user_vector(recommender: Recommender, user: object) -> np.ndarray:
    """The user's factor vector ``p_u`` (raw id), for :meth:`TasteMap.user_position`."""
    table = getattr(recommender.model, "user_factors", None)
    if not isinstance(table, nn.Embedding):
        raise ValueError(f"a {recommender.model_config.kind!r} model has no user factors to place")
    index = recommender.user_ids.index(user)
    with torch.no_grad():
        return np.asarray(table.weight[index].numpy(), dtype=np.float64)
