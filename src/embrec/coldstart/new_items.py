"""A new item: placed from its metadata before anyone rates it, folded in from its first ratings.

From metadata, ridge regression. Every trained item's rows ``v_i`` (for ``dot``: ``[b_i ; q_i]``) are
regressed on its features ``x_i = [1, genre indicators, z, z^2]`` (``z`` the standardised release
year, 0 when unknown)::

    B = argmin sum_i w_i |v_i - x_i B|^2 + METADATA_RIDGE |B without intercept|^2

weighted by ``w_i = n_i / (n_i + RELIABILITY)`` because an item with few ratings has rows that
say more about the regulariser than about the item. A new item's rows are ``x B``: where films of
its genres and era sit, on average, in the model's space. Without any metadata this is the
weighted mean item, the same fallback as ``fill_untrained``.

With a ``widedeep`` model the item's genres and year also become its feature row, which the model
reads beside the id rows; the regression then gives ``E[id rows | metadata]``, what items like it
carry beyond their features.

From ratings, :func:`fold_in_item` folds it in like a user, user side frozen
(:func:`~embrec.coldstart.fold_in.fold_in` with ``side="item"``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from embrec.coldstart.extend import add_items, replace_rows
from embrec.coldstart.features import attribute_rows
from embrec.coldstart.fold_in import fold_in
from embrec.coldstart.preferences import genre_matrix
from embrec.coldstart.prior import FoldedRows, Layout, default_attribute_rows, flat_rows, layout_of, trained_rows
from embrec.recommend.recommender import Recommender

METADATA_RIDGE = 1.0
RELIABILITY = 5.0


@dataclass(frozen=True)
class MetadataModel:
    """Linear map from item metadata to item rows (module docstring)."""

    layout: Layout
    genres: tuple[str, ...]
    year_mean: float
    year_std: float
    coefficients: np.ndarray  # (1 + n_genres + 2, d)

    def features(self, member: np.ndarray, years: np.ndarray) -> np.ndarray:
        """``[1, genres, z, z^2]`` (n, 3 + n_genres); an unknown year is the mean year."""
        z = np.nan_to_num((np.asarray(years, dtype=np.float64) - self.year_mean) / self.year_std)
        return np.hstack([np.ones((len(z), 1)), member.astype(np.float64), z[:, None], z[:, None] ** 2])

    def place(self, genres: Sequence[str], year: float | None) -> FoldedRows:
        unknown = [g for g in genres if g not in self.genres]
        if unknown:
            raise ValueError(f"unknown genre(s) {', '.join(unknown)}; known: {', '.join(self.genres)}")
        member = np.array([[g in genres for g in self.genres]])
        x = self.features(member, np.array([np.nan if year is None else year]))
        return FoldedRows("item", self.layout.split((x @ self.coefficients)[0]), "metadata")


def item_years(recommender: Recommender) -> np.ndarray:
    """Release years from the item table's ``year`` column (NaN where unknown or absent)."""
    table = recommender.item_table
    if table is None or "year" not in table.columns:
        return np.full(recommender.n_items, np.nan)
    return pd.to_numeric(table["year"], errors="coerce").to_numpy(dtype=np.float64)


def fit_metadata_model(recommender: Recommender, ridge: float = METADATA_RIDGE) -> MetadataModel:
    """Fit the regression on the items with training ratings."""
    member, names = genre_matrix(recommender)
    years = item_years(recommender)
    known = years[~np.isnan(years)]
    mean, std = (float(known.mean()), float(known.std()) or 1.0) if len(known) else (0.0, 1.0)
    layout = layout_of(recommender.model, "item", recommender.n_items)
    items = trained_rows(recommender, "item")
    blank = MetadataModel(layout, names, mean, std, np.zeros((3 + len(names), layout.size)))
    x = blank.features(member[items], years[items])
    counts = np.asarray(recommender.item_popularity, dtype=np.float64)[items]
    w = counts / (counts + RELIABILITY)
    penalty = ridge * np.eye(x.shape[1])
    penalty[0, 0] = 0.0  # the intercept is not shrunk
    v = flat_rows(recommender.model, layout, items)
    coefficients = np.linalg.solve(x.T @ (w[:, None] * x) + penalty, x.T @ (w[:, None] * v))
    return MetadataModel(layout, names, mean, std, coefficients)


def add_item(
    recommender: Recommender,
    raw_id: str,
    title: str,
    genres: Sequence[str],
    year: int | None,
    model: MetadataModel | None = None,
) -> Recommender:
    """``recommender`` with a new item placed from its metadata (no ratings yet)."""
    model = model if model is not None else fit_metadata_model(recommender)
    found = model.place(genres, year)
    attributes = attribute_rows(recommender, "item", {"genres": "|".join(genres), "year": year})
    placed = FoldedRows("item", found.rows | attributes, found.method)
    row = pd.DataFrame({"title": [title], "year": [year], "genres": ["|".join(genres)]})
    return add_items(recommender, [raw_id], [placed], [np.zeros(0, dtype=np.int64)], row)


def fold_in_item(recommender: Recommender, item: str, ratings: Mapping[str, float]) -> Recommender:
    """``recommender`` with ``item`` re-estimated from ``{raw user id: rating}``, user side frozen."""
    lo, hi = recommender.scale
    users = recommender.user_ids.indices(list(ratings))
    values = np.asarray(list(ratings.values()), dtype=np.float64)
    if ((values < lo) | (values > hi)).any():
        raise ValueError(f"ratings must lie in the scale {lo:g}-{hi:g}")
    index = recommender.item_index(item)
    attributes = {  # the item keeps its stored attribute rows (a widedeep model's features)
        name: recommender.model.state_dict()[name][index].numpy().copy()
        for name in default_attribute_rows(recommender, "item")
    }
    folded = fold_in(recommender, users, values, side="item", attributes=attributes)
    updated = replace_rows(recommender, "item", recommender.item_ids.raw(index), folded, users)
    set_item_ratings = getattr(updated.model, "set_item_ratings", None)  # autorec: an item is its ratings
    if callable(set_item_ratings):
        set_item_ratings(index, users, values)
    return updated
