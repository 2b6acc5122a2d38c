"""Fuzzing from the published OpenAPI description: no input, valid or not, gets a 5xx."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import schemathesis
from fastapi import FastAPI
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error

from embrec.serving.app import create_app
from embrec.serving.model_registry import ModelRegistry
from embrec.serving.service import Settings

EXAMPLES = 12


@pytest.fixture(scope="module")
def fuzzed_app(model_dirs: tuple[Path, Path], tmp_path_factory: pytest.TempPathFactory) -> Iterator[FastAPI]:
    root = tmp_path_factory.mktemp("fuzz")
    registry = ModelRegistry.open(root / "registry")
    registry.add(model_dirs[0], "v1")
    registry.add(model_dirs[1], "v2")
    app = create_app(registry, f"sqlite:///{root / 'store.db'}", Settings(max_body_bytes=16 * 1024))
    yield app
    app.state.service.store.close()


@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE], ids=["valid", "invalid"])
def test_no_input_gets_a_server_error(fuzzed_app: FastAPI, mode: GenerationMode) -> None:
    """Every operation of the spec, with inputs that fit the schema and inputs that break it."""
    schema = schemathesis.openapi.from_asgi("/openapi.json", fuzzed_app)
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 12
    for operation in operations:

        @given(case=operation.as_strategy(generation_mode=mode))
        @settings(
            max_examples=EXAMPLES,
            deadline=None,
            derandomize=True,
            database=None,
            phases=[Phase.explicit, Phase.generate],
            suppress_health_check=list(HealthCheck),
        )
        def call(case: schemathesis.Case) -> None:
            case.call_and_validate(checks=[not_a_server_error])

        try:
            call()
        except Unsatisfiable:  # an operation without inputs has no invalid input
            assert mode is GenerationMode.NEGATIVE
