"""``embrec train --model widedeep`` and ``embrec embeddings`` end to end, in-process.

A user's CSV with side tables (a users file and an items file, declared in a TOML file or inline),
and MovieLens 100k with its default features.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
from click.testing import Result
from typer.testing import CliRunner

from embrec.artifacts.model_dir import load
from embrec.cli.main import app
from embrec.data.side_features import SideFeatures

runner = CliRunner(env={"COLUMNS": "400"})
SMALL = ("--factors", "4", "--layers", "16", "--epochs", "3", "--batch-size", "64")


@pytest.fixture(scope="module", autouse=True)
def one_thread() -> Iterator[None]:
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def run(*args: str) -> Result:
    return runner.invoke(app, list(args))


def ok_json(*args: str) -> Any:
    result = run(*args, "--json")
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def refused(result: Result, *phrases: str) -> None:
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    for phrase in phrases:
        assert phrase in result.output


@pytest.fixture(scope="module")
def csv_world(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """ratings.csv, users.csv (occupation, zip), items.csv (title, genres) and features.toml."""
    folder = tmp_path_factory.mktemp("csv-world")
    rng = np.random.default_rng(0)
    occupations = ["nurse", "doctor", "poet", "painter"]
    lines = ["userId,movieId,rating"]
    for u in range(24):
        for i in rng.permutation(12)[:6]:
            likes = (u % 4 < 2) == (i % 2 == 0)
            lines.append(f"{u},{100 + i},{5 if likes else 1}")
    (folder / "ratings.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    users = ["user_id,occupation,zip"] + [f"{u},{occupations[u % 4]},{10000 + 7 * u}" for u in range(24)]
    (folder / "users.csv").write_text("\n".join(users) + "\n", encoding="utf-8")
    items = ["movieId,title,genres"] + [
        f"{100 + i},Film {i},{'Drama' if i % 2 == 0 else 'Comedy|Horror'}" for i in range(12)
    ]
    (folder / "items.csv").write_text("\n".join(items) + "\n", encoding="utf-8")
    (folder / "features.toml").write_text(
        'users = "users.csv"\nitems = "items.csv"\ncrosses = [["occupation", "genres"]]\n'
        '[features.occupation]\nside = "user"\n'
        '[features.zip]\nside = "user"\nkind = "hashed"\nbuckets = 8\nprefix = 2\n'
        '[features.genres]\nside = "item"\nkind = "multi_hot"\n',
        encoding="utf-8",
    )
    return folder


@pytest.fixture(scope="module")
def csv_model(csv_world: Path) -> Path:
    out = csv_world / "model"
    data = ["--format", "csv", "--data", str(csv_world / "ratings.csv"), "--split", "random"]
    report = ok_json(
        "train", *data, "--model", "widedeep", "--features", str(csv_world / "features.toml"), *SMALL, "--out", str(out)
    )
    assert report["model"] == "widedeep" and 0.0 < report["metrics"]["rmse"] < 4.0
    return out


def test_a_csv_with_side_tables_from_a_toml_file_trains_a_widedeep_directory(csv_model: Path) -> None:
    recommender = load(csv_model)
    features = SideFeatures.from_json(recommender.model_config.features or {})
    assert features.feature("occupation").labels() == ["(unknown)", "doctor", "nurse", "painter", "poet"]
    assert features.feature("genres").labels() == ["(unknown)", "Comedy", "Drama", "Horror"]
    assert recommender.title(0).startswith("Film")


def test_the_same_declared_inline_on_the_command_line(csv_world: Path, tmp_path: Path) -> None:
    inline = (
        f"users={csv_world / 'users.csv'},items={csv_world / 'items.csv'},"
        "user.occupation,item.genres:multi_hot,occupation*genres"
    )
    data = ["--format", "csv", "--data", str(csv_world / "ratings.csv"), "--split", "random"]
    report = ok_json("train", *data, "--model", "widedeep", "--features", inline, *SMALL, "--out", str(tmp_path / "m"))
    assert report["metrics"]["rmse"] < 4.0


def test_embeddings_lists_each_category_with_its_nearest_and_saves_the_table(csv_model: Path, tmp_path: Path) -> None:
    saved = tmp_path / "occupation.csv"
    report = ok_json("embeddings", str(csv_model), "--feature", "occupation", "-k", "2", "--save", str(saved))
    assert report["feature"] == "occupation"
    assert [n["category"] for n in report["neighbours"]] == ["doctor", "nurse", "painter", "poet"]
    assert all(len(n["nearest"]) == 2 and -1.0 <= n["nearest"][0]["cosine"] <= 1.0 for n in report["neighbours"])
    header, *rows = saved.read_text(encoding="utf-8").splitlines()
    assert header.startswith("occupation,d0") and len(rows) == 4
    table = run("embeddings", str(csv_model), "--feature", "genres")
    assert table.exit_code == 0 and "Horror" in table.stdout


def test_embeddings_refuses_unknown_features_and_models_without_features(csv_model: Path, csv_world: Path) -> None:
    refused(run("embeddings", str(csv_model), "--feature", "salary"), "no feature 'salary'", "occupation")
    out = csv_world / "dot-model"
    data = ["--format", "csv", "--data", str(csv_world / "ratings.csv"), "--split", "random"]
    ok_json("train", *data, *SMALL, "--out", str(out))
    refused(run("embeddings", str(out), "--feature", "occupation"), "no side features")


def test_widedeep_on_a_csv_without_features_asks_for_them(csv_world: Path, tmp_path: Path) -> None:
    data = ["--format", "csv", "--data", str(csv_world / "ratings.csv"), "--split", "random"]
    refused(run("train", *data, "--model", "widedeep", "--out", str(tmp_path / "m")), "--features")
    refused(
        run("train", *data, "--model", "widedeep", "--features", "user.salary", "--out", str(tmp_path / "m")),
        "needs a user table",
    )


def test_widedeep_on_movielens_uses_the_default_features(movielens_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "widedeep-u1"
    args = ["train", "--data", str(movielens_dir), "--model", "widedeep", "--epochs", "1", "--factors", "8"]
    report = ok_json(*args, "--out", str(out))
    assert 0.8 < report["metrics"]["rmse"] < 1.3
    neighbours = ok_json("embeddings", str(out), "--feature", "occupation")["neighbours"]
    assert len(neighbours) == 21
