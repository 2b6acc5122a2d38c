"""Fixtures of the cold-start tests."""

from __future__ import annotations

import pytest
from coldstart_worlds import World, world


@pytest.fixture
def dot_world() -> World:
    return world(0, "dot")
