"""Translation between raw ids (strings as users give them) and dense indices."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
import numpy.typing as npt
import pandas as pd


class UnknownIdError(KeyError):
    """A raw id that the map does not contain."""

    def __init__(self, kind: str, raw: object, suggestions: Sequence[str] = ()):
        self.kind = kind
        self.raw = raw
        self.suggestions = list(suggestions)
        hint = f"; did you mean {', '.join(map(repr, suggestions))}?" if suggestions else ""
        super().__init__(f"unknown {kind} id {raw!r}{hint}")

    def __str__(self) -> str:  # KeyError would quote the whole message
        return str(self.args[0])


@dataclass(frozen=True)
class IdMap:
    """Raw ids <-> indices ``0..n-1``; raw ids are always strings.

    Ids are kept in first-seen-sorted order: numeric ids sort numerically, others as text,
    so that MovieLens user ``"2"`` comes before ``"10"``.
    """

    ids: tuple[str, ...]
    kind: str = "id"
    _index: pd.Index = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        index = pd.Index(self.ids, dtype=object)
        if not index.is_unique:
            raise ValueError(f"{self.kind} ids are not unique")
        object.__setattr__(self, "_index", index)

    def __len__(self) -> int:
        return len(self.ids)

    def __contains__(self, raw: object) -> bool:
        return str(raw) in self._index

    @classmethod
    def encode(cls, values: pd.Series | npt.ArrayLike, kind: str = "id") -> tuple[IdMap, np.ndarray]:
        """Build a map from a column of raw ids and return it with the int32 codes of the column.

        Vectorised (``pd.factorize``): no Python loop over rows, so 1e7 ids encode in seconds.
        """
        codes, uniques = pd.factorize(pd.Series(values), sort=False)
        order = _sort_order(np.asarray(uniques))
        rank = np.empty(len(order), dtype=np.int32)
        rank[order] = np.arange(len(order), dtype=np.int32)
        id_map = cls(tuple(str(v) for v in np.asarray(uniques)[order]), kind=kind)
        return id_map, rank[codes]

    def index(self, raw: object) -> int:
        """Index of one raw id; :class:`UnknownIdError` when absent."""
        position = self._index.get_indexer(pd.Index([str(raw)], dtype=object))[0]
        if position < 0:
            raise UnknownIdError(self.kind, raw)
        return int(position)

    def indices(
        self, raws: Iterable[object] | np.ndarray, unknown: Literal["error", "missing"] = "error"
    ) -> np.ndarray:
        """int32 indices of many raw ids; an unknown id raises, or maps to -1 with ``"missing"``."""
        values = np.asarray([str(r) for r in raws] if not isinstance(raws, np.ndarray) else raws.astype(str))
        positions = self._index.get_indexer(pd.Index(values, dtype=object)).astype(np.int32)
        if unknown == "error" and (positions < 0).any():
            raise UnknownIdError(self.kind, str(values[np.argmax(positions < 0)]))
        return positions

    def raw(self, index: int) -> str:
        return self.ids[index]

    def raws(self, indices: Iterable[int] | np.ndarray) -> list[str]:
        return [self.ids[int(i)] for i in np.asarray(indices).ravel()]

    def extended(self, new_ids: Sequence[str]) -> IdMap:
        """A map with ``new_ids`` appended (indices of existing ids unchanged)."""
        return IdMap(self.ids + tuple(str(i) for i in new_ids), kind=self.kind)


def _sort_order(values: np.ndarray) -> np.ndarray:
    """Numeric ids sort numerically, anything else as text."""
    numeric = pd.to_numeric(pd.Series(values), errors="coerce").to_numpy(dtype=float)
    if not np.isnan(numeric).any():
        return np.argsort(numeric, kind="stable")
    return np.argsort(np.asarray([str(v) for v in values]), kind="stable")
