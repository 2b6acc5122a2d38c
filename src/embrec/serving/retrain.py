"""Training data for a new version: the original training ratings plus what the store collected.

Store ratings are raw ids. Users the catalog does not know (people who onboarded through the
service) are appended to the user map, so every existing index keeps its meaning; items the
catalog does not know are dropped and counted (a new item needs its own placement). When a
(user, item) pair appears several times, in the original data or the store, the latest store
rating wins.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from embrec.data.ratings import Ratings
from embrec.serving.ratings_store import StoredRating


def merge_store(train: Ratings, stored: Sequence[StoredRating]) -> tuple[Ratings, dict[str, int]]:
    """``train`` followed by the store's ratings; returns the merged ratings and what was kept."""
    latest = pd.DataFrame(
        {"user": [r.user for r in stored], "item": [r.item for r in stored], "rating": [r.rating for r in stored]}
    ).drop_duplicates(["user", "item"], keep="last")
    known_item = np.array([item in train.item_ids for item in latest["item"]], dtype=bool)
    kept = latest[known_item]
    new_users = [u for u in dict.fromkeys(kept["user"]) if u not in train.user_ids]
    user_ids = train.user_ids.extended(new_users)
    users = user_ids.indices(list(kept["user"]))
    items = train.item_ids.indices(list(kept["item"]))
    stored_keys = set(zip(users.tolist(), items.tolist(), strict=True))
    keep_original = np.array([(u, i) not in stored_keys for u, i in zip(train.users, train.items, strict=True)])
    original = train.subset(keep_original)
    merged = Ratings(
        users=np.concatenate([original.users, users]).astype(np.int32),
        items=np.concatenate([original.items, items]).astype(np.int32),
        ratings=np.concatenate([original.ratings, kept["rating"].to_numpy(np.float32)]),
        user_ids=user_ids,
        item_ids=train.item_ids,
        scale=train.scale,
        item_table=train.item_table,
        user_table=_extended_table(train.user_table, len(new_users)),
        name=f"{train.name}+store",
    )
    counts = {
        "original": len(original),
        "store": len(kept),
        "store_unknown_items": int((~known_item).sum()),
        "new_users": len(new_users),
        "replaced": len(train) - len(original),
    }
    return merged, counts


def _extended_table(table: pd.DataFrame | None, extra: int) -> pd.DataFrame | None:
    """The user side table with ``extra`` empty rows for the new users."""
    if table is None or extra == 0:
        return table
    empty = pd.DataFrame({column: [None] * extra for column in table.columns})
    return pd.concat([table, empty], ignore_index=True)
