"""The ratings store: created on first use, WAL, committed writes, users, and the merge for retraining."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import sqlalchemy as sa

from embrec.data.ids import IdMap
from embrec.data.ratings import Ratings
from embrec.serving.ratings_store import DuplicateUserError, RatingsStore, StoredRating, display_url
from embrec.serving.retrain import merge_store


def test_the_database_file_is_created_in_wal_mode(tmp_path: Path) -> None:
    path = tmp_path / "sub" / "store.db"
    store = RatingsStore(f"sqlite:///{path}")
    assert path.is_file() and store.count() == 0
    with store.engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA synchronous").scalar() == 2  # FULL
    store.close()


def test_ratings_and_users_round_trip_and_survive_reopening(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'store.db'}"
    store = RatingsStore(url)
    assert store.add_ratings([StoredRating("1", "50", 4.0), StoredRating("1", "51", 2.5)]) == 2
    store.add_user("ada", {"genres": ["Drama"]}, [StoredRating("ada", "50", 5.0)])
    with pytest.raises(DuplicateUserError):
        store.add_user("ada", {})
    store.close()
    again = RatingsStore(url)
    triples = [(r.user, r.item, r.rating) for r in again.ratings()]
    assert triples == [("1", "50", 4.0), ("1", "51", 2.5), ("ada", "50", 5.0)]
    assert [r.item for r in again.ratings(user="1")] == ["50", "51"]
    assert [(u.user, u.profile) for u in again.users()] == [("ada", {"genres": ["Drama"]})]
    assert again.has_user("ada") and not again.has_user("1")
    again.close()


def test_passwords_are_hidden_in_displayed_urls() -> None:
    assert "secret" not in display_url("postgresql://me:secret@db/embrec")
    assert sa.make_url(display_url("sqlite:///x.db")).database == "x.db"


def test_merging_the_store_into_training_data() -> None:
    train = Ratings(
        users=np.array([0, 0, 1], np.int32), items=np.array([0, 1, 1], np.int32),
        ratings=np.array([4, 3, 5], np.float32), user_ids=IdMap(("a", "b"), "user"),
        item_ids=IdMap(("x", "y", "z"), "item"), scale=(1.0, 5.0),
    )  # fmt: skip
    stored = [
        StoredRating("a", "y", 1.0),  # replaces a's earlier rating of y
        StoredRating("new", "z", 4.0),  # a new user is appended to the map
        StoredRating("new", "z", 2.0),  # the latest rating of a pair wins
        StoredRating("b", "unknown", 3.0),  # an item outside the catalog is dropped
    ]
    merged, counts = merge_store(train, stored)
    assert merged.user_ids.ids == ("a", "b", "new")
    columns = (merged.user_ids.raws(merged.users), merged.item_ids.raws(merged.items), merged.ratings.tolist())
    triples = set(zip(*columns, strict=True))
    assert triples == {("a", "x", 4.0), ("b", "y", 5.0), ("a", "y", 1.0), ("new", "z", 2.0)}
    assert counts == {"original": 2, "store": 2, "store_unknown_items": 1, "new_users": 1, "replaced": 1}
