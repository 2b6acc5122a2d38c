"""Side features: declared columns of the user and item tables, encoded once into integer ids.

A feature (:mod:`embrec.data.feature_kinds`: categorical, multi-hot, bucketised, hashed) reads
one column of a side table (``user_table`` or ``item_table`` of :class:`~embrec.data.ratings.Ratings`,
one row per index) and gives each row ``width`` local ids; 0 is the *unknown* slot, so a missing
value or a category not seen when fitting is never an error. A :class:`Cross` names two features
(of either side); the model forms its ids ``a * size_b + b`` for each pair of ids of the two rows.
:class:`SideFeatures` holds the declarations; :meth:`SideFeatures.fit` fills vocabularies and
edges from the tables, and the result round-trips to JSON (a model directory keeps it in its
``ModelConfig``). :func:`movielens_features` is the MovieLens preset; declaring features in
a TOML file or inline is :mod:`embrec.data.feature_declarations`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import pandas as pd

from embrec.data.errors import DataError
from embrec.data.feature_kinds import (
    KINDS,
    SIDES,
    Bucketised,
    Categorical,
    Feature,
    Hashed,
    MultiHot,
    Side,
    feature_from_json,
)
from embrec.data.ratings import Ratings

__all__ = [
    "KINDS",
    "Bucketised",
    "Categorical",
    "Cross",
    "EncodedFeatures",
    "Feature",
    "Hashed",
    "MultiHot",
    "Side",
    "SideFeatures",
    "feature_from_json",
    "fit_side_features",
    "movielens_features",
]
FORMAT = 1


@dataclass(frozen=True)
class Cross:
    """The crossed feature ``left x right`` (two feature names; one user and one item is fine)."""

    left: str
    right: str

    @property
    def name(self) -> str:
        return f"{self.left}*{self.right}"


@dataclass(frozen=True)
class SideFeatures:
    """Declared features of the user and item tables and the crosses of pairs of them.

    The model's layout is the features in this order (user ones, then item ones, each side in
    declaration order) and the crosses; :meth:`encode` gives one side's rows in that layout.
    """

    features: tuple[Feature, ...]
    crosses: tuple[Cross, ...] = field(default=())

    def __post_init__(self) -> None:
        object.__setattr__(self, "features", tuple(sorted(self.features, key=lambda f: SIDES.index(f.side))))
        names = [f.name for f in self.features]
        duplicated = sorted({n for n in names if names.count(n) > 1})
        if duplicated:
            raise ValueError(f"features declared twice: {duplicated}")
        for cross in self.crosses:
            missing = [n for n in (cross.left, cross.right) if n not in names]
            if missing or cross.left == cross.right:
                raise ValueError(f"cross {cross.name}: needs two different declared features (unknown: {missing})")

    def of(self, side: Side) -> tuple[Feature, ...]:
        return tuple(f for f in self.features if f.side == side)

    def feature(self, name: str) -> Feature:
        for f in self.features:
            if f.name == name:
                return f
        raise ValueError(f"no feature {name!r}; the features are {', '.join(f.name for f in self.features)}")

    @property
    def fitted(self) -> bool:
        return all(f.fitted for f in self.features)

    def width(self, side: Side) -> int:
        return sum(f.width for f in self.of(side))

    def fit(self, user_table: pd.DataFrame | None, item_table: pd.DataFrame | None) -> SideFeatures:
        """Vocabularies, edges and widths from the tables; already fitted features are kept."""
        tables = {"user": user_table, "item": item_table}
        fitted = [f.fit(_column(tables[f.side], f)) for f in self.features]
        return replace(self, features=tuple(fitted))

    def encode(self, side: Side, table: pd.DataFrame | None) -> np.ndarray:
        """``(len(table), width(side))`` int64 ids of one side's rows, features side by side.

        The table may be the catalog's side table (one row per index) or raw rows of new
        users/items with the same columns; a column absent from new rows reads as unknown.
        """
        parts = [f.encode(_column(table, f, new_rows=True)) for f in self.of(side)]
        n = 0 if table is None else len(table)
        return np.concatenate(parts, axis=1) if parts else np.zeros((n, 0), dtype=np.int64)

    def to_json(self) -> dict[str, Any]:
        return {
            "format": FORMAT,
            "features": [f.to_json() for f in self.features],
            "crosses": [{"left": c.left, "right": c.right} for c in self.crosses],
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> SideFeatures:
        if data.get("format", FORMAT) != FORMAT:
            raise ValueError(f"side features format {data.get('format')!r} is not {FORMAT}")
        features = [feature_from_json(f) for f in data.get("features", [])]
        crosses = [Cross(str(c["left"]), str(c["right"])) for c in data.get("crosses", [])]
        return cls(tuple(features), tuple(crosses))


@dataclass(frozen=True, eq=False)
class EncodedFeatures:
    """Fitted features with the encoded rows of every user and item of a catalog."""

    spec: SideFeatures
    users: np.ndarray  # (n_users, spec.width("user")) int64
    items: np.ndarray  # (n_items, spec.width("item")) int64


def fit_side_features(declared: Mapping[str, Any] | None, catalog: Ratings) -> EncodedFeatures | None:
    """Fit declared features (JSON of :class:`SideFeatures`) on the catalog's side tables and
    encode every user and item; ``None`` when nothing is declared. This is how training resolves
    a model config's ``features``, as it resolves ``y_range`` from the rating scale."""
    if declared is None:
        return None
    spec = SideFeatures.from_json(declared).fit(catalog.user_table, catalog.item_table)
    users = spec.encode("user", catalog.user_table) if spec.of("user") else np.zeros((catalog.n_users, 0), np.int64)
    items = spec.encode("item", catalog.item_table) if spec.of("item") else np.zeros((catalog.n_items, 0), np.int64)
    return EncodedFeatures(spec, users, items)


def movielens_features() -> SideFeatures:
    """The MovieLens 100k features: age bucket, gender, occupation, hashed zip prefix; genres,
    release-year bucket; the crosses gender x genres and age x genres.

    The zip code keeps its first digit (the US postal region): finer prefixes let the model
    recognise individual users by their attributes and predict new users worse.
    """
    return SideFeatures(
        (
            Bucketised("age", "user", edges=(18, 25, 35, 45, 50, 56)),  # MovieLens 1M's age groups
            Categorical("gender", "user"),
            Categorical("occupation", "user"),
            Hashed("zip", "user", buckets=20, prefix=1),
            MultiHot("genres", "item"),
            Bucketised("year", "item", edges=(1960, 1970, 1980, 1990, 1994, 1996, 1997)),
        ),
        (Cross("gender", "genres"), Cross("age", "genres")),
    )


def _column(table: pd.DataFrame | None, feature: Feature, new_rows: bool = False) -> pd.Series:
    if table is None:
        raise DataError(f"feature {feature.name!r} needs a {feature.side} table, and there is none")
    if feature.column not in table.columns:
        if new_rows:  # raw rows of a new user/item may leave attributes out: unknown
            return pd.Series([None] * len(table), index=table.index, dtype=object)
        raise DataError(
            f"feature {feature.name!r}: the {feature.side} table has no column {feature.column!r} "
            f"(columns: {', '.join(map(str, table.columns))})"
        )
    return table[feature.column]
