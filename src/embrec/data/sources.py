"""One entry point from "where the data is and how to split it" to a Split."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from embrec.data.errors import DataError
from embrec.data.movielens import FOLDS, load_fold, load_movielens
from embrec.data.ratings import Ratings
from embrec.data.readers import Columns, Duplicates, read_ratings
from embrec.data.splits import Split, split_per_user, split_random, split_temporal

Format = Literal["movielens", "csv"]
SplitKind = Literal["fold", "random", "per_user", "temporal"]


@dataclass(frozen=True)
class DataSpec:
    """Where ratings come from: MovieLens 100k (default) or a user's CSV/TSV/Parquet file."""

    path: str | None = None
    format: Format = "movielens"
    columns: Columns | None = None
    sep: str | None = None
    scale: tuple[float, float] | None = None
    duplicates: Duplicates = "error"
    items: str | None = None


@dataclass(frozen=True)
class SplitSpec:
    """How to split: a canonical MovieLens fold, or random / per-user / temporal with a fraction."""

    kind: SplitKind = "fold"
    fold: str = "u1"
    test_fraction: float = 0.2
    seed: int = 0


def load_ratings(spec: DataSpec) -> Ratings:
    """All ratings of the source."""
    if spec.format == "movielens":
        return load_movielens(spec.path)
    if spec.path is None:
        raise DataError("--data PATH is required for --format csv")
    return read_ratings(Path(spec.path), spec.columns, spec.sep, spec.scale, spec.duplicates, spec.items)


def load_split(data: DataSpec, split: SplitSpec, full: Ratings | None = None) -> Split:
    """The train/test split the spec names; canonical folds only exist for MovieLens."""
    if split.kind == "fold":
        if data.format != "movielens":
            raise DataError("canonical folds exist only for MovieLens 100k; use --split random|per_user|temporal")
        if split.fold not in FOLDS:
            raise DataError(f"unknown fold {split.fold!r}; choose one of {', '.join(FOLDS)}")
        return load_fold(split.fold, data.path, full)
    full = full or load_ratings(data)
    if split.kind == "random":
        return split_random(full, split.test_fraction, split.seed)
    if split.kind == "per_user":
        return split_per_user(full, test_fraction=split.test_fraction, seed=split.seed)
    return split_temporal(full, test_fraction=split.test_fraction)
