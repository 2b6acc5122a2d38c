"""The in-memory ratings table every other part of embrec reads."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, replace

import numpy as np
import pandas as pd

from embrec.data.ids import IdMap


@dataclass(frozen=True, eq=False)
class Ratings:
    """Explicit ratings as parallel arrays over a fixed universe of users and items.

    ``users``/``items`` are int32 indices into ``user_ids``/``item_ids``, ``ratings`` float32.
    The id maps describe the whole catalog: a subset (a split's training part) keeps the maps
    of the full data, so indices agree across splits and items without any training rating
    still exist. ``item_table``/``user_table`` are side tables with one row per index
    (``title``, ``genres``... for items; ``age``, ``gender``... for users), or ``None``.
    ``scale`` is the rating scale ``(lowest, highest)``: declared by the user or observed.
    """

    users: np.ndarray
    items: np.ndarray
    ratings: np.ndarray
    user_ids: IdMap
    item_ids: IdMap
    scale: tuple[float, float]
    timestamps: np.ndarray | None = None
    item_table: pd.DataFrame | None = None
    user_table: pd.DataFrame | None = None
    name: str = "ratings"

    def __post_init__(self) -> None:
        n = len(self.ratings)
        if not (len(self.users) == len(self.items) == n):
            raise ValueError("users, items and ratings must have the same length")
        if self.timestamps is not None and len(self.timestamps) != n:
            raise ValueError("timestamps must have one entry per rating")

    def __len__(self) -> int:
        return len(self.ratings)

    @property
    def n_users(self) -> int:
        return len(self.user_ids)

    @property
    def n_items(self) -> int:
        return len(self.item_ids)

    def subset(self, mask_or_index: np.ndarray, name: str | None = None) -> Ratings:
        """The ratings selected by a boolean mask or an index array, over the same catalog."""
        sel = mask_or_index
        ts = None if self.timestamps is None else self.timestamps[sel]
        return replace(
            self,
            users=self.users[sel],
            items=self.items[sel],
            ratings=self.ratings[sel],
            timestamps=ts,
            name=name or self.name,
        )

    def concat(self, other: Ratings, name: str | None = None) -> Ratings:
        """These ratings followed by ``other``'s (same id maps required)."""
        if other.user_ids.ids != self.user_ids.ids or other.item_ids.ids != self.item_ids.ids:
            raise ValueError("cannot concatenate ratings over different id maps")
        ts = None
        if self.timestamps is not None and other.timestamps is not None:
            ts = np.concatenate([self.timestamps, other.timestamps])
        return replace(
            self,
            users=np.concatenate([self.users, other.users]),
            items=np.concatenate([self.items, other.items]),
            ratings=np.concatenate([self.ratings, other.ratings]),
            timestamps=ts,
            name=name or self.name,
        )

    def item_counts(self) -> np.ndarray:
        """Number of ratings per item index (int64, length ``n_items``)."""
        return np.bincount(self.items, minlength=self.n_items)

    def user_counts(self) -> np.ndarray:
        return np.bincount(self.users, minlength=self.n_users)

    def mean(self) -> float:
        return float(self.ratings.mean()) if len(self) else float(np.mean(self.scale))

    def fingerprint(self) -> str:
        """SHA-256 over the (user, item, rating) triples: identifies the training data."""
        digest = hashlib.sha256()
        for array in (self.users, self.items, self.ratings):
            digest.update(np.ascontiguousarray(array).tobytes())
        return digest.hexdigest()

    def title(self, item_index: int) -> str:
        """The item's title when the item table has one, else its raw id."""
        if self.item_table is not None and "title" in self.item_table.columns:
            titles = self.item_table["title"]
            if not titles.isna().iat[item_index]:  # an item the items file does not list has none
                return str(titles.iat[item_index])
        return self.item_ids.raw(item_index)

    def to_frame(self) -> pd.DataFrame:
        """Raw ids and ratings as a DataFrame (for inspection and export)."""
        frame = pd.DataFrame(
            {
                "user": np.asarray(self.user_ids.ids, dtype=object)[self.users],
                "item": np.asarray(self.item_ids.ids, dtype=object)[self.items],
                "rating": self.ratings,
            }
        )
        if self.timestamps is not None:
            frame["timestamp"] = self.timestamps
        return frame
