"""Side features: encoding specifications on tiny tables, the declarations, and MovieLens 100k."""

from __future__ import annotations

import json
import zlib
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from embrec.data.errors import DataError
from embrec.data.feature_declarations import (
    declare_features,
    parse_features,
    read_side_table,
    with_side_tables,
)
from embrec.data.ratings import Ratings
from embrec.data.readers import ratings_from_frame
from embrec.data.side_features import (
    Bucketised,
    Categorical,
    Cross,
    Hashed,
    MultiHot,
    SideFeatures,
    feature_from_json,
    fit_side_features,
    movielens_features,
)


def column(*values: object) -> pd.Series:
    return pd.Series(list(values), dtype=object)


# --- categorical ------------------------------------------------------------------------------
def test_categorical_ids_follow_the_sorted_vocabulary_with_zero_for_unknown() -> None:
    feature = Categorical("occupation", "user").fit(column("writer", "artist", "writer"))
    assert feature.vocabulary == ("artist", "writer")
    assert feature.size == 3 and feature.width == 1
    encoded = feature.encode(column("writer", "artist", "astronaut"))
    assert encoded.tolist() == [[2], [1], [0]]


@pytest.mark.parametrize("missing", [None, np.nan, "", "  ", pd.NA])
def test_a_missing_value_goes_to_the_unknown_slot(missing: object) -> None:
    feature = Categorical("gender", "user").fit(column("F", "M"))
    assert feature.encode(column(missing, "M")).tolist() == [[0], [2]]


def test_rare_values_below_min_count_are_unknown() -> None:
    feature = Categorical("city", "user", min_count=2).fit(column("a", "a", "b"))
    assert feature.vocabulary == ("a",)
    assert feature.encode(column("b")).tolist() == [[0]]


def test_whole_floats_match_their_integer_text() -> None:
    """A numeric column read with missing values becomes float: 24.0 must still be "24"."""
    feature = Categorical("age", "user").fit(column(24, 30))
    assert feature.encode(pd.Series([24.0, np.nan, 30.0])).tolist() == [[1], [0], [2]]


def test_a_prefix_groups_values() -> None:
    feature = Categorical("zip", "user", prefix=1).fit(column("94043", "90210", "10001"))
    assert feature.vocabulary == ("1", "9")
    assert feature.encode(column("95000")).tolist() == [[2]]


# --- multi-hot --------------------------------------------------------------------------------
def test_multi_hot_rows_hold_each_token_once_padded_with_minus_one() -> None:
    feature = MultiHot("genres", "item").fit(column("Action|Comedy", "Drama", "Action|Drama|Comedy"))
    assert feature.vocabulary == ("Action", "Comedy", "Drama")
    assert feature.width == 3
    encoded = feature.encode(column("Comedy|Action", "Drama|Drama", "", "Western|Drama"))
    assert encoded.tolist() == [[2, 1, -1], [3, -1, -1], [0, -1, -1], [0, 3, -1]]


def test_a_new_row_wider_than_any_fitted_row_keeps_its_first_tokens() -> None:
    feature = MultiHot("tags", "item", separator=";").fit(column("a;b", "c"))
    assert feature.encode(column("a;b;c")).tolist() == [[1, 2]]


# --- buckets ----------------------------------------------------------------------------------
def test_bucket_ids_count_the_edges_at_or_below_the_value() -> None:
    feature = Bucketised("age", "user", edges=(18, 25, 35))
    assert feature.size == 5
    encoded = feature.encode(column(7, 18, 24.9, 25, 80, None, "n/a"))
    assert encoded[:, 0].tolist() == [1, 2, 2, 3, 4, 0, 0]
    assert feature.labels() == ["(unknown)", "< 18", "[18, 25)", "[25, 35)", ">= 35"]


def test_buckets_without_edges_take_quantiles_of_the_fitted_column() -> None:
    feature = Bucketised("year", "item", quantiles=4).fit(pd.Series(np.arange(1, 101, dtype=float)))
    assert feature.edges == pytest.approx((25.75, 50.5, 75.25))
    counts = np.bincount(feature.encode(pd.Series(np.arange(1, 101)))[:, 0], minlength=feature.size)
    assert counts.tolist() == [0, 25, 25, 25, 25]


def test_bucket_edges_must_increase() -> None:
    with pytest.raises(ValueError, match="increase"):
        Bucketised("age", "user", edges=(30, 20))


# --- hashing ----------------------------------------------------------------------------------
def test_hashed_ids_are_crc32_of_the_prefix_stable_across_runs() -> None:
    feature = Hashed("zip", "user", buckets=50, prefix=3)
    encoded = feature.encode(column("94043", "94010", "10001", None))[:, 0]
    assert encoded[0] == 1 + zlib.crc32(b"940") % 50
    assert encoded[0] == encoded[1]  # same prefix, same bucket
    assert 1 <= encoded[2] <= 50
    assert encoded[3] == 0
    assert feature.size == 51 and feature.fitted  # no vocabulary to fit


# --- the set of features ----------------------------------------------------------------------
def tables() -> tuple[pd.DataFrame, pd.DataFrame]:
    users = pd.DataFrame({"gender": ["F", "M", None], "age": [20, 40, 60]})
    items = pd.DataFrame({"genres": ["Action|Comedy", "Drama", "Comedy"]})
    return users, items


def declared() -> SideFeatures:
    return SideFeatures(
        (MultiHot("genres", "item"), Categorical("gender", "user"), Bucketised("age", "user", edges=(30, 50))),
        (Cross("gender", "genres"),),
    )


def test_user_features_come_first_and_rows_put_them_side_by_side() -> None:
    spec = declared().fit(*tables())
    assert [f.name for f in spec.features] == ["gender", "age", "genres"]
    assert spec.width("user") == 2 and spec.width("item") == 2
    assert spec.encode("user", tables()[0]).tolist() == [[1, 1], [2, 2], [0, 3]]
    assert spec.encode("item", tables()[1]).tolist() == [[1, 2], [3, -1], [2, -1]]


def test_fitted_features_round_trip_to_json_and_refitting_changes_nothing() -> None:
    spec = declared().fit(*tables())
    again = SideFeatures.from_json(json.loads(json.dumps(spec.to_json())))
    assert again == spec
    other_users = pd.DataFrame({"gender": ["X"], "age": [1]})
    assert again.fit(other_users, tables()[1]) == spec  # a fitted vocabulary is kept
    layout = spec.to_json()["features"]
    assert [(f["name"], f["side"], f["size"], f["width"]) for f in layout] == [
        ("gender", "user", 3, 1),
        ("age", "user", 4, 1),
        ("genres", "item", 4, 2),
    ]


def test_declarations_are_checked() -> None:
    with pytest.raises(ValueError, match="twice"):
        SideFeatures((Categorical("a", "user"), Categorical("a", "item")))
    with pytest.raises(ValueError, match="cross"):
        SideFeatures((Categorical("a", "user"),), (Cross("a", "b"),))
    with pytest.raises(ValueError, match="side"):
        Categorical("a", "movie")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="unknown feature kind"):
        feature_from_json({"kind": "embedding", "name": "a", "side": "user"})
    with pytest.raises(ValueError, match="not fitted"):
        Categorical("a", "user").encode(column("x"))


def test_fitting_on_a_table_without_the_column_names_the_columns() -> None:
    with pytest.raises(DataError, match=r"no column 'occupation'.*gender"):
        SideFeatures((Categorical("occupation", "user"),)).fit(tables()[0], None)
    with pytest.raises(DataError, match="needs a user table"):
        SideFeatures((Categorical("occupation", "user"),)).fit(None, None)


def test_raw_rows_of_a_new_user_may_leave_attributes_out() -> None:
    spec = declared().fit(*tables())
    assert spec.encode("user", pd.DataFrame({"gender": ["M"]})).tolist() == [[2, 0]]


def test_fit_side_features_encodes_every_index_and_a_side_without_features_is_empty() -> None:
    frame = pd.DataFrame({"user": ["1", "2"], "item": ["a", "b"], "rating": [4.0, 2.0]})
    items = pd.DataFrame({"genres": ["Drama", "Action|Drama", "Comedy"]}, index=pd.Index(["a", "b", "c"]))
    data = ratings_from_frame(frame, item_table=items)
    encoded = fit_side_features(SideFeatures((MultiHot("genres", "item"),)).to_json(), data)
    assert encoded is not None
    assert encoded.users.shape == (2, 0)
    assert encoded.items.tolist() == [[3, -1], [1, 3], [2, -1]]
    assert fit_side_features(None, data) is None


def test_the_movielens_preset_encodes_all_users_and_movies(movielens: Ratings) -> None:
    encoded = fit_side_features(movielens_features().to_json(), movielens)
    assert encoded is not None
    assert encoded.users.shape == (943, 4) and encoded.items.shape == (1682, 7)
    spec = encoded.spec
    assert len(spec.feature("occupation").labels()) == 22  # 21 occupations + unknown
    assert (encoded.users[:, :3] > 0).all()  # age, gender, occupation always known
    toy_story = movielens.item_ids.index("1")
    genres = spec.feature("genres").labels()
    assert {genres[i] for i in encoded.items[toy_story, :6] if i >= 0} == {"Animation", "Children's", "Comedy"}
    assert (encoded.items[:, 6] == 0).sum() == 1  # one movie has no release date


# --- declarations -----------------------------------------------------------------------------
def test_inline_declarations_name_side_column_kind_and_options() -> None:
    declaration = parse_features(
        "users=people.csv,user.age:bucket:edges=18/30,user.zip:hashed:buckets=10:prefix=2,item.genres:multi,age*genres"
    )
    features = declaration.features
    assert declaration.users == Path("people.csv") and declaration.items is None
    assert features.feature("age") == Bucketised("age", "user", edges=(18, 30))
    assert features.feature("zip") == Hashed("zip", "user", buckets=10, prefix=2)
    assert features.feature("genres") == MultiHot("genres", "item")
    assert features.crosses == (Cross("age", "genres"),)


@pytest.mark.parametrize(
    ("text", "message"),
    [("age", "SIDE.COLUMN"), ("user.age:bucket:edges=30/20", "increase"), ("movies=x.csv", "users=PATH")],
)
def test_bad_inline_declarations_say_what_is_wrong(text: str, message: str) -> None:
    with pytest.raises(DataError, match=message):
        parse_features(text)


def test_a_toml_file_declares_tables_relative_to_itself_and_features(tmp_path: Path) -> None:
    path = tmp_path / "features.toml"
    path.write_text(
        'users = "users.csv"\ncrosses = [["gender", "genres"]]\n'
        '[features.gender]\nside = "user"\n'
        '[features.genres]\nside = "item"\nkind = "multi_hot"\nseparator = ";"\n',
        encoding="utf-8",
    )
    declaration = parse_features(str(path))
    assert declaration.users == tmp_path / "users.csv"
    assert declaration.features.feature("genres") == MultiHot("genres", "item", separator=";")
    path.write_text('[features.gender]\nside = "user"\ncolour = "red"\n', encoding="utf-8")
    with pytest.raises(DataError, match="colour"):
        parse_features(str(path))


def test_widedeep_defaults_to_the_movielens_preset_and_asks_for_features_elsewhere() -> None:
    assert declare_features(None, "dot", "movielens") is None
    default = declare_features(None, "widedeep", "movielens")
    assert default is not None and default.features == movielens_features()
    with pytest.raises(DataError, match="--features"):
        declare_features(None, "widedeep", "csv")


def test_side_tables_are_read_by_id_and_aligned_to_the_catalog(tmp_path: Path) -> None:
    path = tmp_path / "users.csv"
    path.write_text("userId,zip,age\n2,02139,31\n1,94043,\n9,10001,50\n", encoding="utf-8")
    table = read_side_table(path, "user")
    assert list(table.index) == ["2", "1", "9"] and table.loc["2", "zip"] == "02139"
    frame = pd.DataFrame({"user": ["1", "2", "3"], "item": ["a", "a", "b"], "rating": [1.0, 2.0, 3.0]})
    data = with_side_tables(ratings_from_frame(frame), user_table=table)
    assert data.user_table is not None
    assert data.user_table["zip"].tolist()[:2] == ["94043", "02139"]
    assert data.user_table["zip"].isna().tolist() == [False, False, True]  # user 3: unknown attributes
    path.write_text("user,age\n1,20\n1,30\n", encoding="utf-8")
    with pytest.raises(DataError, match="more than once"):
        read_side_table(path, "user")
