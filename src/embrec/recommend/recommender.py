"""The Recommender: a trained model plus the id maps and the training interactions.

It is the id-aware face of a model: it translates raw ids at the edge, knows which items each
user has already rated (to exclude them), and turns index-level scores into lists.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
import torch
from scipy import sparse
from torch import nn

from embrec.data.ids import IdMap, UnknownIdError
from embrec.data.ratings import Ratings
from embrec.models import ModelConfig
from embrec.recommend.approximate import Retrieval
from embrec.recommend.ranking import exclude, seen_matrix, top_k
from embrec.recommend.retrieval import mips_queries, top_n_with_index
from embrec.training.config import TrainConfig
from embrec.training.loop import predict_pairs

SCORE_CHUNK_USERS = 512
MAX_K = 10_000


@dataclass(frozen=True)
class ItemScore:
    """One entry of a list: the item's raw id, index, title and score."""

    item: str
    index: int
    title: str
    score: float

    def to_json(self) -> dict[str, Any]:
        return {"item": self.item, "title": self.title, "score": round(self.score, 6)}


@dataclass
class Recommender:
    """A trained model with what it needs to answer questions in terms of raw ids.

    ``seen`` holds the training interactions (excluded from recommendations),
    ``item_popularity`` the training count of each item. A model trained with a ranking
    objective (``train_config.objective`` other than ``"mse"``) outputs scores, not ratings:
    :meth:`predict` refuses it (:attr:`predicts_ratings`). ``retrieval`` decides when top-N
    searches an approximate index (catalogs of ``retrieval.from_items`` items and more) and
    keeps that index; ``dataclasses.replace`` gives the copy a fresh one (its model may differ).
    """

    model: nn.Module
    model_config: ModelConfig
    user_ids: IdMap
    item_ids: IdMap
    seen: sparse.csr_matrix
    item_popularity: np.ndarray
    scale: tuple[float, float]
    train_config: TrainConfig | None = None
    item_table: pd.DataFrame | None = None
    user_table: pd.DataFrame | None = None
    info: dict[str, Any] = field(default_factory=dict)
    retrieval: Retrieval = field(default_factory=Retrieval, init=False, repr=False, compare=False)

    @classmethod
    def from_training(
        cls,
        model: nn.Module,
        model_config: ModelConfig,
        train: Ratings,
        train_config: TrainConfig | None = None,
        info: dict[str, Any] | None = None,
    ) -> Recommender:
        seen = seen_matrix(train.users, train.items, train.n_users, train.n_items)
        model.eval()
        return cls(
            model=model,
            model_config=model_config,
            user_ids=train.user_ids,
            item_ids=train.item_ids,
            seen=seen,
            item_popularity=train.item_counts(),
            scale=train.scale,
            train_config=train_config,
            item_table=train.item_table,
            user_table=train.user_table,
            info={"data": train.name, "data_fingerprint": train.fingerprint(), "n_train": len(train)} | (info or {}),
        )

    @property
    def n_users(self) -> int:
        return len(self.user_ids)

    @property
    def n_items(self) -> int:
        return len(self.item_ids)

    @property
    def predicts_ratings(self) -> bool:
        """False for a ranking-trained model (BPR, softmax): its outputs only order items."""
        return self.train_config is None or self.train_config.objective == "mse"

    # --- prediction -------------------------------------------------------------------
    def predict_indices(self, users: np.ndarray, items: np.ndarray) -> np.ndarray:
        """Predicted ratings for index pairs, float32."""
        u = torch.as_tensor(np.asarray(users), dtype=torch.long)
        i = torch.as_tensor(np.asarray(items), dtype=torch.long)
        return predict_pairs(self.model, u, i).numpy()

    def predict(self, user: object, item: object) -> float:
        """Predicted rating of one (user, item) pair given as raw ids (rating-trained models only)."""
        if not self.predicts_ratings:
            objective = self.train_config.objective if self.train_config else ""
            raise ValueError(f"a model trained with objective {objective!r} ranks items; it predicts no ratings")
        return float(self.predict_indices(np.array([self.user_ids.index(user)]), np.array([self.item_index(item)]))[0])

    def score_users(self, users: np.ndarray) -> torch.Tensor:
        """Predictions of every item for each user index: (batch, n_items)."""
        score_all = getattr(self.model, "score_all", None)
        if not callable(score_all):
            raise TypeError(f"{type(self.model).__name__} has no score_all(users): it cannot rank items")
        self.model.eval()
        with torch.inference_mode():
            scores = score_all(torch.as_tensor(np.asarray(users), dtype=torch.long))
        assert isinstance(scores, torch.Tensor)
        return scores.clone()

    # --- lists ------------------------------------------------------------------------
    def top_n(
        self,
        users: np.ndarray,
        k: int = 10,
        exclude_seen: bool = True,
        exact: bool | None = None,
        popularity_boost: float = 0.0,
    ) -> tuple[np.ndarray, np.ndarray]:
        """Top-``k`` item indices and predictions for user indices: (n_users, k) each, -1 where none left.

        ``exact``: None searches the approximate index for large catalogs (see :meth:`searches_index`),
        True scores every item, False always searches the index. ``popularity_boost`` ``beta``
        ranks by ``prediction + beta * log(1 + n_i)`` (``n_i``: the item's training ratings), and
        returns those scores: a confidence correction for rating-trained models, whose top
        predictions are otherwise obscure items with a few high ratings. Off (0) by default;
        ``benchmarks/compare.py`` measures it (docs/benchmarks.md).
        """
        users = np.atleast_1d(np.asarray(users, dtype=np.int64))
        excluded = self.seen[users] if exclude_seen else sparse.csr_matrix((len(users), self.n_items), dtype=bool)
        return self.top_n_excluding(users, excluded, k, exact, popularity_boost)

    def top_n_excluding(
        self,
        users: np.ndarray,
        excluded: sparse.csr_matrix,
        k: int = 10,
        exact: bool | None = None,
        popularity_boost: float = 0.0,
    ) -> tuple[np.ndarray, np.ndarray]:
        """:meth:`top_n` without the items in each user's row of ``excluded`` (len(users), n_items)
        instead of the training ones.

        Exact: one product of a user block with all item factors, then a partial sort. Approximate:
        the index's candidates, rescored by the model (so scores are predictions either way).
        """
        _check_k(k)
        users = np.atleast_1d(np.asarray(users, dtype=np.int64))
        block = self._top_block_indexed if self.searches_index(exact) else self._top_block
        starts = range(0, len(users), SCORE_CHUNK_USERS)
        chunks = [(users[s : s + SCORE_CHUNK_USERS], excluded[s : s + SCORE_CHUNK_USERS]) for s in starts]
        blocks = [block(chunk, chunk_excluded, k, popularity_boost) for chunk, chunk_excluded in chunks]
        if not blocks:
            width = min(k, self.n_items)
            return np.empty((0, width), dtype=np.int64), np.empty((0, width), dtype=np.float32)
        return np.concatenate([b[0] for b in blocks]), np.concatenate([b[1] for b in blocks])

    def searches_index(self, exact: bool | None = None) -> bool:
        """Whether top-N searches the approximate index (see :meth:`Retrieval.use_index`)."""
        return self.retrieval.use_index(self.model, self.n_items, exact)

    def popularity_prior(self, boost: float) -> np.ndarray:
        """``boost * log(1 + n_i)`` for every item (n_items,), float32: see :meth:`top_n`."""
        prior: np.ndarray = (boost * np.log1p(self.item_popularity)).astype(np.float32)
        return prior

    def _top_block(
        self, users: np.ndarray, excluded: sparse.csr_matrix, k: int, boost: float = 0.0
    ) -> tuple[np.ndarray, np.ndarray]:
        scores = self.score_users(users)
        if boost:
            scores += torch.from_numpy(self.popularity_prior(boost))
        exclude(scores, np.arange(len(users)), excluded)
        return top_k(scores, k)

    def _top_block_indexed(
        self, users: np.ndarray, excluded: sparse.csr_matrix, k: int, boost: float = 0.0
    ) -> tuple[np.ndarray, np.ndarray]:
        """The index's candidates (found without the boost), rescored by the model plus the boost."""
        found, _ = top_n_with_index(
            self.retrieval.index(self.model, self.seen), mips_queries(self.model, users), excluded, k
        )
        scores = np.full(found.shape, -np.inf, dtype=np.float32)
        rows = np.broadcast_to(users[:, None], found.shape)
        scores[found >= 0] = self.predict_indices(rows[found >= 0], found[found >= 0])
        if boost:
            scores[found >= 0] += self.popularity_prior(boost)[found[found >= 0]]
        order = np.argsort(-scores, axis=1, kind="stable")  # the model's order; -1 slots (-inf) stay last
        return np.take_along_axis(found, order, axis=1), np.take_along_axis(scores, order, axis=1)

    def recommend(
        self, user: object, k: int = 10, exact: bool | None = None, popularity_boost: float = 0.0
    ) -> list[ItemScore]:
        """The ``k`` best items the user has not rated (fewer only when fewer remain, or, searching
        the approximate index, when it finds fewer); ``popularity_boost`` as in :meth:`top_n`."""
        users = np.array([self.user_ids.index(user)])
        items, scores = self.top_n(users, k, exact=exact, popularity_boost=popularity_boost)
        return [self._item_score(i, s) for i, s in zip(items[0], scores[0], strict=True) if i >= 0]

    def similar_items(self, item: object, k: int = 10) -> list[ItemScore]:
        """The ``k`` items whose factor vectors have the highest cosine similarity to ``item``'s."""
        _check_k(k)
        index = self.item_index(item)
        factors = self.item_factors()
        if factors is None:
            raise ValueError(f"a {self.model_config.kind!r} model has no item factors to compare")
        unit = factors / np.maximum(np.linalg.norm(factors, axis=1, keepdims=True), 1e-12)
        cosine = torch.from_numpy(unit @ unit[index])[None, :]
        cosine[0, index] = -torch.inf
        items, scores = top_k(cosine, k)
        return [self._item_score(i, s) for i, s in zip(items[0], scores[0], strict=True) if i >= 0]

    def item_factors(self) -> np.ndarray | None:
        """The item embedding table (n_items, factors), the computed item vectors of a model
        without one (``item_embedding()``: ``autorec``), or None."""
        table = getattr(self.model, "item_factors", None)
        if isinstance(table, nn.Embedding):
            return table.weight.detach().numpy().copy()
        computed = getattr(self.model, "item_embedding", None)
        if callable(computed):
            with torch.inference_mode():
                return np.asarray(computed(), dtype=np.float32).copy()
        return None

    # --- items by id or title ---------------------------------------------------------
    def item_index(self, item: object) -> int:
        """Index of an item given by raw id or, failing that, by exact title."""
        if item in self.item_ids:
            return self.item_ids.index(item)
        titles = self.titles()
        if titles is not None:
            matches = np.flatnonzero(titles == str(item))
            if len(matches):
                return int(matches[0])
            raise UnknownIdError("item", item, difflib.get_close_matches(str(item), list(titles), n=5, cutoff=0.5))
        raise UnknownIdError("item", item)

    def titles(self) -> np.ndarray | None:
        """Each item's title; items without one (not in the items file) are titled by raw id."""
        if self.item_table is None or "title" not in self.item_table.columns:
            return None
        column = self.item_table["title"]
        missing = column.isna().to_numpy()
        titles = column.astype(str).to_numpy(dtype=object)
        titles[missing] = np.asarray(self.item_ids.ids, dtype=object)[missing]
        return titles

    def title(self, index: int) -> str:
        titles = self.titles()
        return str(titles[index]) if titles is not None else self.item_ids.raw(index)

    def _item_score(self, index: int, score: float) -> ItemScore:
        return ItemScore(self.item_ids.raw(int(index)), int(index), self.title(int(index)), float(score))

    def items_of(self, user: object) -> np.ndarray:
        """Indices of the items the user rated in training."""
        row = self.user_ids.index(user)
        return np.asarray(self.seen.indices[self.seen.indptr[row] : self.seen.indptr[row + 1]])


def _check_k(k: int) -> None:
    if not 1 <= k <= MAX_K:
        raise ValueError(f"k must be between 1 and {MAX_K}, got {k}")
