"""Wide & Deep (Cheng et al., 2016) over ids and side features, with a features-only mode.

The features of every user and item are held as integer buffers (``user_features``,
``item_features``: one row per index, the local ids of each field side by side, 0 = unknown,
-1 = padding of multi-hot fields), so the model stays a map from index tensors to scores and
its directory round-trips with the weights. The field layout comes from the ``features`` JSON
of the model config (:meth:`FeatureLayout.from_json`).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import torch
from torch import nn

from embrec.models.common import bias, embedding, row_penalty, sigmoid_range

Side = Literal["user", "item"]
PAIRS_PER_CHUNK = 1 << 16


@dataclass(frozen=True)
class Field:
    """One feature as the model sees it: ``size`` local ids, ``width`` of them per row."""

    name: str
    side: Side
    size: int
    width: int

    @property
    def dim(self) -> int:
        """Entity-embedding width: fastai's rule ``round(1.6 * size ** 0.56)``."""
        return max(1, round(1.6 * math.pow(self.size, 0.56)))


@dataclass(frozen=True)
class FeatureLayout:
    """The fields of each side, in the column order of the feature rows, and the crosses."""

    fields: tuple[Field, ...]
    crosses: tuple[tuple[str, str], ...] = ()

    @classmethod
    def from_json(cls, data: Mapping[str, Any] | None) -> FeatureLayout:
        """Read ``features[*].{name, side, size, width}`` and ``crosses[*].{left, right}`` of a
        fitted side-features JSON (``embrec.data.side_features.SideFeatures.to_json``)."""
        if not data:
            raise ValueError("widedeep needs side features: set ModelConfig.features (e.g. --features movielens)")
        fields = []
        for f in data.get("features", []):
            if f.get("size") is None or f.get("width") is None:
                raise ValueError(f"feature {f.get('name')!r} is not fitted (no size/width)")
            fields.append(Field(str(f["name"]), f["side"], int(f["size"]), int(f["width"])))
        user_first = sorted(fields, key=lambda f: f.side != "user")
        crosses = tuple((str(c["left"]), str(c["right"])) for c in data.get("crosses", []))
        return cls(tuple(user_first), crosses)

    def of(self, side: Side) -> tuple[Field, ...]:
        return tuple(f for f in self.fields if f.side == side)

    def width(self, side: Side) -> int:
        return sum(f.width for f in self.of(side))

    def index(self, name: str) -> int:
        names = [f.name for f in self.fields]
        if name not in names:
            raise ValueError(f"no feature {name!r}; the features are {', '.join(names)}")
        return names.index(name)


class WideAndDeep(nn.Module):
    """``y = lo + (hi - lo) * sigmoid(wide + factors + deep)``.

    - wide: ``g + b_u + b_i + sum_f w[f] + sum_(a,b) w[a x b]``, a linear model over the one-hot
      ids, every active feature id ``f`` of the user and the item (multi-hot: each token) and
      every pair of ids of each crossed pair of features (gender x genre);
    - factors: ``(p_u + U e_u) . (q_i + V e_i)``, the id factors' dot product where each side's
      vector is its id's plus a linear map of its concatenated entity embeddings ``e`` (as in
      LightFM): a rarely rated item is pulled toward the vector of its genres and years, and a new
      one starts there;
    - deep: ``MLP([p_u ; e_u ; q_i ; e_i])`` where ``e_f`` is the entity embedding of field ``f``
      (the mean over a multi-hot row's tokens) and ``e_u``/``e_i`` a side's fields side by side.
      The MLP reads the id vectors without training them (stop-gradient): trained through the
      MLP too, they overfit (u1.base validation RMSE 0.9048 against 0.8994, without dropouts).

    Features only: a side whose id is absent (a brand-new user or item) has ``p = 0`` (or
    ``q = 0``) and ``b = 0``, so it is scored from its features alone. For a new item the user's
    vector meets the item's features (tastes against genres); for a new user ``q_i`` is left out
    of the deep part, because an item vector read against demographics alone is a per-item
    effect fitted on few examples, where ``b_i`` already holds the item's mean effect from all of
    them. Training drops each example's user id and, independently, item id with probability
    ``id_dropout`` (as DropoutNet does), and each field with probability ``field_dropout`` (to
    the unknown slot), so that the features-only path and the unknown slots are trained and the
    model cannot single users out by their combination of attributes. The defaults (5% and 30%)
    were chosen on a validation split of u1.base: more id dropout costs warm accuracy (10%:
    +0.003 RMSE), less leaves the features-only path untrained on data where ids explain it all.
    """

    user_features: torch.Tensor
    item_features: torch.Tensor
    unknown_user_row: torch.Tensor
    unknown_item_row: torch.Tensor

    def __init__(
        self,
        n_users: int,
        n_items: int,
        factors: int,
        y_range: tuple[float, float],
        layout: FeatureLayout,
        layers: Sequence[int] = (32,),
        dropout: float = 0.2,
        id_dropout: float = 0.05,
        field_dropout: float = 0.3,
    ):
        super().__init__()
        self.y_range, self.layout, self.id_dropout, self.field_dropout = y_range, layout, id_dropout, field_dropout
        self.n_users, self.n_items = n_users, n_items
        self.user_factors = embedding(n_users, factors)
        self.item_factors = embedding(n_items, factors)
        self.user_bias = bias(n_users)
        self.item_bias = bias(n_items)
        self.global_bias = nn.Parameter(torch.zeros(()))
        self.feature_embeddings = nn.ModuleList(embedding(f.size, f.dim) for f in layout.fields)
        self.wide = nn.Embedding(sum(f.size for f in layout.fields), 1)
        self._offsets = [sum(f.size for f in layout.fields[:k]) for k in range(len(layout.fields))]
        index = {f.name: f for f in layout.fields}
        self.cross_wide = nn.Embedding(max(1, sum(index[a].size * index[b].size for a, b in layout.crosses)), 1)
        nn.init.zeros_(self.wide.weight)
        nn.init.zeros_(self.cross_wide.weight)
        self.user_projection = nn.Linear(sum(f.dim for f in layout.of("user")), factors, bias=False)
        self.item_projection = nn.Linear(sum(f.dim for f in layout.of("item")), factors, bias=False)
        nn.init.zeros_(self.user_projection.weight)
        nn.init.zeros_(self.item_projection.weight)
        blocks: list[nn.Module] = []
        width = 2 * factors + sum(f.dim for f in layout.fields)
        for hidden in layers:
            blocks += [nn.Linear(width, hidden), nn.ReLU(), nn.Dropout(dropout)]
            width = hidden
        blocks.append(nn.Linear(width, 1))
        self.mlp = nn.Sequential(*blocks)
        self.register_buffer("unknown_user_row", _unknown_rows(1, layout.of("user"))[0], persistent=False)
        self.register_buffer("unknown_item_row", _unknown_rows(1, layout.of("item"))[0], persistent=False)
        self.register_buffer("user_features", _unknown_rows(n_users, layout.of("user")))
        self.register_buffer("item_features", _unknown_rows(n_items, layout.of("item")))

    # --- features ----------------------------------------------------------------------
    def set_features(self, user_features: torch.Tensor | np.ndarray, item_features: torch.Tensor | np.ndarray) -> None:
        """Store the encoded feature rows of every user and item (shapes as the buffers)."""
        for name, rows in (("user_features", user_features), ("item_features", item_features)):
            tensor = torch.as_tensor(rows, dtype=torch.long)
            current = getattr(self, name)
            if tensor.shape != current.shape:
                raise ValueError(f"{name} must have shape {tuple(current.shape)}, got {tuple(tensor.shape)}")
            current.copy_(tensor)

    def field_embedding(self, name: str) -> torch.Tensor:
        """The entity-embedding table of one field: (size, dim), row 0 the unknown slot."""
        return self._table(self.layout.index(name)).weight.detach()

    # --- prediction ----------------------------------------------------------------------
    def forward(self, users: torch.Tensor, items: torch.Tensor) -> torch.Tensor:
        user_rows, item_rows = self.user_features[users], self.item_features[items]
        keep_user = keep_item = None
        if self.training and self.id_dropout > 0:
            keep_user = (torch.rand(len(users), device=users.device) >= self.id_dropout).float()
            keep_item = (torch.rand(len(items), device=items.device) >= self.id_dropout).float()
        if self.training and self.field_dropout > 0:
            user_rows, item_rows = self._drop_fields(user_rows, "user"), self._drop_fields(item_rows, "item")
        user = self._side("user", users, user_rows, keep_user)
        item_keep = keep_item if keep_user is None else keep_user if keep_item is None else keep_item * keep_user
        item = self._side("item", items, item_rows, keep_item, vector_keep=item_keep)
        return sigmoid_range(self._pairs(user, item), self.y_range)

    def predict_features(
        self,
        users: torch.Tensor | None,
        items: torch.Tensor | None,
        user_rows: torch.Tensor | None = None,
        item_rows: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """Predictions (batch,) from feature rows, with or without ids.

        A side given by id (``users``/``items``) uses its stored rows unless rows are passed;
        a side given by rows only (id ``None``) is scored from its features alone.
        """
        user, item = self._sides(users, items, user_rows, item_rows)
        return sigmoid_range(self._pairs(user, item), self.y_range)

    def score_all(self, users: torch.Tensor) -> torch.Tensor:
        """(batch, n_items): every item for each user."""
        return self._grid(*self._sides(users, torch.arange(self.n_items, device=users.device)))

    def score_new_users(self, user_rows: torch.Tensor) -> torch.Tensor:
        """(batch, n_items) for users known only by their feature rows (batch, user width)."""
        items = torch.arange(self.n_items, device=user_rows.device)
        return self._grid(*self._sides(None, items, user_rows=user_rows))

    def score_new_items(self, item_rows: torch.Tensor) -> torch.Tensor:
        """(batch, n_users) for items known only by their feature rows (batch, item width)."""
        users = torch.arange(self.n_users, device=item_rows.device)
        return self._grid(*self._sides(users, None, item_rows=item_rows)).T

    def penalty(
        self, users: torch.Tensor, items: torch.Tensor, user_weight: torch.Tensor, item_weight: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Per-example L2, weighted per row: (the squared norms of the id rows and pooled entity
        embeddings a batch uses, the squared id biases), batch means. The weight matrices of the
        MLP and of the projections ``U``, ``V`` are decayed by the optimiser
        (``TrainConfig.mlp_weight_decay``)."""
        user = self._side("user", users, self.user_features[users])
        item = self._side("item", items, self.item_features[items])
        f = self.user_factors.embedding_dim
        user_squares = self.user_factors(users).pow(2).sum(dim=1) + user.vector[:, f:].pow(2).sum(dim=1)
        item_squares = self.item_factors(items).pow(2).sum(dim=1) + item.vector[:, f:].pow(2).sum(dim=1)
        user_bias, item_bias = self.user_bias(users)[:, 0], self.item_bias(items)[:, 0]
        return row_penalty(user_squares, item_squares, user_bias, item_bias, user_weight, item_weight)

    # --- the parts -----------------------------------------------------------------------
    def _sides(
        self,
        users: torch.Tensor | None,
        items: torch.Tensor | None,
        user_rows: torch.Tensor | None = None,
        item_rows: torch.Tensor | None = None,
    ) -> tuple[_Side, _Side]:
        """Both sides from ids and/or rows; ``q_i`` leaves the deep part when the user has no id."""
        if user_rows is None:
            if users is None:
                raise ValueError("give users or user_rows")
            user_rows = self.user_features[users]
        if item_rows is None:
            if items is None:
                raise ValueError("give items or item_rows")
            item_rows = self.item_features[items]
        no_vector = torch.zeros(len(item_rows), device=item_rows.device) if users is None else None
        return self._side("user", users, user_rows), self._side("item", items, item_rows, vector_keep=no_vector)

    def _side(
        self,
        side: Side,
        ids: torch.Tensor | None,
        rows: torch.Tensor,
        keep: torch.Tensor | None = None,
        vector_keep: torch.Tensor | None = None,
    ) -> _Side:
        """One side's deep input ``[id vector ; entity embeddings]`` and its linear terms.

        ``keep`` scales the id's vector and bias (0 = id dropped), ``vector_keep`` the vector
        alone; an absent id (``None``) has neither.
        """
        factors, biases = (self.user_factors, self.user_bias) if side == "user" else (self.item_factors, self.item_bias)
        projection = self.user_projection if side == "user" else self.item_projection
        n = len(rows)
        if ids is None:
            vector, linear = (
                torch.zeros(n, factors.embedding_dim, device=rows.device),
                torch.zeros(n, device=rows.device),
            )
        else:
            vector, linear = factors(ids), biases(ids)[:, 0]
            if keep is not None:
                vector, linear = vector * keep[:, None], linear * keep
        fields = self._split(rows, side)
        entities = []
        for f in self.layout.of(side):
            k = self.layout.index(f.name)
            ids_f = fields[f.name]
            entities.append(self._pool(k, ids_f))
            weights = self.wide(ids_f.clamp_min(0) + self._offsets[k])[..., 0] * (ids_f >= 0)  # (n, width)
            linear = linear + weights.sum(dim=1)
        entity = torch.cat(entities, dim=1)
        factor = vector + projection(entity)  # (n, factors): the id's vector plus the features' share
        # the MLP reads the id vector but does not train it: with the gradient it overfits the ids
        deep_ids = vector.detach() if vector_keep is None else vector.detach() * vector_keep[:, None]
        return _Side(torch.cat([deep_ids, entity], dim=1), factor, linear, fields)

    def _pairs(self, user: _Side, item: _Side) -> torch.Tensor:
        """Logits (batch,) of paired rows: user row j with item row j."""
        deep: torch.Tensor = self.mlp(torch.cat([user.vector, item.vector], dim=1))[:, 0]
        cross = self._crosses(user.fields, item.fields)
        interaction = (user.factor * item.factor).sum(dim=1)  # (p_u + U e_u) . (q_i + V e_i)
        return self.global_bias + user.linear + item.linear + cross + interaction + deep

    def _grid(self, user: _Side, item: _Side) -> torch.Tensor:
        """Predictions (n_users, n_items) of every user row with every item row, in chunks.

        The first layer is split, ``W [x_u ; x_i] = W_u x_u + W_i x_i``, so each side's share is
        computed once rather than once per pair.
        """
        first = self.mlp[0]
        assert isinstance(first, nn.Linear)
        width = user.vector.shape[1]
        from_user = user.vector @ first.weight[:, :width].T  # (n_users, hidden)
        from_item = item.vector @ first.weight[:, width:].T + first.bias  # (n_items, hidden)
        item_fields = {name: rows[None] for name, rows in item.fields.items()}  # (1, n_items, width)
        per_chunk = max(1, PAIRS_PER_CHUNK // max(len(from_item), 1))
        parts = []
        for start in range(0, len(from_user), per_chunk):
            span = slice(start, start + per_chunk)
            hidden = from_user[span, None, :] + from_item[None, :, :]  # (chunk, n_items, hidden)
            deep = self.mlp[1:](hidden)[..., 0]
            user_fields = {name: rows[span, None] for name, rows in user.fields.items()}  # (chunk, 1, width)
            cross = self._crosses(user_fields, item_fields)
            linear = user.linear[span, None] + item.linear[None, :]
            interaction = user.factor[span] @ item.factor.T  # (chunk, n_items)
            parts.append(sigmoid_range(self.global_bias + linear + cross + interaction + deep, self.y_range))
        return torch.cat(parts) if parts else torch.empty(0, len(from_item), device=from_item.device)

    def _drop_fields(self, rows: torch.Tensor, side: Side) -> torch.Tensor:
        """Rows with each field independently set to unknown with probability ``field_dropout``."""
        fields = self.layout.of(side)
        if not fields:
            return rows
        dropped = torch.rand(len(rows), len(fields), device=rows.device) < self.field_dropout  # (batch, fields)
        widths = torch.tensor([f.width for f in fields], device=rows.device)
        columns = dropped.repeat_interleave(widths, dim=1)  # (batch, width)
        unknown = self.unknown_user_row if side == "user" else self.unknown_item_row
        return torch.where(columns, unknown, rows)

    def _split(self, rows: torch.Tensor, side: Side) -> dict[str, torch.Tensor]:
        """Each field's columns of the rows: name -> (..., width) local ids."""
        out, start = {}, 0
        for f in self.layout.of(side):
            out[f.name] = rows[..., start : start + f.width]
            start += f.width
        return out

    def _crosses(self, user_fields: dict[str, torch.Tensor], item_fields: dict[str, torch.Tensor]) -> torch.Tensor:
        """Sum of the crossed weights ``w[a x b]`` over each cross's pairs of ids; the fields'
        leading dimensions broadcast ((batch,) with (batch,), or (chunk, 1) with (1, n_items))."""
        fields = user_fields | item_fields
        total: torch.Tensor = torch.zeros((), device=self.global_bias.device)
        offset = 0
        for left, right in self.layout.crosses:
            a, b = fields[left], fields[right]  # (..., wa), (..., wb)
            size = self.layout.fields[self.layout.index(right)].size
            ids = a.clamp_min(0)[..., :, None] * size + b.clamp_min(0)[..., None, :]  # (..., wa, wb)
            valid = (a >= 0)[..., :, None] & (b >= 0)[..., None, :]
            total = total + (self.cross_wide(ids + offset)[..., 0] * valid).sum(dim=(-2, -1))
            offset += self.layout.fields[self.layout.index(left)].size * size
        return total

    def _pool(self, k: int, ids: torch.Tensor) -> torch.Tensor:
        """Mean entity embedding of a row's valid ids: (batch, dim)."""
        valid = (ids >= 0).unsqueeze(-1)  # (batch, width, 1)
        vectors: torch.Tensor = self._table(k)(ids.clamp_min(0)) * valid  # (batch, width, dim)
        return vectors.sum(dim=-2) / valid.sum(dim=-2).clamp_min(1)

    def _table(self, k: int) -> nn.Embedding:
        table = self.feature_embeddings[k]
        assert isinstance(table, nn.Embedding)
        return table


@dataclass(frozen=True)
class _Side:
    """One side of a batch: its deep input, its factor, its linear (wide) terms and its field ids."""

    vector: torch.Tensor  # (n, factors + sum of the side's entity dims): the MLP's share of the input
    factor: torch.Tensor  # (n, factors): id vector plus projected entity embeddings
    linear: torch.Tensor  # (n,) id bias + wide weights of the side's feature ids
    fields: dict[str, torch.Tensor]  # name -> (n, width) local ids


def _unknown_rows(n: int, fields: Sequence[Field]) -> torch.Tensor:
    """Rows where every field is unknown: id 0 in each field's first slot, padding after it."""
    row = []
    for f in fields:
        row += [0] + [-1] * (f.width - 1)
    return torch.tensor(row, dtype=torch.long).repeat(n, 1).reshape(n, len(row))
