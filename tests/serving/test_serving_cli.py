"""The serving commands in-process: retrain from the store, and a rollout from the command line."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from embrec.artifacts.model_dir import load
from embrec.cli.main import app
from embrec.serving.model_registry import ModelRegistry
from embrec.serving.ratings_store import RatingsStore, StoredRating

runner = CliRunner()


def test_retrain_adds_the_store_to_the_original_data(model_dirs: tuple[Path, Path], tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'store.db'}"
    store = RatingsStore(url)
    store.add_user("newbie", {"genres": []}, [StoredRating("newbie", "50", 5.0), StoredRating("newbie", "181", 4.0)])
    store.add_ratings([StoredRating("1", "1", 2.0), StoredRating("1", "no-such-film", 3.0)])
    store.close()
    out = tmp_path / "retrained"
    result = runner.invoke(
        app, ["retrain", "--base", str(model_dirs[0]), "--store", url, "--out", str(out), "--epochs", "1", "--json"]
    )
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    assert report["merged"]["store"] == 3 and report["merged"]["new_users"] == 1
    assert report["merged"]["store_unknown_items"] == 1
    retrained = load(out)
    assert "newbie" in retrained.user_ids and len(retrained.user_ids) == len(load(model_dirs[0]).user_ids) + 1
    assert retrained.recommend("newbie", k=3)


def test_retrain_refuses_data_the_base_was_not_trained_on(model_dirs: tuple[Path, Path], tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'store.db'}"
    args = ["retrain", "--base", str(model_dirs[0]), "--store", url, "--out", str(tmp_path / "x"), "--fold", "u2"]
    result = runner.invoke(app, args)
    assert result.exit_code == 2 and "not what" in result.output


def test_rollout_commands(model_dirs: tuple[Path, Path], tmp_path: Path) -> None:
    root = tmp_path / "registry"
    ModelRegistry.open(root).add(model_dirs[0], "v1")
    proposed = runner.invoke(app, ["rollout", "propose", str(root), str(model_dirs[1]), "--who", "ann", "--json"])
    assert proposed.exit_code == 0, proposed.output
    assert json.loads(proposed.output)["candidate"] == "v2"
    compared = runner.invoke(app, ["rollout", "compare", str(root), "--json"])
    assert compared.exit_code == 0, compared.output
    report = json.loads(compared.output)
    assert report["held_out"]["candidate"]["rmse"] > 0 and report["lists"]["users"] == 943
    assert runner.invoke(app, ["rollout", "approve", str(root), "--share", "0.2", "--who", "bo"]).exit_code == 0
    table = runner.invoke(app, ["rollout", "status", str(root)]).output
    assert "candidate v2 serving 20% of users" in table and "by bo" in table
    assert runner.invoke(app, ["rollout", "rollback", str(root), "--who", "cy"]).exit_code == 0
    refused = runner.invoke(app, ["rollout", "approve", str(root), "--share", "1"])
    assert refused.exit_code == 2 and "no candidate" in refused.output
    log = json.loads(runner.invoke(app, ["rollout", "status", str(root), "--json"]).output)["log"]
    assert [(e["action"], e["who"]) for e in log] == [("propose", "ann"), ("approve", "bo"), ("rollback", "cy")]
