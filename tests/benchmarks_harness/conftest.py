"""Fixtures for the benchmark harness tests: ``benchmarks/`` on the path, MovieLens fold u1."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

BENCHMARKS = Path(__file__).resolve().parents[2] / "benchmarks"
if str(BENCHMARKS) not in sys.path:
    sys.path.insert(0, str(BENCHMARKS))


@pytest.fixture(scope="session")
def u1():  # type: ignore[no-untyped-def]
    """MovieLens 100k fold u1 (EMBREC_DATA_DIR points at it in CI and in ``make test``)."""
    from embrec.data.movielens import load_fold

    return load_fold("u1")
