"""The generic ratings reader: CSV/TSV/Parquet, detected columns, any scale, and clear errors.

Every bad input is refused with a DataError that names the file, the line where it is known
(1-based, the header is line 1) and the problem; nothing is returned half-loaded.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from embrec.data.errors import DataError
from embrec.data.readers import Columns, read_items, read_ratings


def write(tmp_path: Path, name: str, text: str, encoding: str = "utf-8") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding=encoding)
    return path


def refused(path: Path, **options: object) -> DataError:
    """The error reading ``path`` raises; it always names the file."""
    with pytest.raises(DataError) as caught:
        read_ratings(path, **options)  # type: ignore[arg-type]
    error = caught.value
    assert str(path) in str(error)
    assert error.path == str(path)
    return error


# --- what loads -------------------------------------------------------------------------------


def test_movielens_style_header_userid_movieid_rating_timestamp_is_detected(tmp_path: Path) -> None:
    path = write(
        tmp_path, "ratings.csv", "userId,movieId,rating,timestamp\n1,31,2.5,1260759144\n1,1029,3.0,1260759179\n"
    )
    data = read_ratings(path)
    assert data.user_ids.ids == ("1",)
    assert data.item_ids.ids == ("31", "1029")  # numeric ids sort numerically
    np.testing.assert_array_equal(data.ratings, np.array([2.5, 3.0], dtype=np.float32))
    assert data.timestamps is not None
    np.testing.assert_array_equal(data.timestamps, [1260759144, 1260759179])
    assert data.users.dtype == data.items.dtype == np.int32
    assert data.ratings.dtype == np.float32


def test_half_star_ratings_keep_their_halves_and_the_scale_is_observed(tmp_path: Path) -> None:
    path = write(tmp_path, "half.csv", "user,item,rating\na,x,0.5\na,y,4.5\nb,x,3.5\n")
    data = read_ratings(path)
    assert data.scale == (0.5, 4.5)
    assert sorted(data.ratings.tolist()) == [0.5, 3.5, 4.5]


def test_a_declared_scale_wins_over_the_observed_range(tmp_path: Path) -> None:
    path = write(tmp_path, "half.csv", "user,item,rating\na,x,1.5\na,y,4.5\n")
    assert read_ratings(path, scale=(0.5, 5.0)).scale == (0.5, 5.0)


def test_a_one_to_ten_scale_in_a_tsv_with_other_column_names(tmp_path: Path) -> None:
    path = write(tmp_path, "scores.tsv", "customer_id\tproduct_id\tscore\nu1\ti1\t10\nu1\ti2\t1\nu2\ti1\t7\n")
    data = read_ratings(path)
    assert data.scale == (1.0, 10.0)
    assert data.user_ids.ids == ("u1", "u2")
    assert data.timestamps is None


def test_a_file_without_header_is_read_as_user_item_rating_timestamp(tmp_path: Path) -> None:
    path = write(tmp_path, "u.data", "196\t242\t3\t881250949\n186\t302\t3\t891717742\n")
    data = read_ratings(path)
    assert data.user_ids.ids == ("186", "196")
    assert data.timestamps is not None and len(data) == 2


def test_columns_can_be_named_explicitly(tmp_path: Path) -> None:
    path = write(tmp_path, "odd.csv", "who,what,how_much,extra\n1,2,4,z\n2,2,5,z\n")
    data = read_ratings(path, columns=Columns(user="who", item="what", rating="how_much"))
    assert len(data) == 2 and data.scale == (4.0, 5.0)


def test_a_parquet_file_is_read_by_its_suffix(tmp_path: Path) -> None:
    path = tmp_path / "ratings.parquet"
    frame = pd.DataFrame(
        {"userId": [1, 2, 2], "movieId": [10, 10, 20], "rating": [0.5, 4.5, 3.0], "timestamp": [1, 2, 3]}
    )
    frame.to_parquet(path)
    data = read_ratings(path)
    assert len(data) == 3
    assert data.scale == (0.5, 4.5)
    assert data.item_ids.ids == ("10", "20")


def test_a_byte_order_mark_does_not_hide_the_first_column_name(tmp_path: Path) -> None:
    path = write(tmp_path, "bom.csv", "\ufeffuserId,movieId,rating\n1,2,4\n", encoding="utf-8")
    assert path.read_bytes().startswith(b"\xef\xbb\xbf")
    data = read_ratings(path)
    assert data.user_ids.ids == ("1",) and data.ratings.tolist() == [4.0]


def test_the_separator_is_detected_from_the_first_line(tmp_path: Path) -> None:
    for name, sep in (("semi.csv", ";"), ("tab.tsv", "\t"), ("pipe.txt", "|"), ("ml1m.dat", "::")):
        path = write(tmp_path, name, f"1{sep}2{sep}4\n1{sep}3{sep}5\n")
        assert len(read_ratings(path)) == 2, name


def test_date_strings_become_unix_seconds(tmp_path: Path) -> None:
    path = write(tmp_path, "dated.csv", "user,item,rating,date\n1,2,4,2020-01-01\n1,3,2,2020-01-02 10:00\n")
    data = read_ratings(path)
    assert data.timestamps is not None
    assert data.timestamps.tolist() == [1577836800, 1577836800 + 34 * 3600]


def test_an_items_file_with_pipe_separated_genres_adds_titles_and_catalog_items(tmp_path: Path) -> None:
    ratings_path = write(tmp_path, "ratings.csv", "userId,movieId,rating\n1,10,3.5\n2,20,5\n")
    items_path = write(
        tmp_path,
        "movies.csv",
        'movieId,title,genres\n10,"American President, The (1995)",Comedy|Drama|Romance\n'
        "20,Toy Story (1995),Adventure|Animation|Children\n30,Heat (1995),Action|Crime|Thriller\n",
    )
    data = read_ratings(ratings_path, items_path=items_path)
    assert data.item_ids.ids == ("10", "20", "30")  # 30 has no rating but is in the catalog
    assert data.item_table is not None
    assert data.title(data.item_ids.index("10")) == "American President, The (1995)"
    assert data.item_table["genres"].iat[data.item_ids.index("30")].split("|") == ["Action", "Crime", "Thriller"]
    assert data.item_counts().tolist() == [1, 1, 0]


def test_an_item_missing_from_the_items_file_is_titled_by_its_id(tmp_path: Path) -> None:
    ratings_path = write(tmp_path, "ratings.csv", "userId,movieId,rating\n1,10,3.5\n2,20,5\n")
    items_path = write(tmp_path, "movies.csv", "movieId,title,genres\n10,Known (1995),Drama\n")
    data = read_ratings(ratings_path, items_path=items_path)
    assert data.title(data.item_ids.index("20")) == "20"


def test_an_items_file_listing_an_item_twice_is_an_error(tmp_path: Path) -> None:
    path = write(tmp_path, "movies.csv", "movieId,title\n10,A\n10,B\n")
    with pytest.raises(DataError, match="'10' is listed more than once"):
        read_items(path)


# --- what is refused ------------------------------------------------------------------------------


def test_a_missing_file_is_an_error_naming_it(tmp_path: Path) -> None:
    error = refused(tmp_path / "nowhere.csv")
    assert "not found" in error.problem


def test_a_missing_rating_column_is_an_error_listing_the_header(tmp_path: Path) -> None:
    error = refused(write(tmp_path, "two.csv", "user,item\n1,2\n"))
    assert error.line == 1
    assert "missing column(s) rating" in error.problem and "['user', 'item']" in error.problem


def test_a_named_column_that_does_not_exist_is_an_error(tmp_path: Path) -> None:
    error = refused(write(tmp_path, "r.csv", "user,item,rating\n1,2,3\n"), columns=Columns("user", "item", "stars"))
    assert "rating column 'stars' not found" in error.problem


def test_an_empty_file_is_an_error(tmp_path: Path) -> None:
    assert "empty" in refused(write(tmp_path, "empty.csv", "")).problem


def test_a_header_without_ratings_is_an_error(tmp_path: Path) -> None:
    assert "no ratings" in refused(write(tmp_path, "header.csv", "user,item,rating\n")).problem


def test_a_non_numeric_rating_is_an_error_naming_its_line(tmp_path: Path) -> None:
    error = refused(write(tmp_path, "words.csv", "user,item,rating\n1,2,4\n1,3,good\n"))
    assert error.line == 3
    assert "line 3" in str(error)
    assert "'good' is not a finite number" in error.problem


@pytest.mark.parametrize("value", ["NaN", "", "nan"])
def test_a_nan_or_blank_rating_is_an_error_naming_its_line(tmp_path: Path, value: str) -> None:
    error = refused(write(tmp_path, "nan.csv", f"user,item,rating\n1,2,4\n1,3,{value}\n1,4,5\n"))
    assert error.line == 3
    assert "missing rating" in error.problem


def test_an_infinite_rating_is_an_error_naming_its_line(tmp_path: Path) -> None:
    error = refused(write(tmp_path, "inf.csv", "user,item,rating\n1,2,4\n1,3,inf\n"))
    assert error.line == 3
    assert error.problem == "rating inf is not a finite number"


def test_a_rating_outside_the_declared_scale_is_an_error_naming_value_scale_and_line(tmp_path: Path) -> None:
    error = refused(write(tmp_path, "six.csv", "user,item,rating\n1,2,4\n1,3,6\n"), scale=(1.0, 5.0))
    assert error.line == 3
    assert error.problem == "rating 6 is outside the declared scale 1..5"


def test_a_rating_outside_the_scale_in_parquet_names_the_file_without_a_line(tmp_path: Path) -> None:
    path = tmp_path / "r.parquet"
    pd.DataFrame({"user": [1, 2], "item": [1, 1], "rating": [0.5, 7.0]}).to_parquet(path)
    error = refused(path, scale=(0.5, 5.0))
    assert error.line is None and "outside the declared scale" in error.problem


def test_duplicate_pairs_are_an_error_naming_both_lines(tmp_path: Path) -> None:
    path = write(tmp_path, "dup.csv", "user,item,rating\n1,2,4\n1,3,2\n1,2,5\n")
    error = refused(path)
    assert error.line == 4
    assert error.problem.startswith("duplicate rating of item '2' by user '1' (first on line 2)")
    assert "--duplicates last|mean" in error.problem


def test_duplicates_last_keeps_the_later_rating(tmp_path: Path) -> None:
    path = write(tmp_path, "dup.csv", "user,item,rating\n1,2,4\n1,3,2\n1,2,5\n")
    frame = read_ratings(path, duplicates="last").to_frame()
    assert sorted(zip(frame["item"], frame["rating"], strict=True)) == [("2", 5.0), ("3", 2.0)]


def test_duplicates_mean_averages_the_ratings_and_keeps_the_latest_time(tmp_path: Path) -> None:
    path = write(tmp_path, "dup.csv", "user,item,rating,timestamp\n1,2,4,10\n1,3,2,11\n1,2,5,12\n")
    frame = read_ratings(path, duplicates="mean").to_frame().sort_values("item")
    assert frame["rating"].tolist() == [4.5, 2.0]
    assert frame["timestamp"].tolist() == [12, 11]


def test_a_wrong_separator_is_an_error_suggesting_sep(tmp_path: Path) -> None:
    error = refused(write(tmp_path, "commas.csv", "user,item,rating\n1,2,4\n"), sep="\t")
    assert error.line == 1
    assert "wrong separator" in error.problem and "--sep" in error.problem


def test_a_first_line_without_any_separator_is_an_error(tmp_path: Path) -> None:
    error = refused(write(tmp_path, "one.csv", "ratings\n1\n"))
    assert error.line == 1 and "separator" in error.problem


def test_a_ragged_line_with_too_many_fields_is_an_error_naming_its_line(tmp_path: Path) -> None:
    error = refused(write(tmp_path, "long.csv", "user,item,rating\n1,2,4\n1,3,2,7\n"))
    assert error.line == 3
    assert error.problem == "ragged line: 4 fields where the header has 3"


def test_a_ragged_line_with_too_few_fields_is_an_error_naming_its_line(tmp_path: Path) -> None:
    error = refused(write(tmp_path, "short.csv", "user,item,rating\n1,2,4\n1,3\n"))
    assert error.line == 3 and "ragged line" in error.problem


def test_a_blank_line_in_the_middle_is_an_error_naming_its_line(tmp_path: Path) -> None:
    error = refused(write(tmp_path, "blank.csv", "user,item,rating\n1,2,4\n\n1,3,2\n"))
    assert error.line == 3 and error.problem == "empty line"


def test_a_file_that_is_not_utf8_is_an_error(tmp_path: Path) -> None:
    path = tmp_path / "latin.csv"
    path.write_bytes("user,item,rating\nJos\u00e9,2,4\n".encode("utf-16"))
    assert refused(path).problem


def test_a_folder_instead_of_a_file_is_an_error(tmp_path: Path) -> None:
    assert "folder" in refused(tmp_path).problem


def test_a_parquet_file_without_a_rating_column_is_an_error_without_a_line(tmp_path: Path) -> None:
    path = tmp_path / "r.parquet"
    pd.DataFrame({"userId": [1], "movieId": [2]}).to_parquet(path)
    error = refused(path)
    assert error.line is None and "missing column(s) rating" in error.problem


def test_a_file_without_header_may_have_text_ids_and_keeps_leading_zeros(tmp_path: Path) -> None:
    path = write(
        tmp_path, "amazon.csv", "AKM1MP6P0OYPR,0132793040,5.0,1365811200\nA2CX7LUOHB2NDG,0321732944,4.0,1341100800\n"
    )
    data = read_ratings(path)
    assert data.user_ids.ids == ("A2CX7LUOHB2NDG", "AKM1MP6P0OYPR")
    assert data.item_ids.ids == ("0132793040", "0321732944")  # ids are text: leading zeros stay
    assert len(data) == 2 and data.timestamps is not None


def test_a_whitespace_separated_file_without_header_is_read(tmp_path: Path) -> None:
    data = read_ratings(write(tmp_path, "ratings.txt", "1 2 4\n1   3 5\n"))
    assert len(data) == 2 and data.item_ids.ids == ("2", "3")


def test_ids_are_kept_as_written(tmp_path: Path) -> None:
    path = write(tmp_path, "isbn.csv", "User-ID,ISBN,Book-Rating\n007,0195153448,8\n7,0002005018,5\n")
    data = read_ratings(path)
    assert set(data.user_ids.ids) == {"007", "7"}  # two users
    assert set(data.item_ids.ids) == {"0195153448", "0002005018"}
    named = read_ratings(path, columns=Columns("User-ID", "ISBN", "Book-Rating"))
    assert set(named.item_ids.ids) == {"0195153448", "0002005018"}


def test_spaces_after_the_separator_are_not_part_of_the_ids(tmp_path: Path) -> None:
    data = read_ratings(write(tmp_path, "spaced.csv", "user, item, rating\n1, 2, 4\n1, 3, 5\n"))
    assert data.item_ids.ids == ("2", "3") and data.ratings.tolist() == [4.0, 5.0]
