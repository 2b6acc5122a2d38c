"""AutoRec (item-based): each item's column of ratings, encoded, decoded for every user."""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from embrec.models.common import bias, csr_bags, inverse_sigmoid_range, row_penalty, sigmoid_range

# scoring every (user, item) cell by one matrix product beats per-pair products (memory-bound)
# when the batch holds at least 1/DENSE_RATIO of the cells
DENSE_RATIO = 20


class AutoRec(nn.Module):
    """``y = lo + (hi - lo) * sigmoid(g + b_u + w_u . h_i)``, ``h_i = sigmoid(c + sum_{v in R(i)} r_vi e_v)``.

    I-AutoRec (Sedhain et al. 2015) written as a factor model: the item vector ``h_i`` is not a
    free embedding but the encoding of the item's column of ratings, the users who rated it
    (``R(i)``) each adding their encoder row ``e_v`` (``rating_encoder``) times their rating;
    ``w_u`` (``user_decoder``) and ``b_u`` decode it for user ``u``. Ratings enter as they are
    (an unrated cell is 0, below every star), so who rated an item tells as well as how: the
    implicit signal SVD++ adds by hand. An item's vector moves with every rating it gets,
    without retraining; an item without ratings sits at ``sigmoid(c)``. A user's own rows, the
    ones fold-in solves for a newcomer, are ``user_decoder`` and ``user_bias``; the encoder rows
    are named apart (not ``user_*``) because they shape items, not the user's predictions.

    The ratings are set once by :meth:`set_ratings` (``train_model`` calls it) and kept as
    buffers, a CSR of the item-user matrix (``rated_offsets`` (n_items + 1,), ``raters``,
    ``values``), so a saved model scores exactly as the trained one. Encoding is an
    ``embedding_bag`` over those lists: a step costs O(ratings x hidden), and scoring every item
    for a user one matrix product, as for ``dot``. It learns best from large batches (a whole
    MovieLens 100k per step: see ``ModelSpec.train_defaults``).
    """

    rated_offsets: torch.Tensor
    raters: torch.Tensor
    values: torch.Tensor

    def __init__(self, n_users: int, n_items: int, hidden: int, y_range: tuple[float, float]):
        super().__init__()
        self.y_range = y_range
        self.rating_encoder = nn.Embedding(n_users, hidden)
        self.user_decoder = nn.Embedding(n_users, hidden)
        for table in (self.rating_encoder, self.user_decoder):  # uniform(+-1/sqrt(fan-in)), as nn.Linear
            nn.init.uniform_(table.weight, -(hidden**-0.5), hidden**-0.5)
        self.user_bias = bias(n_users)
        self.hidden_bias = nn.Parameter(torch.zeros(hidden))
        self.global_bias = nn.Parameter(torch.zeros(()))
        self.register_buffer("rated_offsets", torch.zeros(n_items + 1, dtype=torch.long))
        self.register_buffer("raters", torch.zeros(0, dtype=torch.long))
        self.register_buffer("values", torch.zeros(0))
        self._scored: tuple[tuple[tuple[torch.Tensor, int, int], ...], torch.Tensor] | None = None

    def set_ratings(
        self, users: torch.Tensor | np.ndarray, items: torch.Tensor | np.ndarray, ratings: torch.Tensor | np.ndarray
    ) -> None:
        """Store every item's raters and ratings from the training ratings; start ``g`` at their mean."""
        ratings_t = self._store(users, items, ratings)
        mean = float(ratings_t.mean()) if len(ratings_t) else float(sum(self.y_range) / 2)
        with torch.no_grad():  # start at the mean rating: large batches mean few steps
            self.global_bias.fill_(inverse_sigmoid_range(mean, self.y_range))

    def set_item_ratings(self, item: int, users: np.ndarray, ratings: np.ndarray) -> None:
        """Replace one item's ratings, every weight kept: its vector is the encoding of the new
        ones at once, which is how AutoRec folds in an item. Raters appended after training
        have no encoder row and are left out."""
        n_items = len(self.rated_offsets) - 1
        if not 0 <= item < n_items:
            raise ValueError(f"item index {item} out of range for {n_items} items")
        counts = self.rated_offsets[1:] - self.rated_offsets[:-1]
        items = torch.repeat_interleave(torch.arange(n_items), counts)
        keep = items != item
        users_t = torch.as_tensor(np.asarray(users), dtype=torch.long)
        known = users_t < self.rating_encoder.num_embeddings
        self._store(
            torch.cat([self.raters[keep], users_t[known]]),
            torch.cat([items[keep], torch.full((int(known.sum()),), item, dtype=torch.long)]),
            torch.cat([self.values[keep], torch.as_tensor(np.asarray(ratings), dtype=torch.float32)[known]]),
        )

    def _store(
        self, users: torch.Tensor | np.ndarray, items: torch.Tensor | np.ndarray, ratings: torch.Tensor | np.ndarray
    ) -> torch.Tensor:
        users_t = torch.as_tensor(np.asarray(users), dtype=torch.long)
        items_t = torch.as_tensor(np.asarray(items), dtype=torch.long)
        ratings_t = torch.as_tensor(np.asarray(ratings), dtype=torch.float32)
        n_users, n_items = self.rating_encoder.num_embeddings, len(self.rated_offsets) - 1
        if not len(users_t) == len(items_t) == len(ratings_t):
            raise ValueError("users, items and ratings must have equal lengths")
        if len(users_t) and bool(
            users_t.min() < 0 or users_t.max() >= n_users or items_t.min() < 0 or items_t.max() >= n_items
        ):
            raise ValueError(f"indices out of range for {n_users} users and {n_items} items")
        order = torch.argsort(items_t * n_users + users_t, stable=True)
        counts = torch.bincount(items_t, minlength=n_items)
        self.rated_offsets = torch.cat([torch.zeros(1, dtype=torch.long), counts.cumsum(0)])
        self.raters, self.values = users_t[order], ratings_t[order]
        return ratings_t

    def _load_from_state_dict(self, state_dict: dict[str, Any], prefix: str, *args: Any, **kwargs: Any) -> None:
        # the rating lists' length depends on the training data, the encoder keeps the training
        # users' rows when users are appended later (fold-in), and appended items have no ratings
        for name in ("raters", "values"):
            stored = state_dict.get(prefix + name)
            if isinstance(stored, torch.Tensor):
                setattr(self, name, torch.zeros_like(stored))
        offsets = state_dict.get(prefix + "rated_offsets")
        if isinstance(offsets, torch.Tensor) and len(offsets) < len(self.rated_offsets):  # items appended
            extra = len(self.rated_offsets) - len(offsets)
            state_dict[prefix + "rated_offsets"] = torch.cat([offsets, offsets[-1:].expand(extra)])
        encoder = state_dict.get(prefix + "rating_encoder.weight")
        if isinstance(encoder, torch.Tensor) and encoder.shape != self.rating_encoder.weight.shape:
            self.rating_encoder = nn.Embedding(*encoder.shape)
        super()._load_from_state_dict(state_dict, prefix, *args, **kwargs)

    def item_vectors(self, items: torch.Tensor) -> torch.Tensor:
        """``h_i`` for each item: (len(items), hidden)."""
        positions, bags = csr_bags(self.rated_offsets, items)
        raters, values = self.raters[positions], self.values[positions]
        encoded = F.embedding_bag(raters, self.rating_encoder.weight, bags, mode="sum", per_sample_weights=values)
        return torch.sigmoid(encoded + self.hidden_bias)

    def all_item_vectors(self) -> torch.Tensor:
        """``h_i`` of every item: (n_items, hidden)."""
        return self.item_vectors(torch.arange(len(self.rated_offsets) - 1, device=self.rated_offsets.device))

    def item_embedding(self) -> torch.Tensor:
        """Every item's ``h_i`` centred on their mean: (n_items, hidden). Sigmoid outputs share a
        large common part, which would make every pair of items look alike to a cosine."""
        vectors = self.all_item_vectors()
        return vectors - vectors.mean(dim=0)

    def penalty(
        self, users: torch.Tensor, items: torch.Tensor, user_weight: torch.Tensor, item_weight: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Per-example L2 over the batch's users' encoder and decoder rows and biases (there is no
        item table: an item is its ratings)."""
        squares = self.rating_encoder(users).pow(2).sum(dim=1) + self.user_decoder(users).pow(2).sum(dim=1)
        no_item = torch.zeros_like(squares)
        return row_penalty(squares, no_item, self.user_bias(users)[:, 0], no_item, user_weight, item_weight)

    def forward(self, users: torch.Tensor, items: torch.Tensor) -> torch.Tensor:
        n_users, n_items = self.user_decoder.num_embeddings, len(self.rated_offsets) - 1
        if n_users * n_items <= DENSE_RATIO * len(users):  # a large batch: one matrix product, then pick
            logit = (self.user_decoder.weight @ self.all_item_vectors().T)[users, items]
        else:
            unique, inverse = torch.unique(items, return_inverse=True)  # each item encoded once
            logit = (self.user_decoder(users) * self.item_vectors(unique)[inverse]).sum(dim=1)
        return sigmoid_range(logit + self.user_bias(users)[:, 0] + self.global_bias, self.y_range)

    def score_all(self, users: torch.Tensor) -> torch.Tensor:
        """Predictions of every item for each user: (batch, n_items)."""
        logits = self.user_decoder(users) @ self._scoring_vectors().T + self.user_bias(users) + self.global_bias
        return sigmoid_range(logits, self.y_range)

    def _scoring_vectors(self) -> torch.Tensor:
        """:meth:`all_item_vectors`, encoded once and reused while nothing they are made of changes.

        Scoring a list encodes every item (about 11 ms on MovieLens 100k), the one cost a served
        ``dot`` model does not pay. Outside autograd the result is kept with what it was made of:
        the encoder, the hidden bias and the rating lists, each by identity, version counter (any
        in-place change: an optimizer step, ``fill_untrained``, ``load_state_dict``) and storage
        (``.data`` swaps). New rating lists (``set_ratings``, ``set_item_ratings``), a replaced
        encoder (appended users) or swapped-in tensors (``functional_call``) are new objects. Holding
        the sources keeps their ids from being reused by new tensors while the entry lives.
        """
        if torch.is_grad_enabled():
            return self.all_item_vectors()
        sources = (self.rating_encoder.weight, self.hidden_bias, self.rated_offsets, self.raters, self.values)
        try:
            key = tuple((t, t._version, t.data_ptr()) for t in sources)
        except RuntimeError:  # inference tensors keep no version counter: nothing to trust
            return self.all_item_vectors()
        cached = self._scored
        if cached is not None and all(a[0] is b[0] and a[1:] == b[1:] for a, b in zip(cached[0], key, strict=True)):
            return cached[1]
        vectors = self.all_item_vectors()
        self._scored = (key, vectors)
        return vectors
