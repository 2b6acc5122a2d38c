"""MovieLens 100k: find or fetch the files, parse ratings, movies, users and canonical folds.

Where the files come from, first match wins: an explicit ``data`` path (a folder or a zip),
the ``EMBREC_DATA_DIR`` environment variable, the cache ``~/.cache/embrec`` (or
``$XDG_CACHE_HOME/embrec``). A missing dataset is downloaded once from GroupLens, its SHA-256
verified, and unpacked atomically into the cache. The licence forbids redistribution, so
embrec never ships the files.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import urllib.request
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd

from embrec.data.errors import DataError
from embrec.data.files import sha256_file
from embrec.data.ratings import Ratings
from embrec.data.readers import ratings_from_frame
from embrec.data.splits import Split

URL = "https://files.grouplens.org/datasets/movielens/ml-100k.zip"
SHA256 = "50d2a982c66986937beb9ffb3aa76efe955bf3d5c6b761f4e3a7cd717c6a3229"
FOLDS = ("u1", "u2", "u3", "u4", "u5", "ua", "ub")
GENRES = (
    "unknown", "Action", "Adventure", "Animation", "Children's", "Comedy", "Crime", "Documentary",
    "Drama", "Fantasy", "Film-Noir", "Horror", "Musical", "Mystery", "Romance", "Sci-Fi",
    "Thriller", "War", "Western",
)  # fmt: skip
SCALE = (1.0, 5.0)
_REQUIRED = ("u.data", "u.item", "u.user")


def cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "embrec"


def locate_movielens(data: str | Path | None = None, download: bool = True) -> Path:
    """The folder holding ``u.data`` and friends, fetching the dataset when allowed and needed."""
    if data is not None:
        return _from_explicit(Path(data))
    root = Path(os.environ["EMBREC_DATA_DIR"]) if os.environ.get("EMBREC_DATA_DIR") else cache_dir()
    found = _find_in(root)
    if found is not None:
        return found
    if not download:
        raise DataError(_missing_message(root))
    return fetch_movielens(root)


def fetch_movielens(root: Path, url: str = URL, sha256: str = SHA256) -> Path:
    """Download ml-100k.zip into ``root``, verify its SHA-256 and unpack it to ``root/ml-100k``."""
    root.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=root) as tmp:
        archive = Path(tmp) / "ml-100k.zip"
        try:
            with urllib.request.urlopen(url, timeout=30) as response, archive.open("wb") as out:
                shutil.copyfileobj(response, out)
        except OSError as exc:
            raise DataError(f"could not download MovieLens 100k from {url} ({exc}). {_missing_message(root)}") from None
        digest = sha256_file(archive)
        if digest != sha256:
            raise DataError(f"downloaded file has SHA-256 {digest}, expected {sha256}; not using it", url)
        return _unpack(archive, root)


def _from_explicit(path: Path) -> Path:
    if not path.exists():
        raise DataError("no such file or folder (pass a MovieLens 100k folder or ml-100k.zip)", path)
    if path.is_file() and zipfile.is_zipfile(path):
        target = cache_dir() / "unpacked" / sha256_file(path)[:16]
        return _find_in(target) or _unpack(path, target)
    found = _find_in(path) if path.is_dir() else None
    if found is None:
        raise DataError(f"no MovieLens 100k files here (expected {', '.join(_REQUIRED)})", path)
    return found


def _find_in(root: Path) -> Path | None:
    for candidate in (root, root / "ml-100k"):
        if all((candidate / name).is_file() for name in _REQUIRED):
            return candidate
    return None


def _unpack(archive: Path, root: Path) -> Path:
    """Extract to a temporary folder, then rename into place (atomic: no half-unpacked cache)."""
    root.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=root) as tmp, zipfile.ZipFile(archive) as zf:
        for member in zf.namelist():
            if member.startswith("/") or ".." in Path(member).parts:
                raise DataError(f"unsafe path {member!r} in archive", archive)
        zf.extractall(tmp)
        found = _find_in(Path(tmp))
        if found is None:
            raise DataError(f"archive holds no MovieLens 100k files ({', '.join(_REQUIRED)})", archive)
        target = root / "ml-100k"
        if not _find_in(target):
            shutil.rmtree(target, ignore_errors=True)
            found.rename(target)
    return target


def _missing_message(root: Path) -> str:
    return (
        f"MovieLens 100k not found. Put the unpacked folder at {root / 'ml-100k'} (or ml-100k.zip's "
        "contents there), pass --data PATH (a folder or the zip), or set EMBREC_DATA_DIR. "
        f"The zip is at {URL}."
    )


def load_movielens(data: str | Path | None = None) -> Ratings:
    """All 100,000 ratings with the movie and user tables; scale 1..5."""
    folder = locate_movielens(data)
    frame = _read_udata(folder / "u.data")
    return ratings_from_frame(
        frame,
        scale=SCALE,
        item_table=_read_items(folder / "u.item"),
        user_table=_read_users(folder / "u.user"),
        name="ml-100k",
    )


def load_fold(fold: str, data: str | Path | None = None, full: Ratings | None = None) -> Split:
    """A canonical fold (u1..u5, ua, ub) read from its .base/.test files over the full catalog."""
    if fold not in FOLDS:
        raise DataError(f"unknown fold {fold!r}; choose one of {', '.join(FOLDS)}")
    folder = locate_movielens(data)
    full = full or load_movielens(folder)
    parts = []
    for part in ("base", "test"):
        frame = _read_udata(folder / f"{fold}.{part}")
        index = _match_rows(full, frame)
        parts.append(full.subset(index, name=f"{fold}.{part}"))
    return Split(train=parts[0], test=parts[1], name=fold)


def _match_rows(full: Ratings, frame: pd.DataFrame) -> np.ndarray:
    """Positions in ``full`` of the fold's (user, item) pairs."""
    users = full.user_ids.indices(frame["user"].astype(str).to_numpy())
    items = full.item_ids.indices(frame["item"].astype(str).to_numpy())
    key_full = full.users.astype(np.int64) * full.n_items + full.items
    order = np.argsort(key_full)
    key = users.astype(np.int64) * full.n_items + items
    pos = np.minimum(np.searchsorted(key_full[order], key), len(order) - 1)
    if not np.array_equal(key_full[order][pos], key):
        raise DataError("fold file holds a (user, item) pair that u.data does not")
    positions: np.ndarray = order[pos]
    return positions


def _read_udata(path: Path) -> pd.DataFrame:
    if not path.is_file():
        raise DataError("file not found", path)
    frame = pd.read_csv(path, sep="\t", header=None, names=["user", "item", "rating", "timestamp"])
    if frame.isna().to_numpy().any():
        row = int(np.argmax(frame.isna().any(axis=1).to_numpy()))
        raise DataError("expected 4 tab-separated fields", path, row + 1)
    return frame


def _read_items(path: Path) -> pd.DataFrame:
    names = ["item", "title", "release_date", "video_release_date", "url", *GENRES]
    frame = pd.read_csv(path, sep="|", header=None, names=names, encoding="latin-1")
    flags = frame[list(GENRES)].to_numpy(dtype=bool)
    genres = ["|".join(g for g, on in zip(GENRES, row, strict=True) if on) for row in flags]
    released = pd.to_datetime(frame["release_date"], format="%d-%b-%Y", errors="coerce")
    table = pd.DataFrame(
        {
            "title": frame["title"].astype(str),
            "release_date": released,
            "year": released.dt.year.astype("Int64"),
            "genres": genres,
        }
    )
    table.index = frame["item"].astype(str)
    return table


def _read_users(path: Path) -> pd.DataFrame:
    names = ["user", "age", "gender", "occupation", "zip"]
    frame = pd.read_csv(path, sep="|", header=None, names=names, dtype={"zip": str})
    frame.index = frame.pop("user").astype(str)
    return frame
