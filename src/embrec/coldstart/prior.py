"""The population prior of one side's rows: where a new user (or item) starts, and how far it may move.

A model's *own rows* for a side are the rows of its parameters named ``user_*`` (``item_*``) whose
first dimension is the number of users (items): for ``dot`` the factor vector ``p_u`` and the bias
``b_u``; for ``nn`` the embedding; for ``bias`` the bias. Flattened in the sorted order of the
parameter names they form one vector ``w`` per user (the :class:`Layout`).

The prior is the Gaussian ``w ~ N(m, S)`` fitted to the rows of the *trained* users (those with at
least one training rating): ``m`` their mean, ``S`` their covariance plus ``RIDGE * I``
(empirical Bayes). It regularises fold-in towards the average user, and its covariance is what the
questionnaire shrinks.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
import torch
from torch import nn

from embrec.models import build_model
from embrec.recommend.recommender import Recommender

Side = Literal["user", "item"]
RIDGE = 1e-4


@dataclass(frozen=True)
class Layout:
    """Which parameters hold one side's rows, and their row shapes, in flattening order."""

    names: tuple[str, ...]
    shapes: tuple[tuple[int, ...], ...]

    @property
    def size(self) -> int:
        return int(sum(int(np.prod(s)) for s in self.shapes))

    def split(self, flat: np.ndarray) -> dict[str, np.ndarray]:
        """A flat vector ``(size,)`` as rows by parameter name."""
        rows, start = {}, 0
        for name, shape in zip(self.names, self.shapes, strict=True):
            width = int(np.prod(shape))
            rows[name] = flat[start : start + width].reshape(shape).astype(np.float32)
            start += width
        return rows

    def tables(self, flat: torch.Tensor) -> dict[str, torch.Tensor]:
        """A flat tensor ``(size,)`` as one-row tables ``(1, *shape)`` by name (differentiable)."""
        tables, start = {}, 0
        for name, shape in zip(self.names, self.shapes, strict=True):
            width = int(np.prod(shape))
            tables[name] = flat[start : start + width].reshape((1, *shape))
            start += width
        return tables

    def offset(self, name: str) -> int:
        """Start of parameter ``name`` in the flat vector."""
        position = self.names.index(name)
        return int(sum(int(np.prod(s)) for s in self.shapes[:position]))


@dataclass(frozen=True)
class Prior:
    """``w ~ N(mean, covariance)`` over the flattened rows of one side (see the module docstring)."""

    layout: Layout
    mean: np.ndarray  # (d,) float64
    covariance: np.ndarray  # (d, d) float64
    precision: np.ndarray  # (d, d) float64, the inverse of the covariance


def side_size(recommender: Recommender, side: Side) -> int:
    return recommender.n_users if side == "user" else recommender.n_items


def layout_of(model: nn.Module, side: Side, n: int) -> Layout:
    """The side's own rows: floating-point tensors named ``{side}_*`` with ``n`` rows.

    Integer tensors with a row per user (a feature-index buffer, say) are attributes, not weights.
    """
    state = model.state_dict()
    names = tuple(
        sorted(
            k
            for k, v in state.items()
            if k.startswith(f"{side}_") and v.ndim >= 1 and v.shape[0] == n and v.is_floating_point()
        )
    )
    return Layout(names, tuple(tuple(int(d) for d in state[k].shape[1:]) for k in names))


def default_attribute_rows(recommender: Recommender, side: Side) -> dict[str, np.ndarray]:
    """Rows a freshly built model holds in the side's per-entity non-float tensors (attribute
    buffers such as a ``widedeep`` model's encoded features: "all unknown"); ``{}`` for most models."""
    n = side_size(recommender, side)
    state = recommender.model.state_dict()
    names = [
        k
        for k, v in state.items()
        if k.startswith(f"{side}_") and v.ndim >= 1 and v.shape[0] == n and not v.is_floating_point()
    ]
    if not names:
        return {}
    fresh = build_model(1, 1, recommender.model_config).state_dict()
    return {name: fresh[name][0].numpy().copy() for name in names}


def flat_rows(model: nn.Module, layout: Layout, rows: np.ndarray) -> np.ndarray:
    """The flattened rows ``(len(rows), size)`` of the given indices, float64."""
    state = model.state_dict()
    with torch.no_grad():
        parts = [state[name][torch.as_tensor(rows, dtype=torch.long)].reshape(len(rows), -1) for name in layout.names]
    if not parts:
        return np.zeros((len(rows), 0))
    return torch.cat(parts, dim=1).double().numpy()


def trained_rows(recommender: Recommender, side: Side) -> np.ndarray:
    """Indices with at least one training interaction (all indices when none has any)."""
    seen = recommender.seen.tocsr()
    counts = np.diff(seen.indptr) if side == "user" else np.bincount(seen.indices, minlength=recommender.n_items)
    rows = np.flatnonzero(counts > 0)
    return rows if len(rows) else np.arange(side_size(recommender, side))


def population_prior(recommender: Recommender, side: Side = "user") -> Prior:
    """The Gaussian fitted to the trained rows of ``side`` (empirical Bayes)."""
    layout = layout_of(recommender.model, side, side_size(recommender, side))
    rows = flat_rows(recommender.model, layout, trained_rows(recommender, side))
    mean = rows.mean(axis=0) if len(rows) else np.zeros(layout.size)
    centred = rows - mean
    covariance = centred.T @ centred / max(len(rows) - 1, 1) + RIDGE * np.eye(layout.size)
    return Prior(layout, mean, covariance, np.linalg.inv(covariance))


@dataclass(frozen=True)
class FoldedRows:
    """A new user's (item's) rows of every ``{side}_*`` parameter, by state-dict name."""

    side: Side
    rows: dict[str, np.ndarray]
    method: str  # "closed_form", "gradient" or "none"

    @property
    def vector(self) -> np.ndarray | None:
        """The factor vector (``{side}_factors.weight`` row), or None for models without one."""
        return self.rows.get(f"{self.side}_factors.weight")

    @property
    def bias(self) -> float:
        row = self.rows.get(f"{self.side}_bias.weight", self.rows.get(f"{self.side}_bias"))
        return float(np.ravel(row)[0]) if row is not None else 0.0
