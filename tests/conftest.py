"""Shared fixtures: MovieLens 100k, read from ``EMBREC_DATA_DIR`` (``../shared/data`` by default).

The data is always present in CI and in ``make test``, so nothing here skips. Tests never copy
the MovieLens files into the repository (licence).
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from embrec.data.movielens import load_movielens, locate_movielens
from embrec.data.ratings import Ratings

REPO = Path(__file__).resolve().parents[1]
DEFAULT_DATA = REPO.parent / "shared" / "data"

# Library calls without ``--data`` read EMBREC_DATA_DIR: point it at the shared copy so no test
# ever downloads (the Makefile and .ci/run set it too).
os.environ.setdefault("EMBREC_DATA_DIR", str(DEFAULT_DATA))


@pytest.fixture(scope="session")
def movielens_dir() -> Path:
    """The folder holding ``u.data``, ``u.item``, ``u.user`` and the folds."""
    return locate_movielens(os.environ["EMBREC_DATA_DIR"], download=False)


@pytest.fixture(scope="session")
def movielens(movielens_dir: Path) -> Ratings:
    """All 100,000 ratings of MovieLens 100k with the movie and user tables."""
    return load_movielens(movielens_dir)
