"""IdMap: raw ids (always strings) <-> dense indices, numeric ids in numeric order, unknown ids explicit."""

from __future__ import annotations

import numpy as np
import pytest

from embrec.data.ids import IdMap, UnknownIdError


def test_numeric_ids_are_ordered_numerically_not_as_text() -> None:
    id_map, codes = IdMap.encode(["10", "2", "1", "2"], kind="user")
    assert id_map.ids == ("1", "2", "10")
    assert codes.tolist() == [2, 1, 0, 1]
    assert codes.dtype == np.int32


def test_integer_ids_become_strings() -> None:
    id_map, _ = IdMap.encode(np.array([30, 4, 4]))
    assert id_map.ids == ("4", "30")
    assert id_map.index(30) == id_map.index("30") == 1
    assert 4 in id_map and "4" in id_map


def test_ids_that_are_not_all_numbers_are_ordered_as_text() -> None:
    id_map, codes = IdMap.encode(["b", "10", "a", "2"])
    assert id_map.ids == ("10", "2", "a", "b")
    assert id_map.raws(codes) == ["b", "10", "a", "2"]


def test_encoding_then_decoding_gives_back_the_raw_column() -> None:
    raw = ["u7", "u3", "u7", "u11", "u3"]
    id_map, codes = IdMap.encode(raw)
    assert id_map.raws(codes) == raw
    np.testing.assert_array_equal(id_map.indices(raw), codes)


def test_an_unknown_id_raises_an_error_naming_kind_and_id() -> None:
    id_map = IdMap(("1", "2"), kind="item")
    with pytest.raises(UnknownIdError) as caught:
        id_map.index("3")
    assert str(caught.value) == "unknown item id '3'"
    assert caught.value.kind == "item" and caught.value.raw == "3"
    assert isinstance(caught.value, KeyError)


def test_many_ids_with_an_unknown_one_raise_or_map_it_to_minus_one() -> None:
    id_map = IdMap(("1", "2", "3"), kind="user")
    with pytest.raises(UnknownIdError, match="unknown user id '9'"):
        id_map.indices(["1", "9"])
    assert id_map.indices(["3", "9", "1"], unknown="missing").tolist() == [2, -1, 0]


def test_suggestions_appear_in_the_message() -> None:
    error = UnknownIdError("item", "Star Wars", ["Star Wars (1977)"])
    assert str(error) == "unknown item id 'Star Wars'; did you mean 'Star Wars (1977)'?"


def test_extending_appends_new_ids_and_keeps_existing_indices() -> None:
    id_map = IdMap(("1", "5"), kind="user")
    grown = id_map.extended(["new", "7"])
    assert grown.ids == ("1", "5", "new", "7")
    assert grown.index("5") == 1 and grown.index("new") == 2
    assert grown.kind == "user" and len(grown) == 4


def test_repeated_ids_are_refused() -> None:
    with pytest.raises(ValueError, match="not unique"):
        IdMap(("1", "1"), kind="user")
    with pytest.raises(ValueError, match="not unique"):
        IdMap(("1", "2")).extended(["2"])
