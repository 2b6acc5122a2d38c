"""Readers for ratings tables a user brings: CSV, TSV or Parquet, with validation.

Every problem is reported as a :class:`DataError` naming the file, the line where known
(1-based, the header counting as line 1) and the problem; nothing is returned half-loaded.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd

from embrec.data.errors import DataError
from embrec.data.ids import IdMap
from embrec.data.ratings import Ratings

Duplicates = Literal["error", "last", "mean"]

# Accepted spellings of each column, compared after lower-casing and dropping "_" and " ".
_ALIASES: dict[str, tuple[str, ...]] = {
    "user": ("user", "userid", "uid", "users", "customer", "customerid", "reviewerid"),
    "item": ("item", "itemid", "iid", "movie", "movieid", "product", "productid", "asin", "isbn"),
    "rating": ("rating", "ratings", "score", "stars", "value", "bookrating"),
    "timestamp": ("timestamp", "time", "ts", "unixtime", "date", "datetime"),
}
_SEPARATORS = (",", "\t", ";", "|", "::")
_WHITESPACE = r"\s+"


@dataclass(frozen=True)
class Columns:
    """Which column of the file holds each field; ``timestamp`` is optional."""

    user: str
    item: str
    rating: str
    timestamp: str | None = None


def read_ratings(
    path: str | Path,
    columns: Columns | None = None,
    sep: str | None = None,
    scale: tuple[float, float] | None = None,
    duplicates: Duplicates = "error",
    items_path: str | Path | None = None,
) -> Ratings:
    """Read a ratings table (CSV/TSV by content, ``.parquet`` by suffix) into :class:`Ratings`.

    Columns are taken from ``columns`` or detected from the header (``userId,movieId,rating,
    timestamp`` and common variants); a file without a header is read positionally as
    user, item, rating[, timestamp]. ``scale`` declares the rating range (values outside it are
    an error); otherwise the observed minimum and maximum are used. Duplicate (user, item)
    pairs are an error unless ``duplicates`` is ``"last"`` or ``"mean"``. ``items_path`` adds an
    item table (titles, pipe-separated genres) and its items to the catalog.
    """
    path = Path(path)
    frame, first_line = _read_table(path, sep, columns)
    cols = columns or _detect_columns(frame, path)
    frame = _validated(frame, cols, path, first_line, scale)
    frame = _resolve_duplicates(frame, path, first_line, duplicates)
    item_table = read_items(items_path) if items_path is not None else None
    return ratings_from_frame(frame, scale=scale, item_table=item_table, name=path.name)


def ratings_from_frame(
    frame: pd.DataFrame,
    scale: tuple[float, float] | None = None,
    item_table: pd.DataFrame | None = None,
    user_table: pd.DataFrame | None = None,
    name: str = "ratings",
) -> Ratings:
    """Encode a validated frame with columns user, item, rating[, timestamp] into Ratings.

    ``item_table``/``user_table`` are indexed by raw id (string); ids they hold beyond the
    ratings join the catalog, and the tables are re-indexed by dense index.
    """
    user_ids, users = IdMap.encode(frame["user"], kind="user")
    item_ids, items = IdMap.encode(frame["item"], kind="item")
    item_ids, item_table = _align(item_ids, item_table)
    user_ids, user_table = _align(user_ids, user_table)
    ratings = frame["rating"].to_numpy(dtype=np.float32)
    observed = (float(ratings.min()), float(ratings.max()))
    timestamps = frame["timestamp"].to_numpy(dtype=np.int64) if "timestamp" in frame else None
    return Ratings(
        users=users,
        items=items,
        ratings=ratings,
        user_ids=user_ids,
        item_ids=item_ids,
        scale=scale or observed,
        timestamps=timestamps,
        item_table=item_table,
        user_table=user_table,
        name=name,
    )


def read_items(path: str | Path, sep: str | None = None) -> pd.DataFrame:
    """An items file (id, title, genres) as a table indexed by raw item id (string).

    Genres may be pipe-separated (``Action|Comedy``), as in later MovieLens releases.
    """
    path = Path(path)
    frame, _ = _read_table(path, sep)
    names = {_normalise(c): c for c in frame.columns}
    id_col = next((names[a] for a in _ALIASES["item"] if a in names), None)
    if id_col is None:
        columns = list(frame.columns)
        raise DataError(f"no item id column (looked for movieId, item, item_id); columns are {columns}", path)
    table = frame.rename(columns={id_col: "item"})
    table["item"] = table["item"].astype(str)
    if table["item"].duplicated().any():
        dup = table["item"][table["item"].duplicated()].iloc[0]
        raise DataError(f"item {dup!r} is listed more than once", path)
    return table.set_index("item")


def _align(id_map: IdMap, table: pd.DataFrame | None) -> tuple[IdMap, pd.DataFrame | None]:
    if table is None:
        return id_map, None
    table = table.copy()
    table.index = table.index.astype(str)
    extra = [i for i in table.index if i not in id_map]
    id_map = id_map.extended(extra) if extra else id_map
    return id_map, table.reindex(list(id_map.ids)).reset_index(drop=True)


def _read_table(path: Path, sep: str | None, columns: Columns | None = None) -> tuple[pd.DataFrame, int]:
    """The raw table and the line number of its first data row.

    User and item columns are read as text, so ids keep their form (``0132793040`` keeps its
    leading zero); the other columns are parsed natively (fast), and checked later.
    """
    if not path.exists():
        raise DataError("file not found", path)
    if path.is_dir():
        raise DataError("is a folder, expected a ratings file", path)
    if path.stat().st_size == 0:
        raise DataError("file is empty", path)
    if _is_parquet(path):
        return _read_parquet(path), 1
    head = _first_line(path)
    if not head.strip():
        raise DataError("first line is empty (expected a header or a first rating)", path, 1)
    sep = sep or _sniff_separator(head, path)
    fields = [f.strip().strip("'\"") for f in (re.split(sep, head) if sep == _WHITESPACE else head.split(sep))]
    header = _is_header(fields)
    try:
        frame = pd.read_csv(
            path,
            sep=sep,
            header=0 if header else None,
            dtype=_id_dtypes(fields, columns) if header else {0: str, 1: str},
            encoding="utf-8-sig",
            skipinitialspace=True,  # "1, 2, 4": ids "1" and "2", not " 2"
            skip_blank_lines=False,
            engine="python" if len(sep) > 1 else "c",
        )
    except pd.errors.ParserError as exc:
        raise _parser_error(exc, path) from None
    except pd.errors.EmptyDataError:
        raise DataError("file is empty", path) from None
    except UnicodeDecodeError as exc:
        raise DataError(f"not UTF-8 text ({exc.reason}); convert the file to UTF-8", path) from None
    if frame.empty:
        raise DataError("file has a header but no ratings", path)
    if frame.shape[1] == 1:
        raise DataError(
            f"only one column after splitting on {sep!r}: wrong separator? pass the right one (--sep)", path, 1
        )
    if not header:
        frame.columns = [str(c) for c in range(frame.shape[1])]
    return frame, 2 if header else 1


def _read_parquet(path: Path) -> pd.DataFrame:
    try:
        frame = pd.read_parquet(path)
    except Exception as exc:  # pyarrow raises many types for corrupt files
        raise DataError(f"cannot read as Parquet: {exc}", path) from None
    if frame.empty:
        raise DataError("Parquet file holds no rows", path)
    return frame


def _first_line(path: Path) -> str:
    with path.open("r", encoding="utf-8-sig", errors="replace") as handle:
        return handle.readline().rstrip("\r\n")


def _sniff_separator(line: str, path: Path) -> str:
    counts = {s: line.count(s) for s in _SEPARATORS}
    best = max(counts, key=lambda s: counts[s])
    if counts[best] == 0:
        if len(line.split()) > 1:
            return _WHITESPACE
        raise DataError("cannot tell the column separator from the first line; pass --sep", path, 1)
    return best


def _is_header(fields: list[str]) -> bool:
    """Whether a first line names columns: it holds a known column name, or does not read as a
    rating (a user, an item, then a number), so ``u1,i7,4.5`` and ``196\t242\t3`` are data."""
    if any(_normalise(f) in aliases for f in fields for aliases in _ALIASES.values()):
        return True
    return len(fields) < 3 or not _is_number(fields[2])


def _id_dtypes(header: list[str], columns: Columns | None) -> dict[str, type[str]]:
    """``str`` for the header's user and item columns (named or recognised by their names)."""
    ids = set(_ALIASES["user"] + _ALIASES["item"])
    named = {columns.user, columns.item} if columns is not None else set()
    return {name: str for name in header if name in named or _normalise(name) in ids}


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _normalise(name: object) -> str:
    return re.sub(r"[\s_\-]", "", str(name)).lower()


def _detect_columns(frame: pd.DataFrame, path: Path) -> Columns:
    names = list(frame.columns)
    if names[0] == "0":  # no header: positional
        if len(names) < 3:
            raise DataError(f"expected at least 3 columns (user, item, rating), found {len(names)}", path, 1)
        return Columns("0", "1", "2", "3" if len(names) > 3 else None)
    found: dict[str, str] = {}
    for field, aliases in _ALIASES.items():
        match = next((c for c in names if _normalise(c) in aliases), None)
        if match is not None:
            found[field] = match
    missing = [f for f in ("user", "item", "rating") if f not in found]
    if missing:
        raise DataError(
            f"missing column(s) {', '.join(missing)}: the header has {names}; "
            "name the columns with --columns user,item,rating[,timestamp]",
            path,
            _header_line(path),
        )
    return Columns(found["user"], found["item"], found["rating"], found.get("timestamp"))


def _validated(
    frame: pd.DataFrame, cols: Columns, path: Path, first_line: int, scale: tuple[float, float] | None
) -> pd.DataFrame:
    for role, col in (("user", cols.user), ("item", cols.item), ("rating", cols.rating), ("timestamp", cols.timestamp)):
        if col is not None and col not in frame.columns:
            problem = f"{role} column {col!r} not found; columns are {list(frame.columns)}"
            raise DataError(problem, path, _header_line(path))
    out = pd.DataFrame({"user": frame[cols.user], "item": frame[cols.item], "rating": frame[cols.rating]})
    if cols.timestamp is not None:
        out["timestamp"] = frame[cols.timestamp]
    _check_present(out, path, first_line)
    out["rating"] = _numeric(out["rating"], "rating", path, first_line)
    if "timestamp" in out:
        out["timestamp"] = _timestamps(out["timestamp"], path, first_line)
    if scale is not None:
        lo, hi = scale
        bad = (out["rating"] < lo) | (out["rating"] > hi)
        if bad.any():
            row = int(np.argmax(bad.to_numpy()))
            value = out["rating"].iat[row]
            problem = f"rating {value:g} is outside the declared scale {lo:g}..{hi:g}"
            raise DataError(problem, path, _line(row, first_line, path))
    return out


def _check_present(frame: pd.DataFrame, path: Path, first_line: int) -> None:
    missing = frame.isna()
    if missing.to_numpy().any():
        row = int(np.argmax(missing.any(axis=1).to_numpy()))
        if missing.iloc[row].all():
            problem = "empty line"
        else:
            fields = [c for c in frame.columns if missing[c].iat[row]]
            problem = f"missing {', '.join(fields)} (a ragged line with too few fields, or NaN)"
        raise DataError(problem, path, _line(row, first_line, path))


def _numeric(column: pd.Series, role: str, path: Path, first_line: int) -> pd.Series:
    values = pd.to_numeric(column, errors="coerce")
    bad = values.isna().to_numpy() | ~np.isfinite(values.to_numpy(dtype=float, na_value=np.nan))
    if bad.any():
        row = int(np.argmax(bad))
        raise DataError(f"{role} {_shown(column.iat[row])} is not a finite number", path, _line(row, first_line, path))
    return values.astype(np.float64)


def _timestamps(column: pd.Series, path: Path, first_line: int) -> pd.Series:
    if pd.api.types.is_numeric_dtype(column) or pd.to_numeric(column, errors="coerce").notna().all():
        return _numeric(column, "timestamp", path, first_line).astype(np.int64)
    parsed = pd.to_datetime(column, errors="coerce", utc=True, format="mixed")  # each date parsed on its own
    if parsed.isna().any():
        row = int(np.argmax(parsed.isna().to_numpy()))
        problem = f"timestamp {_shown(column.iat[row])} is neither a number nor a date"
        raise DataError(problem, path, _line(row, first_line, path))
    seconds = (parsed - pd.Timestamp(0, tz="UTC")) // pd.Timedelta(seconds=1)  # whatever the datetime unit
    return pd.Series(seconds.to_numpy(dtype=np.int64), index=column.index)


def _resolve_duplicates(frame: pd.DataFrame, path: Path, first_line: int, policy: Duplicates) -> pd.DataFrame:
    dup = frame.duplicated(subset=["user", "item"], keep="first").to_numpy()
    if not dup.any():
        return frame
    if policy == "error":
        row = int(np.argmax(dup))
        user, item = frame["user"].iat[row], frame["item"].iat[row]
        earlier = int(np.argmax(((frame["user"] == user) & (frame["item"] == item)).to_numpy()))
        raise DataError(
            f"duplicate rating of item {str(item)!r} by user {str(user)!r} "
            f"(first on line {_line(earlier, first_line, path)}); resolve with --duplicates last|mean",
            path,
            _line(row, first_line, path),
        )
    if policy == "last":
        return frame.drop_duplicates(subset=["user", "item"], keep="last").reset_index(drop=True)
    agg = {"rating": "mean"} | ({"timestamp": "max"} if "timestamp" in frame else {})
    return frame.groupby(["user", "item"], sort=False, as_index=False).agg(agg)


def _shown(value: object) -> str:
    """A cell as the user wrote it: text quoted, numbers plain (``inf``, not ``np.float64(inf)``)."""
    if isinstance(value, str):
        return repr(value)
    if isinstance(value, int | float | np.number):
        return f"{float(value):g}"
    return repr(value)


def _header_line(path: Path) -> int | None:
    """Line 1 of a text file; a Parquet file has no lines."""
    return None if _is_parquet(path) else 1


def _is_parquet(path: Path) -> bool:
    return path.suffix.lower() in (".parquet", ".pq")


def _line(row: int, first_line: int, path: Path) -> int | None:
    return None if _is_parquet(path) else row + first_line


def _parser_error(exc: pd.errors.ParserError, path: Path) -> DataError:
    text = str(exc)
    match = re.search(r"Expected (\d+) fields in line (\d+), saw (\d+)", text)
    if match:
        expected, line, saw = (int(g) for g in match.groups())
        return DataError(f"ragged line: {saw} fields where the header has {expected}", path, line)
    return DataError(f"cannot parse: {text}", path)
