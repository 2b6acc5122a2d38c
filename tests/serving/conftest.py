"""Shared fixtures: a small model registry trained on MovieLens 100k (two short versions)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import torch
from fastapi.testclient import TestClient

from embrec.artifacts.model_dir import save
from embrec.data.movielens import load_fold
from embrec.data.splits import Split
from embrec.models import ModelConfig
from embrec.recommend.recommender import Recommender
from embrec.serving.app import create_app
from embrec.serving.model_registry import ModelRegistry
from embrec.serving.service import Settings
from embrec.training.config import TrainConfig
from embrec.training.loop import train_model

TOKEN = "test-admin-token"


@pytest.fixture(scope="session")
def split() -> Split:
    return load_fold("u1")


def _trained(split: Split, epochs: int, seed: int, factors: int) -> Recommender:
    config = TrainConfig(epochs=epochs, seed=seed, batch_size=8192, lr=5e-2)
    model, resolved, _ = train_model(split.train, ModelConfig(kind="dot", factors=factors), config)
    return Recommender.from_training(model, resolved, split.train, config)


@pytest.fixture(scope="session")
def model_dirs(split: Split, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """Two model directories: v1 (the one to serve) and v2 (a candidate, another seed)."""
    root = tmp_path_factory.mktemp("models")
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # tiny batches: one thread is faster, and far faster on a busy machine
    try:
        first = save(_trained(split, epochs=3, seed=0, factors=16), root / "first")
        second = save(_trained(split, epochs=2, seed=1, factors=8), root / "second")
    finally:
        torch.set_num_threads(threads)
    return first, second


@pytest.fixture
def registry(model_dirs: tuple[Path, Path], tmp_path: Path) -> ModelRegistry:
    """A fresh registry holding v1 (active) and v2 (not yet proposed)."""
    registry = ModelRegistry.open(tmp_path / "registry")
    registry.add(model_dirs[0], "v1")
    registry.add(model_dirs[1], "v2")
    return registry


@pytest.fixture
def store_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'store.db'}"


@pytest.fixture
def client(registry: ModelRegistry, store_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[TestClient]:
    """The app over the registry, admin token set, the state file checked at every request."""
    monkeypatch.setenv("EMBREC_ADMIN_TOKEN", TOKEN)
    app = create_app(registry, store_url, Settings(reload_seconds=0.0, max_body_bytes=64 * 1024))
    with TestClient(app) as test_client:
        yield test_client
    app.state.service.store.close()


@pytest.fixture
def admin_headers() -> dict[str, str]:
    return {"Authorization": f"Bearer {TOKEN}"}
