"""Declaring side features and side tables: the MovieLens preset, a TOML file, or one inline string.

A TOML file (paths relative to the file)::

    users = "users.csv"        # a users file: an id column, then attributes
    items = "items.csv"        # an items file: an id column, then genres, year, ...
    crosses = [["gender", "genres"]]

    [features.age]
    side = "user"
    kind = "bucket"            # categorical | multi_hot | bucket | hashed
    edges = [18, 25, 35, 50]

    [features.genres]
    side = "item"
    kind = "multi_hot"

The same inline, entries separated by commas: ``users=users.csv,items=items.csv,
user.age:bucket:edges=18/25/35/50,user.gender,item.genres:multi_hot,gender*genres``; an entry is
``SIDE.COLUMN[:KIND][:KEY=VALUE]...`` (list values separated by ``/``), ``LEFT*RIGHT`` a cross of two
declared features, and ``users=``/``items=`` a side table. ``movielens`` names the preset.
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import pandas as pd

from embrec.data.errors import DataError
from embrec.data.ratings import Ratings
from embrec.data.side_features import Cross, Feature, Side, SideFeatures, feature_from_json, movielens_features
from embrec.data.splits import Split

KIND_ALIASES = {
    "cat": "categorical",
    "multi": "multi_hot",
    "multihot": "multi_hot",
    "hash": "hashed",
    "bucketised": "bucket",
}
ID_COLUMNS: dict[Side, tuple[str, ...]] = {
    "user": ("user", "user_id", "userid", "id"),
    "item": ("item", "item_id", "itemid", "movieid", "movie_id", "id"),
}
_LIST_KEYS = {"edges"}
_INT_KEYS = {"prefix", "min_count", "quantiles", "buckets"}


@dataclass(frozen=True)
class FeatureDeclaration:
    """Declared features and, for data other than MovieLens, the side tables' files."""

    features: SideFeatures
    users: Path | None = None
    items: Path | None = None

    def attach(self, split: Split) -> Split:
        """The split with the declared side tables read and set on both parts."""
        if self.users is None and self.items is None:
            return split
        users = read_side_table(self.users, "user") if self.users is not None else None
        items = read_side_table(self.items, "item") if self.items is not None else None
        return replace(
            split, train=with_side_tables(split.train, users, items), test=with_side_tables(split.test, users, items)
        )


def declare_features(option: str | None, model: str, data_format: str) -> FeatureDeclaration | None:
    """The ``--features`` option of ``embrec train``: ``None`` when no features are wanted.

    ``widedeep`` without ``--features`` uses the MovieLens preset on MovieLens and asks for a
    declaration otherwise.
    """
    if option is None:
        if model != "widedeep":
            return None
        if data_format != "movielens":
            raise DataError("widedeep on your own data needs --features: a TOML file or an inline list")
        return FeatureDeclaration(movielens_features())
    return parse_features(option)


def parse_features(text: str) -> FeatureDeclaration:
    """``movielens``, the path of a ``.toml`` file, or an inline declaration (module docstring)."""
    text = text.strip()
    if text == "movielens":
        return FeatureDeclaration(movielens_features())
    if text.endswith(".toml"):
        return read_feature_toml(text)
    return parse_inline(text)


def read_feature_toml(path: str | Path) -> FeatureDeclaration:
    path = Path(path)
    if not path.is_file():
        raise DataError("feature file not found", path)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise DataError(f"not valid TOML: {exc}", path) from None
    unknown = set(data) - {"users", "items", "crosses", "features"}
    if unknown:
        raise DataError(f"unknown keys {sorted(unknown)} (expected users, items, crosses, [features.NAME])", path)
    try:
        features = [_feature(name, spec) for name, spec in dict(data.get("features", {})).items()]
        crosses = [Cross(str(pair[0]), str(pair[1])) for pair in data.get("crosses", [])]
        declared = SideFeatures(tuple(features), tuple(crosses))
    except (ValueError, TypeError, IndexError, KeyError) as exc:
        raise DataError(f"bad feature declaration: {exc}", path) from None
    return FeatureDeclaration(declared, *(_relative(path, data.get(side)) for side in ("users", "items")))


def parse_inline(text: str) -> FeatureDeclaration:
    features, crosses, tables = [], [], {}
    try:
        for entry in (e.strip() for e in text.split(",")):
            if not entry:
                continue
            if "=" in entry.split(":")[0]:
                key, value = entry.split("=", 1)
                if key.strip() not in ("users", "items"):
                    raise ValueError(f"{entry!r}: only users=PATH and items=PATH name tables")
                tables[key.strip()] = Path(value.strip())
            elif "*" in entry:
                left, right = entry.split("*", 1)
                crosses.append(Cross(left.strip(), right.strip()))
            else:
                features.append(_inline_feature(entry))
        declared = SideFeatures(tuple(features), tuple(crosses))
    except (ValueError, TypeError) as exc:
        raise DataError(f"--features: {exc}") from None
    return FeatureDeclaration(declared, tables.get("users"), tables.get("items"))


def read_side_table(path: str | Path, side: Side) -> pd.DataFrame:
    """A users or items file (CSV/TSV/pipe-separated or Parquet) indexed by raw id (string).

    The id column is the first of ``user``/``user_id``/``userId``/``id`` (items: ``item``,
    ``movieId``, ...) present, else the first column. Cells are read as text (zip codes keep
    their leading zeros); numeric features convert when encoded.
    """
    path = Path(path)
    if not path.is_file():
        raise DataError(f"{side}s file not found", path)
    if path.suffix == ".parquet":
        frame = pd.read_parquet(path)
    else:
        with path.open(encoding="utf-8-sig") as handle:
            header = handle.readline()
        sep = max((",", "\t", ";", "|"), key=header.count)
        try:
            frame = pd.read_csv(path, sep=sep, dtype=str, encoding="utf-8-sig")
        except (pd.errors.ParserError, UnicodeDecodeError) as exc:
            raise DataError(f"cannot read the {side}s file: {exc}", path) from None
    if frame.empty or len(frame.columns) < 2:
        raise DataError(f"the {side}s file needs an id column and at least one attribute column", path)
    names = {str(c).strip().lower(): c for c in frame.columns}
    id_column = next((names[a] for a in ID_COLUMNS[side] if a in names), frame.columns[0])
    ids = frame.pop(id_column).astype(str).str.strip()
    if ids.duplicated().any():
        raise DataError(f"{side} {ids[ids.duplicated()].iloc[0]!r} is listed more than once", path)
    frame.index = pd.Index(ids, dtype=object)
    return frame


def with_side_tables(
    ratings: Ratings, user_table: pd.DataFrame | None = None, item_table: pd.DataFrame | None = None
) -> Ratings:
    """Ratings with side tables (indexed by raw id) set, one row per catalog index.

    Catalog ids the table lacks get an empty row (their features read as unknown); table rows
    outside the catalog are left out. A table that is ``None`` keeps the current one.
    """
    users = _aligned(user_table, ratings.user_ids.ids)
    items = _aligned(item_table, ratings.item_ids.ids)
    return replace(
        ratings,
        user_table=users if users is not None else ratings.user_table,
        item_table=items if items is not None else ratings.item_table,
    )


def _aligned(table: pd.DataFrame | None, ids: tuple[str, ...]) -> pd.DataFrame | None:
    if table is None:
        return None
    table = table.copy()
    table.index = table.index.astype(str)
    return table.reindex(list(ids)).reset_index(drop=True)


def _feature(name: str, spec: Mapping[str, Any]) -> Feature:
    values = dict(spec)
    kind = str(values.pop("kind", "categorical"))
    return feature_from_json({"kind": KIND_ALIASES.get(kind, kind), "name": name} | values)


def _inline_feature(entry: str) -> Feature:
    head, *options = entry.split(":")
    if "." not in head:
        raise ValueError(f"{entry!r}: write SIDE.COLUMN, e.g. user.{head} or item.{head}")
    side, column = head.split(".", 1)
    kind = "categorical"
    if options and "=" not in options[0]:
        kind = options.pop(0).strip()
    values: dict[str, Any] = {"kind": kind, "side": side.strip(), "column": column.strip()}
    for option in options:
        key, _, value = option.partition("=")
        key = key.strip()
        if key in _LIST_KEYS:
            values[key] = [float(v) for v in value.split("/") if v.strip()]
        elif key in _INT_KEYS:
            values[key] = int(value)
        else:
            values[key] = value
    return _feature(column.strip(), values)


def _relative(base: Path, value: object) -> Path | None:
    if value is None:
        return None
    path = Path(str(value))
    return path if path.is_absolute() else base.parent / path
