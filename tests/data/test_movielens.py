"""MovieLens 100k: the ratings, movie and user tables, canonical folds, and where the files come from.

Read from ``EMBREC_DATA_DIR`` (``../shared/data`` in CI); a zip is built in a temporary folder
from the shared files when a test needs one, never inside the repository.
"""

from __future__ import annotations

import hashlib
import zipfile
from pathlib import Path

import numpy as np
import pytest

from embrec.data.errors import DataError
from embrec.data.movielens import FOLDS, fetch_movielens, load_fold, load_movielens, locate_movielens
from embrec.data.ratings import Ratings


def test_all_100k_ratings_of_943_users_on_1682_movies_on_a_1_to_5_scale(movielens: Ratings) -> None:
    assert (len(movielens), movielens.n_users, movielens.n_items) == (100_000, 943, 1682)
    assert movielens.scale == (1.0, 5.0)
    assert set(np.unique(movielens.ratings).tolist()) == {1.0, 2.0, 3.0, 4.0, 5.0}
    assert movielens.timestamps is not None
    assert movielens.user_ids.ids[:3] == ("1", "2", "3")  # numeric order
    assert (movielens.user_counts() >= 20).all()  # every MovieLens 100k user rated at least 20 movies


def test_the_movie_table_has_titles_release_years_and_pipe_joined_genres(movielens: Ratings) -> None:
    table = movielens.item_table
    assert table is not None and len(table) == movielens.n_items
    assert {"title", "release_date", "year", "genres"} <= set(table.columns)
    star_wars = movielens.item_ids.index("50")
    assert movielens.title(star_wars) == "Star Wars (1977)"
    assert table["year"].iat[star_wars] == 1977
    assert table["genres"].iat[star_wars].split("|") == ["Action", "Adventure", "Romance", "Sci-Fi", "War"]
    assert movielens.title(movielens.item_ids.index("1")) == "Toy Story (1995)"
    assert "Misérables, Les (1995)" in set(table["title"])  # u.item is latin-1


def test_the_user_table_has_age_gender_occupation_and_zip(movielens: Ratings) -> None:
    table = movielens.user_table
    assert table is not None and len(table) == movielens.n_users
    first = table.iloc[movielens.user_ids.index("1")]
    assert (first["age"], first["gender"], first["occupation"], first["zip"]) == (24, "M", "technician", "85711")


@pytest.mark.parametrize("fold", ["u1", "ua"])
def test_a_canonical_fold_is_read_from_its_files_over_the_full_catalog(
    fold: str, movielens: Ratings, movielens_dir: Path
) -> None:
    split = load_fold(fold, movielens_dir, movielens)
    expected_test = 20_000 if fold == "u1" else 943 * 10
    assert len(split.test) == expected_test
    assert len(split.train) + len(split.test) == 100_000
    assert split.train.item_ids is movielens.item_ids and split.train.user_ids is movielens.user_ids
    train = set(zip(split.train.users.tolist(), split.train.items.tolist(), strict=True))
    assert not train & set(zip(split.test.users.tolist(), split.test.items.tolist(), strict=True))
    first_test = (movielens_dir / f"{fold}.test").read_text().split("\n", 1)[0].split("\t")
    user, item, rating = first_test[0], first_test[1], float(first_test[2])
    assert (split.test.user_ids.raw(split.test.users[0]), split.test.item_ids.raw(split.test.items[0])) == (user, item)
    assert split.test.ratings[0] == rating


def test_all_seven_canonical_folds_are_known() -> None:
    assert FOLDS == ("u1", "u2", "u3", "u4", "u5", "ua", "ub")


def test_an_unknown_fold_is_an_error(movielens_dir: Path) -> None:
    with pytest.raises(DataError, match="unknown fold 'u9'"):
        load_fold("u9", movielens_dir)


def test_an_explicit_path_without_movielens_files_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="no MovieLens 100k files here"):
        locate_movielens(tmp_path)
    with pytest.raises(DataError, match="no such file or folder"):
        locate_movielens(tmp_path / "missing")


def test_missing_data_offline_says_where_to_put_the_files(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EMBREC_DATA_DIR", str(tmp_path))
    with pytest.raises(DataError) as caught:
        locate_movielens(download=False)
    message = str(caught.value)
    assert str(tmp_path / "ml-100k") in message and "--data" in message and "EMBREC_DATA_DIR" in message


def small_zip(movielens_dir: Path, target: Path) -> Path:
    """A zip holding the three required files (as ml-100k/...), in a temporary folder."""
    with zipfile.ZipFile(target, "w") as archive:
        for name in ("u.data", "u.item", "u.user"):
            archive.write(movielens_dir / name, f"ml-100k/{name}")
    return target


def test_a_zip_given_as_data_is_unpacked_into_the_cache(
    tmp_path: Path, movielens_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    archive = small_zip(movielens_dir, tmp_path / "ml-100k.zip")
    folder = locate_movielens(archive)
    assert folder.is_relative_to(tmp_path / "cache" / "embrec")
    assert len(load_movielens(archive)) == 100_000


def test_a_download_with_the_wrong_checksum_is_refused_and_leaves_nothing(tmp_path: Path, movielens_dir: Path) -> None:
    archive = small_zip(movielens_dir, tmp_path / "ml-100k.zip")
    cache = tmp_path / "cache"
    with pytest.raises(DataError, match="SHA-256"):
        fetch_movielens(cache, url=archive.as_uri(), sha256="0" * 64)
    assert list(cache.iterdir()) == []


def test_a_verified_download_is_unpacked_atomically(tmp_path: Path, movielens_dir: Path) -> None:
    archive = small_zip(movielens_dir, tmp_path / "ml-100k.zip")
    digest = hashlib.sha256(archive.read_bytes()).hexdigest()
    folder = fetch_movielens(tmp_path / "cache", url=archive.as_uri(), sha256=digest)
    assert folder == tmp_path / "cache" / "ml-100k"
    assert sorted(p.name for p in folder.iterdir()) == ["u.data", "u.item", "u.user"]
    assert [p.name for p in (tmp_path / "cache").iterdir()] == ["ml-100k"]  # no temporary left
