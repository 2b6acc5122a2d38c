"""The kinds of side feature: how one column of a side table becomes integer ids.

Each kind turns a column into ``(rows, width)`` local ids in ``0..size-1``; id 0 is the *unknown*
slot (missing value, unseen category, token outside the vocabulary), -1 pads multi-hot rows.
``x`` is the cell, ``text`` its string form, optionally cut to ``prefix`` characters:

- :class:`Categorical`: ``id = 1 + position of text in the vocabulary`` (values seen at least
  ``min_count`` times when fitting, sorted).
- :class:`MultiHot`: the set of ``separator``-separated tokens (genres ``Action|Comedy``), each
  token encoded as a categorical; rows padded to the widest row seen when fitting.
- :class:`Bucketised`: numeric; edges ``e_1 < ... < e_k`` give ``id = 1 + #{j : e_j <= x}``, so
  ids ``1..k+1``; without edges, the ``quantiles``-quantiles of the fitted column.
- :class:`Hashed`: ``id = 1 + crc32(text) mod buckets``: no vocabulary, stable across runs and
  machines, for high-cardinality columns (zip codes or their prefix).
"""

from __future__ import annotations

import itertools
import zlib
from collections.abc import Mapping
from dataclasses import dataclass, fields, replace
from typing import Any, ClassVar, Literal, Self

import numpy as np
import pandas as pd

Side = Literal["user", "item"]
SIDES: tuple[Side, ...] = ("user", "item")
UNKNOWN = 0
PAD = -1


@dataclass(frozen=True)
class _Feature:
    """What every kind shares: a name, the side table and column it reads, the fitted state."""

    kind: ClassVar[str] = ""
    name: str
    side: Side
    column: str = ""  # the table column; defaults to ``name``

    def __post_init__(self) -> None:
        if not self.name or not all(c.isalnum() or c in "_-" for c in self.name):
            raise ValueError(f"feature name {self.name!r}: use letters, digits, '_' or '-'")
        if self.side not in SIDES:
            raise ValueError(f"feature {self.name!r}: side must be 'user' or 'item', not {self.side!r}")
        if not self.column:
            object.__setattr__(self, "column", self.name)

    @property
    def fitted(self) -> bool:
        return True

    @property
    def size(self) -> int:
        raise NotImplementedError

    @property
    def width(self) -> int:
        return 1

    def fit(self, values: pd.Series) -> Self:
        """A copy with the data-dependent state (vocabulary, edges, width) taken from ``values``;
        a feature already fitted is returned unchanged, so re-fitting a saved spec is a no-op."""
        return self

    def encode(self, values: pd.Series) -> np.ndarray:
        """``(len(values), width)`` int64 local ids; 0 = unknown, -1 = padding."""
        raise NotImplementedError

    def labels(self) -> list[str]:
        """A readable label for each local id ``0..size-1``."""
        raise NotImplementedError

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {"kind": self.kind}
        for f in fields(self):
            value = getattr(self, f.name)
            data[f.name] = list(value) if isinstance(value, tuple) else value
        return data | {"size": self.size if self.fitted else None, "width": self.width if self.fitted else None}

    def _check_fitted(self) -> None:
        if not self.fitted:
            raise ValueError(f"feature {self.name!r} is not fitted: call SideFeatures.fit first")


@dataclass(frozen=True)
class Categorical(_Feature):
    kind: ClassVar[str] = "categorical"
    prefix: int | None = None
    min_count: int = 1
    vocabulary: tuple[str, ...] | None = None

    @property
    def fitted(self) -> bool:
        return self.vocabulary is not None

    @property
    def size(self) -> int:
        self._check_fitted()
        return 1 + len(self.vocabulary or ())

    def fit(self, values: pd.Series) -> Self:
        if self.fitted:
            return self
        return replace(self, vocabulary=_vocabulary(_texts(values, self.prefix), self.min_count))

    def encode(self, values: pd.Series) -> np.ndarray:
        return _lookup(self._index(), _texts(values, self.prefix))[:, None]

    def labels(self) -> list[str]:
        return ["(unknown)", *(self.vocabulary or ())]

    def _index(self) -> pd.Index:
        self._check_fitted()
        return pd.Index(list(self.vocabulary or ()), dtype=object)


@dataclass(frozen=True)
class MultiHot(Categorical):
    kind: ClassVar[str] = "multi_hot"
    separator: str = "|"
    max_width: int | None = None  # fitted: the most distinct tokens in a row

    @property
    def fitted(self) -> bool:
        return self.vocabulary is not None and self.max_width is not None

    @property
    def width(self) -> int:
        self._check_fitted()
        return self.max_width or 1

    def fit(self, values: pd.Series) -> Self:
        if self.fitted:
            return self
        rows, tokens = _tokens(_texts(values, self.prefix), self.separator)
        widest = int(pd.Series(rows).groupby(rows).size().max()) if len(rows) else 1
        return replace(self, vocabulary=_vocabulary(tokens, self.min_count), max_width=max(widest, 1))

    def encode(self, values: pd.Series) -> np.ndarray:
        rows, tokens = _tokens(_texts(values, self.prefix), self.separator)
        ids = _lookup(self._index(), tokens)
        out = np.full((len(values), self.width), PAD, dtype=np.int64)
        out[:, 0] = UNKNOWN  # rows without a single token
        if len(rows):
            pairs = pd.DataFrame({"row": rows, "id": ids}).drop_duplicates()
            slot = pairs.groupby("row").cumcount().to_numpy()
            keep = slot < self.width  # rows wider than when fitting lose their last tokens
            out[pairs["row"].to_numpy()[keep], slot[keep]] = pairs["id"].to_numpy()[keep]
        return out


@dataclass(frozen=True)
class Bucketised(_Feature):
    kind: ClassVar[str] = "bucket"
    edges: tuple[float, ...] | None = None
    quantiles: int = 5

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.edges is not None:
            object.__setattr__(self, "edges", tuple(float(e) for e in self.edges))
            if any(b <= a for a, b in zip(self.edges, self.edges[1:], strict=False)):
                raise ValueError(f"feature {self.name!r}: bucket edges must increase, got {list(self.edges)}")
        if self.quantiles < 2:
            raise ValueError(f"feature {self.name!r}: quantiles must be at least 2")

    @property
    def fitted(self) -> bool:
        return self.edges is not None

    @property
    def size(self) -> int:
        self._check_fitted()
        return len(self.edges or ()) + 2

    def fit(self, values: pd.Series) -> Self:
        if self.fitted:
            return self
        x = _numbers(values)
        x = x[np.isfinite(x)]
        probs = np.arange(1, self.quantiles) / self.quantiles
        edges = tuple(float(e) for e in np.unique(np.quantile(x, probs))) if len(x) else ()
        return replace(self, edges=edges)

    def encode(self, values: pd.Series) -> np.ndarray:
        self._check_fitted()
        x = _numbers(values)
        ids = 1 + np.searchsorted(np.asarray(self.edges, dtype=float), x, side="right")
        return np.where(np.isfinite(x), ids, UNKNOWN).astype(np.int64)[:, None]

    def labels(self) -> list[str]:
        edges = [f"{e:g}" for e in self.edges or ()]
        if not edges:
            return ["(unknown)", "(any)"]
        middle = [f"[{a}, {b})" for a, b in itertools.pairwise(edges)]
        return ["(unknown)", f"< {edges[0]}", *middle, f">= {edges[-1]}"]


@dataclass(frozen=True)
class Hashed(_Feature):
    kind: ClassVar[str] = "hashed"
    buckets: int = 100
    prefix: int | None = None

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.buckets < 1:
            raise ValueError(f"feature {self.name!r}: buckets must be positive")

    @property
    def size(self) -> int:
        return self.buckets + 1

    def encode(self, values: pd.Series) -> np.ndarray:
        texts = _texts(values, self.prefix)
        uniques, inverse = np.unique(texts.astype(str), return_inverse=True)
        hashed = np.array([1 + zlib.crc32(u.encode("utf-8")) % self.buckets for u in uniques], dtype=np.int64)
        ids = hashed[inverse] if len(uniques) else np.zeros(0, dtype=np.int64)
        return np.where(texts == "", UNKNOWN, ids).astype(np.int64)[:, None]

    def labels(self) -> list[str]:
        return ["(unknown)", *(f"#{b}" for b in range(1, self.buckets + 1))]


Feature = Categorical | MultiHot | Bucketised | Hashed
KINDS: dict[str, type[Feature]] = {k.kind: k for k in (Categorical, MultiHot, Bucketised, Hashed)}


def feature_from_json(data: Mapping[str, Any]) -> Feature:
    """One feature from its JSON (``kind`` plus the dataclass fields; ``size``/``width`` ignored)."""
    values = dict(data)
    kind = str(values.pop("kind", "categorical"))
    if kind not in KINDS:
        raise ValueError(f"unknown feature kind {kind!r}; choose one of {', '.join(KINDS)}")
    cls = KINDS[kind]
    known = {f.name for f in fields(cls)}
    unknown = set(values) - known - {"size", "width"}
    if unknown:
        raise ValueError(f"unknown keys for a {kind} feature: {sorted(unknown)}")
    args: dict[str, Any] = {k: tuple(v) if isinstance(v, list) else v for k, v in values.items() if k in known}
    return cls(**args)


# --- helpers -----------------------------------------------------------------------------
def _texts(values: pd.Series, prefix: int | None = None) -> np.ndarray:
    """Each cell as stripped text ("" when missing); whole floats lose their ".0"."""
    texts = np.array([_text(v) for v in values.to_numpy(dtype=object)], dtype=object)
    if prefix is not None:
        texts = np.array([t[:prefix] for t in texts], dtype=object)
    return texts


def _text(value: object) -> str:
    if value is None or value is pd.NA or value is pd.NaT:
        return ""
    if isinstance(value, float | np.floating):
        if np.isnan(value):
            return ""
        if float(value).is_integer():
            return str(int(value))
    return str(value).strip()


def _numbers(values: pd.Series) -> np.ndarray:
    return pd.to_numeric(values, errors="coerce").to_numpy(dtype=float, na_value=np.nan)


def _vocabulary(texts: np.ndarray, min_count: int) -> tuple[str, ...]:
    counts = pd.Series(texts[texts != ""]).value_counts()
    return tuple(sorted(str(v) for v in counts.index[counts.to_numpy() >= min_count]))


def _lookup(index: pd.Index, texts: np.ndarray) -> np.ndarray:
    """1 + position in the vocabulary, 0 when absent or empty."""
    if len(texts) == 0:
        return np.zeros(0, dtype=np.int64)
    position = index.get_indexer(pd.Index(texts.astype(str), dtype=object)) if len(index) else np.full(len(texts), -1)
    return np.where(texts == "", UNKNOWN, position + 1).astype(np.int64)


def _tokens(texts: np.ndarray, separator: str) -> tuple[np.ndarray, np.ndarray]:
    """(row, token) pairs of the non-empty tokens of each text."""
    split = [[t.strip() for t in text.split(separator)] if text else [] for text in texts]
    rows = np.array([r for r, tokens in enumerate(split) for t in tokens if t], dtype=np.int64)
    tokens = np.array([t for tokens in split for t in tokens if t], dtype=object)
    return rows, tokens
