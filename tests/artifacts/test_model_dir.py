"""Model directories: safetensors weights + a JSON manifest; identical predictions after a round trip,
a clear ModelDirError for anything missing, corrupt or mismatched, and never a pickle."""

from __future__ import annotations

import json
from collections.abc import Callable
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from embrec.artifacts.manifest import Manifest
from embrec.artifacts.model_dir import MANIFEST, WEIGHTS, ModelDirError, load, read_manifest, save
from embrec.recommend.recommender import Recommender
from tiny_ratings import checkerboard, ratings, raw_rows, train_tiny


@cache
def trained() -> Recommender:
    data, _ = checkerboard()
    rows = raw_rows(data)
    titled = ratings(rows, scale=(1.0, 5.0), titles={raw: f"Movie {raw}" for raw in data.item_ids.ids})
    recommender = train_tiny(titled, "dot")
    recommender.info["metrics"] = {"rmse": 0.5}
    return recommender


def saved(tmp_path: Path) -> Path:
    return save(trained(), tmp_path / "model")


def edit_manifest(directory: Path, change: Callable[[dict[str, Any]], None]) -> None:
    path = directory / MANIFEST
    data = json.loads(path.read_text())
    change(data)
    path.write_text(json.dumps(data))


def refused(directory: Path, match: str) -> None:
    with pytest.raises(ModelDirError, match=match) as caught:
        load(directory)
    assert str(directory) in str(caught.value)


def test_a_round_trip_gives_identical_predictions_lists_and_ids(tmp_path: Path) -> None:
    original = trained()
    loaded = load(saved(tmp_path))
    users = np.repeat(np.arange(original.n_users), original.n_items)
    items = np.tile(np.arange(original.n_items), original.n_users)
    np.testing.assert_array_equal(loaded.predict_indices(users, items), original.predict_indices(users, items))
    everyone = np.arange(original.n_users)
    for got, expected in zip(loaded.top_n(everyone, 3), original.top_n(everyone, 3), strict=True):
        np.testing.assert_array_equal(got, expected)
    assert loaded.user_ids.ids == original.user_ids.ids and loaded.item_ids.ids == original.item_ids.ids
    assert (loaded.seen != original.seen).nnz == 0
    np.testing.assert_array_equal(loaded.item_popularity, original.item_popularity)
    assert loaded.model_config == original.model_config and loaded.train_config == original.train_config
    assert loaded.scale == original.scale
    assert loaded.title(0) == original.title(0) == "Movie x0"
    assert loaded.similar_items("x1", 3) == original.similar_items("x1", 3)


def test_the_directory_holds_safetensors_weights_and_a_json_manifest(tmp_path: Path) -> None:
    directory = saved(tmp_path)
    assert sorted(p.name for p in directory.iterdir()) == [MANIFEST, WEIGHTS]
    manifest = json.loads((directory / MANIFEST).read_text())
    assert manifest["model_config"]["kind"] == "dot" and manifest["model_config"]["y_range"] == [0.0, 5.5]
    assert manifest["item_ids"][:2] == ["x0", "x1"]
    assert manifest["info"]["metrics"] == {"rmse": 0.5}
    assert len(manifest["info"]["data_fingerprint"]) == 64
    assert set(manifest["versions"]) >= {"embrec", "torch"}
    assert (directory / WEIGHTS).read_bytes()[8:9] == b"{"  # safetensors: 8-byte length, then a JSON header


def test_saving_again_replaces_the_files(tmp_path: Path) -> None:
    directory = saved(tmp_path)
    save(trained(), directory)
    assert sorted(p.name for p in directory.iterdir()) == [MANIFEST, WEIGHTS]  # no temporary files left
    load(directory)


def test_read_manifest_reads_only_the_manifest(tmp_path: Path) -> None:
    directory = saved(tmp_path)
    (directory / WEIGHTS).unlink()
    manifest = read_manifest(directory)
    assert isinstance(manifest, Manifest) and len(manifest.user_ids) == trained().n_users


def test_a_missing_folder_is_refused(tmp_path: Path) -> None:
    refused(tmp_path / "nothing", "not a model directory")


def test_a_folder_without_a_manifest_is_refused(tmp_path: Path) -> None:
    refused(tmp_path, "manifest.json is missing")


def test_a_manifest_that_is_not_json_is_refused(tmp_path: Path) -> None:
    directory = saved(tmp_path)
    (directory / MANIFEST).write_text("{not json")
    refused(directory, "manifest.json is invalid")


def test_a_manifest_of_another_format_version_is_refused(tmp_path: Path) -> None:
    directory = saved(tmp_path)
    edit_manifest(directory, lambda m: m.update(format_version=99))
    refused(directory, "format 99")


def test_a_manifest_with_missing_or_unknown_fields_is_refused(tmp_path: Path) -> None:
    directory = saved(tmp_path)
    edit_manifest(directory, lambda m: m.pop("item_ids"))
    refused(directory, "manifest.json is invalid")
    directory = save(trained(), tmp_path / "other")
    edit_manifest(directory, lambda m: m.update(surprise=1))
    refused(directory, "manifest.json is invalid")


def test_missing_weights_are_refused(tmp_path: Path) -> None:
    directory = saved(tmp_path)
    (directory / WEIGHTS).unlink()
    refused(directory, "weights.safetensors is missing")


def test_corrupt_weights_are_refused_by_their_checksum(tmp_path: Path) -> None:
    directory = saved(tmp_path)
    data = bytearray((directory / WEIGHTS).read_bytes())
    data[-1] ^= 0xFF
    (directory / WEIGHTS).write_bytes(bytes(data))
    refused(directory, "does not match the manifest")


def test_weights_from_another_model_are_refused(tmp_path: Path) -> None:
    directory = saved(tmp_path)
    other = train_tiny(ratings([("a", "x", 1.0), ("b", "y", 5.0)]), "dot")
    other_dir = save(other, tmp_path / "other")
    (directory / WEIGHTS).write_bytes((other_dir / WEIGHTS).read_bytes())
    refused(directory, "does not match the manifest")


def test_a_manifest_whose_model_does_not_fit_the_weights_is_refused(tmp_path: Path) -> None:
    directory = saved(tmp_path)
    edit_manifest(directory, lambda m: m["model_config"].update(factors=7))
    refused(directory, "weights do not fit a 'dot' model")
    directory = save(trained(), tmp_path / "fewer_users")
    edit_manifest(directory, lambda m: m.update(user_ids=m["user_ids"][:-1]))
    refused(directory, "weights do not fit")


def test_a_manifest_naming_an_unknown_model_kind_is_refused(tmp_path: Path) -> None:
    directory = saved(tmp_path)
    edit_manifest(directory, lambda m: m["model_config"].update(kind="transformer"))
    refused(directory, "unknown model 'transformer'")


def test_a_manifest_with_a_bad_model_or_training_config_is_refused(tmp_path: Path) -> None:
    directory = saved(tmp_path)
    edit_manifest(directory, lambda m: m["model_config"].update(colour="red"))
    refused(directory, "unknown model config keys")
    directory = save(trained(), tmp_path / "train_config")
    edit_manifest(directory, lambda m: m["train_config"].update(epochs=0))
    refused(directory, "epochs")


def test_loading_never_unpickles(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import pickle

    import torch

    def forbidden(*args: object, **kwargs: object) -> None:
        raise AssertionError("a model directory must not be unpickled")

    monkeypatch.setattr(pickle, "load", forbidden)
    monkeypatch.setattr(pickle, "loads", forbidden)
    monkeypatch.setattr(torch, "load", forbidden)
    load(saved(tmp_path))
