"""One loaded model version, with what the service needs precomputed, and the users placed in it.

A :class:`LiveModel` answers in raw ids: lists for users the model was trained on and for new
users placed in its space since (``placed``), similar items, predictions, the taste map. It is
never mutated after construction except for ``placed`` (guarded by a lock), so requests can
keep using a version while the service swaps in another.
"""

from __future__ import annotations

import itertools
import json
import threading
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import torch
from scipy import sparse

from embrec.coldstart import Prior, population_prior
from embrec.data.ids import UnknownIdError
from embrec.evaluation.protocol import relevance_threshold
from embrec.recommend.recommender import Recommender
from embrec.serving.fast_scores import DotScorer
from embrec.serving.newcomers import Placement, questionnaire_items

MAP_ITEMS = 400


@dataclass(frozen=True)
class CatalogEntry:
    """Side information of one item, ready for the API."""

    item: str
    title: str
    year: int | None
    genres: tuple[str, ...]

    def to_json(self) -> dict[str, object]:
        return {"item": self.item, "title": self.title, "year": self.year, "genres": list(self.genres)}


@dataclass(frozen=True)
class Listed:
    """One entry of a list: item index, score, and the liked titles that explain it."""

    index: int
    score: float
    because: tuple[str, ...] | None = None


@dataclass
class LiveModel:
    """A model version ready to serve."""

    version: str
    recommender: Recommender
    catalog: list[CatalogEntry]
    unit_factors: np.ndarray | None  # (n_items, factors), rows of length 1
    axes: np.ndarray | None  # (factors, 2): the first two principal directions of the item factors
    center: np.ndarray | None  # (factors,)
    titles: list[str] = field(default_factory=list)  # lower-case, for search
    prior: Prior | None = None  # the population prior of user rows, for fold-in
    user_index: dict[str, int] = field(default_factory=dict)  # raw id -> row: faster than IdMap per request
    fast: DotScorer | None = None  # numpy scoring of one user for dot models
    _questions: dict[int, list[int]] = field(default_factory=dict)
    _item_json: dict[int, bytes] = field(default_factory=dict)  # item index -> JSON up to the score
    placed: dict[str, Placement] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def questions(self, n: int) -> list[int]:
        """The questionnaire's first ``n`` items (computed once per length)."""
        if n not in self._questions:
            self._questions[n] = questionnaire_items(self.recommender, n, self.prior)
        return self._questions[n]

    def item_json_prefix(self, index: int) -> bytes:
        """The item's list entry as compact JSON up to its score: ``{"item":..,"genres":[..],"score":``."""
        prefix = self._item_json.get(index)
        if prefix is None:
            prefix = json.dumps(self.catalog[index].to_json(), separators=(",", ":"))[:-1].encode() + b',"score":'
            self._item_json[index] = prefix  # computed once per item, on first use
        return prefix

    @classmethod
    def build(cls, version: str, recommender: Recommender) -> LiveModel:
        factors = recommender.item_factors()
        unit = axes = center = None
        if factors is not None:
            unit = factors / np.maximum(np.linalg.norm(factors, axis=1, keepdims=True), 1e-12)
            center = factors.mean(axis=0)
            centred = (factors - center).astype(np.float64)
            _, vectors = np.linalg.eigh(centred.T @ centred)  # (factors, factors), ascending eigenvalues
            axes = vectors[:, ::-1][:, :2].astype(np.float32)  # the first two principal directions
        catalog = _catalog(recommender)
        titles = [entry.title.lower() for entry in catalog]
        prior = population_prior(recommender, "user")
        users = {raw: row for row, raw in enumerate(recommender.user_ids.ids)}
        fast = DotScorer.of(recommender.model)
        if recommender.searches_index():  # build (or read) a large catalog's index now, not on the first request
            recommender.retrieval.index(recommender.model, recommender.seen)
        return cls(version, recommender, catalog, unit, axes, center, titles, prior, users, fast)

    @property
    def scale(self) -> tuple[float, float]:
        return self.recommender.scale

    def knows(self, user: str) -> bool:
        return user in self.user_index or user in self.placed

    def place(self, user: str, placement: Placement) -> None:
        with self.lock:
            self.placed[user] = placement

    # --- lists ------------------------------------------------------------------------
    def scores(self, user: str) -> np.ndarray:
        """Predicted ratings of every item for a trained or placed user: (n_items,), not to be modified."""
        placed = self.placed.get(user)
        if placed is not None:
            return placed.scores
        index = self.user_index.get(user)
        if index is None:
            raise UnknownIdError("user", user)
        if self.fast is not None:
            return self.fast.scores(index)
        return self.recommender.score_users(np.array([index]))[0].numpy()

    def recommend(self, user: str, k: int, rated: Mapping[str, float], explain: bool = False) -> list[Listed]:
        """The ``k`` best items the user has not rated in training nor through the service.

        Trained users are ranked by predicted rating; placed newcomers by their placement's
        ranking (cold start weighs what a newcomer has heard of), scored by predicted rating.
        """
        placed = self.placed.get(user)
        if placed is None and self.recommender.searches_index():  # large catalogs: the approximate index
            return self._recommend_indexed(user, k, rated, explain)
        scores = self.scores(user)
        order = np.array(placed.ranking if placed is not None else scores)  # a copy, in the scores' own dtype
        exclude = self.rated_indices(user, rated)
        order[exclude] = -np.inf
        best = _top(order, k)
        liked = self._liked(exclude, user, rated) if explain else None
        return [Listed(int(i), float(scores[i]), None if liked is None else self._because(int(i), liked)) for i in best]

    def _recommend_indexed(self, user: str, k: int, rated: Mapping[str, float], explain: bool) -> list[Listed]:
        """:meth:`recommend` for a trained user through the Recommender's approximate index."""
        row = self.user_index.get(user)
        if row is None:
            raise UnknownIdError("user", user)
        exclude = self.rated_indices(user, rated)
        excluded = sparse.csr_matrix(
            (np.ones(len(exclude), bool), exclude, [0, len(exclude)]), shape=(1, len(self.catalog))
        )
        best, scores = self.recommender.top_n_excluding(np.array([row]), excluded, k)
        liked = self._liked(exclude, user, rated) if explain else None
        found = best[0] >= 0
        return [Listed(int(i), float(s), None if liked is None else self._because(int(i), liked))
                for i, s in zip(best[0][found], scores[0][found], strict=True)]  # fmt: skip

    def rated_indices(self, user: str, rated: Mapping[str, float]) -> np.ndarray:
        """Item indices the user rated: in training (trained users) and through the service."""
        seen = self._trained_items(user)
        if not rated:
            return seen.astype(np.int64)
        live = self.recommender.item_ids.indices(list(rated), "missing")
        return np.unique(np.concatenate([seen.astype(np.int64), live[live >= 0].astype(np.int64)]))

    def _trained_items(self, user: str) -> np.ndarray:
        """Items a trained user rated in training (none for anyone else)."""
        row = self.user_index.get(user)
        if row is None:
            return np.empty(0, np.int32)
        seen = self.recommender.seen
        return np.asarray(seen.indices[seen.indptr[row] : seen.indptr[row + 1]])

    def _liked(self, rated_items: np.ndarray, user: str, rated: Mapping[str, float]) -> np.ndarray:
        """Items the user liked: training items (no values kept) and service ratings at or above relevance."""
        good = [item for item, value in rated.items() if value >= relevance_threshold(self.scale)]
        live = self.recommender.item_ids.indices(good, "missing") if good else np.empty(0, np.int32)
        seen = self._trained_items(user)
        return np.unique(np.concatenate([seen.astype(np.int64), live[live >= 0].astype(np.int64)]))

    def _because(self, item: int, liked: np.ndarray, n: int = 2) -> tuple[str, ...]:
        if self.unit_factors is None or len(liked) == 0:
            return ()
        similarity = self.unit_factors[liked] @ self.unit_factors[item]
        best = liked[np.argsort(-similarity, kind="stable")[:n]]
        return tuple(self.catalog[int(i)].title for i in best)

    def similar(self, item: str, k: int) -> tuple[int, list[Listed]]:
        index = self.recommender.item_index(item)
        found = self.recommender.similar_items(self.recommender.item_ids.raw(index), k)
        return index, [Listed(entry.index, entry.score) for entry in found]

    def predict(self, users: list[str], items: list[str]) -> np.ndarray:
        """Predicted ratings for raw id pairs (trained or placed users)."""
        item_index = self.recommender.item_ids.indices(items)
        out = np.empty(len(users), dtype=np.float32)
        trained = np.array([u in self.user_index for u in users], dtype=bool)
        if trained.any():
            user_index = self.recommender.user_ids.indices([u for u, t in zip(users, trained, strict=True) if t])
            out[trained] = self.recommender.predict_indices(user_index, item_index[trained])
        for position in np.flatnonzero(~trained):
            placed = self.placed.get(users[position])
            if placed is None:
                raise UnknownIdError("user", users[position])
            out[position] = placed.scores[item_index[position]]
        return out

    # --- the taste map ----------------------------------------------------------------
    def map_points(self, n: int = MAP_ITEMS) -> tuple[np.ndarray, np.ndarray]:
        """The ``n`` most rated items and their 2-D coordinates: (indices, (n, 2))."""
        factors = self.recommender.item_factors()
        if factors is None or self.axes is None or self.center is None:
            raise ValueError(f"a {self.recommender.model_config.kind!r} model has no item factors to map")
        order = np.argsort(-self.recommender.item_popularity, kind="stable")[:n]
        return order, (factors[order] - self.center) @ self.axes

    def user_position(self, user: str) -> np.ndarray | None:
        """The user's vector on the map's axes, when the model has user factors."""
        if self.axes is None or self.center is None:
            return None
        placed = self.placed.get(user)
        table = getattr(self.recommender.model, "user_factors", None)
        if placed is not None:
            vector = placed.vector
        elif isinstance(table, torch.nn.Embedding):
            vector = table.weight[self.recommender.user_ids.index(user)].detach().numpy()
        else:
            return None
        if vector is None:
            return None
        position: np.ndarray = (vector - self.center) @ self.axes
        return position

    def search(self, text: str | None, limit: int, exclude: Collection[int] = ()) -> list[int]:
        """Items whose title contains every word of ``text`` (case-insensitive), most rated first."""
        words = (text or "").lower().split()
        order = np.argsort(-self.recommender.item_popularity, kind="stable")
        found = (int(i) for i in order if int(i) not in exclude and all(w in self.titles[i] for w in words))
        return list(itertools.islice(found, limit))

    def genres(self) -> list[str]:
        return sorted({genre for entry in self.catalog for genre in entry.genres})


def _top(order: np.ndarray, k: int) -> np.ndarray:
    """Indices of the ``k`` largest finite entries, largest first (lower index first on ties)."""
    k = min(k, len(order))
    candidates = np.argpartition(-order, k - 1)[:k] if k < len(order) else np.arange(len(order))
    ranked = candidates[np.lexsort((candidates, -order[candidates]))]
    best: np.ndarray = ranked[np.isfinite(order[ranked])]
    return best


def _catalog(recommender: Recommender) -> list[CatalogEntry]:
    table = recommender.item_table if recommender.item_table is not None else pd.DataFrame(index=range(0))
    known = recommender.titles()
    titles = [str(t) for t in known] if known is not None else list(recommender.item_ids.ids)
    years = _column(table, "year", recommender.n_items)
    genres = _column(table, "genres", recommender.n_items)
    return [
        CatalogEntry(recommender.item_ids.raw(i), titles[i], _year(years[i]), _genres(genres[i]))
        for i in range(recommender.n_items)
    ]


def _column(table: pd.DataFrame, name: str, n: int) -> list[object]:
    return list(table[name]) if name in table.columns and len(table) == n else [None] * n


def _year(value: object) -> int | None:
    try:
        return None if value is None or pd.isna(value) else int(str(value)[:4])  # type: ignore[call-overload]
    except (TypeError, ValueError):
        return None


def _genres(value: object) -> tuple[str, ...]:
    return tuple(g for g in str(value).split("|") if g) if isinstance(value, str) else ()
