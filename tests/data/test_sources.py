"""From "where the data is and how to split it" (the CLI's options) to a Split."""

from __future__ import annotations

from pathlib import Path

import pytest

from embrec.data.errors import DataError
from embrec.data.sources import DataSpec, SplitKind, SplitSpec, load_ratings, load_split

RANDOM_KINDS: tuple[SplitKind, ...] = ("random", "per_user", "temporal")


def ratings_file(tmp_path: Path) -> Path:
    path = tmp_path / "ratings.csv"
    rows = [f"u{u},i{i},{1 + (u + i) % 5},{100 * u + i}" for u in range(6) for i in range(5)]
    path.write_text("user,item,rating,timestamp\n" + "\n".join(rows) + "\n")
    return path


@pytest.mark.parametrize("kind", RANDOM_KINDS)
def test_a_csv_file_is_split_as_asked(tmp_path: Path, kind: SplitKind) -> None:
    data = DataSpec(str(ratings_file(tmp_path)), format="csv")
    split = load_split(data, SplitSpec(kind, test_fraction=0.4, seed=3))
    assert len(split.train) + len(split.test) == 30 and len(split.test) > 0
    assert split.train.n_users == 6


def test_canonical_folds_exist_only_for_movielens(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="canonical folds exist only for MovieLens"):
        load_split(DataSpec(str(ratings_file(tmp_path)), format="csv"), SplitSpec("fold"))


def test_a_csv_source_needs_a_path() -> None:
    with pytest.raises(DataError, match="--data PATH is required"):
        load_ratings(DataSpec(None, format="csv"))


def test_the_default_source_is_movielens_fold_u1(movielens_dir: Path) -> None:
    split = load_split(DataSpec(str(movielens_dir)), SplitSpec())
    assert split.name == "u1" and len(split.test) == 20_000
