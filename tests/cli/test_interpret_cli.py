"""The interpretation commands in-process on a small saved dot model."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
from PIL import Image
from typer.testing import CliRunner

from embrec.artifacts.model_dir import save
from embrec.cli.main import app
from embrec.data.ids import IdMap
from embrec.data.ratings import Ratings
from embrec.models import ModelConfig
from embrec.recommend.recommender import Recommender
from embrec.training.config import TrainConfig
from embrec.training.loop import train_model

runner = CliRunner()
N_USERS, N_ITEMS = 60, 40


def small_ratings(seed: int = 4) -> Ratings:
    """1-5 stars from a rank-2 taste model: every user rates 15 of the 40 items."""
    rng = np.random.default_rng(seed)
    items = np.concatenate([rng.choice(N_ITEMS, 15, replace=False) for _ in range(N_USERS)])
    users = np.repeat(np.arange(N_USERS), 15)
    taste_u, taste_i = rng.normal(0, 0.9, (N_USERS, 2)), rng.normal(0, 0.9, (N_ITEMS, 2))
    score = 3.3 + rng.normal(0, 0.5, N_ITEMS)[items] + (taste_u[users] * taste_i[items]).sum(axis=1)
    return Ratings(
        users=users.astype(np.int32),
        items=items.astype(np.int32),
        ratings=np.clip(np.round(score), 1, 5).astype(np.float32),
        user_ids=IdMap(tuple(str(u + 1) for u in range(N_USERS)), kind="user"),
        item_ids=IdMap(tuple(str(i + 1) for i in range(N_ITEMS)), kind="item"),
        scale=(1.0, 5.0),
        item_table=pd.DataFrame(
            {"title": [f"Movie {i + 1}" for i in range(N_ITEMS)], "genres": ["Comedy|Drama", "Action"] * (N_ITEMS // 2)}
        ),
        name="small",
    )


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    ratings = small_ratings()
    config = TrainConfig(epochs=5, lr=0.03, batch_size=128, seed=0)
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        model, resolved, _ = train_model(ratings, ModelConfig(kind="dot", factors=4), config)
    finally:
        torch.set_num_threads(threads)
    return save(Recommender.from_training(model, resolved, ratings, config), tmp_path_factory.mktemp("models") / "dot")


@pytest.fixture(scope="module")
def ratings_csv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("data") / "ratings.csv"
    small_ratings().to_frame().rename(columns={"user": "userId", "item": "movieId"}).to_csv(path, index=False)
    return path


def invoke_json(args: list[str]) -> dict[str, object]:
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    payload: dict[str, object] = json.loads(result.output)
    return payload


def test_explain_biases(model_dir: Path, ratings_csv: Path) -> None:
    report = invoke_json(["explain", str(model_dir), "--biases", "-n", "3", "--min-ratings", "10", "--json"])
    items = report["items"]
    assert isinstance(items, dict) and len(items["lowest"]) == len(items["highest"]) == 3
    assert items["highest"][0]["bias"] >= items["lowest"][0]["bias"] and items["highest"][0]["mean_rating"] is None
    with_data = invoke_json(
        ["explain", str(model_dir), "--biases", "-n", "2", "--min-ratings", "10", "--data", str(ratings_csv), "--json"]
    )
    assert isinstance(with_data["users"], dict) and with_data["users"]["highest"][0]["mean_rating"] is not None
    table = runner.invoke(app, ["explain", str(model_dir), "--biases", "-n", "2", "--min-ratings", "10"])
    assert table.exit_code == 0 and "highest item bias" in table.output and "Movie" in table.output


def test_explain_one_pair_and_refusals(model_dir: Path) -> None:
    report = invoke_json(["explain", str(model_dir), "--user", "3", "--item", "Movie 7", "--json"])
    parts = report["parts"]
    assert isinstance(parts, dict) and sum(parts.values()) == pytest.approx(report["logit"], abs=1e-5)
    assert runner.invoke(app, ["explain", str(model_dir)]).exit_code == 2
    unknown = runner.invoke(app, ["explain", str(model_dir), "--user", "3", "--item", "Movie 77"])
    assert unknown.exit_code == 2 and "unknown item" in unknown.output


def test_recommend_explain_adds_up_and_plain_recommend_is_unchanged(model_dir: Path, ratings_csv: Path) -> None:
    plain = invoke_json(["recommend", str(model_dir), "--user", "5", "-k", "3", "--json"])
    explained = invoke_json(
        ["recommend", str(model_dir), "--user", "5", "-k", "3", "--explain", "--data", str(ratings_csv), "--json"]
    )
    assert explained["liked_from"] == "rated"
    entries = explained["items"]
    assert isinstance(entries, list) and isinstance(plain["items"], list)
    assert [e["item"] for e in entries] == [i["item"] for i in plain["items"]]
    for entry in entries:
        assert sum(entry["parts"].values()) == pytest.approx(entry["logit"], abs=1e-5)
        assert entry["prediction"] == pytest.approx(entry["score"], abs=1e-5)
        assert entry["because"]
    table = runner.invoke(app, ["recommend", str(model_dir), "--user", "5", "-k", "2", "--explain"])
    assert table.exit_code == 0 and "because you liked" in table.output


def test_similar_explain(model_dir: Path) -> None:
    report = invoke_json(
        ["similar", str(model_dir), "--item-id", "2", "-k", "3", "--explain", "--min-ratings", "5", "--json"]
    )
    similar = report["similar"]
    assert isinstance(similar, list) and len(similar) == 3
    assert all(entry["shared"] and entry["shared"][0]["direction"].startswith("PC") for entry in similar)


def test_users_for_item(model_dir: Path) -> None:
    report = invoke_json(["users-for-item", str(model_dir), "--item", "Movie 4", "-k", "5", "--json"])
    users = report["users"]
    assert isinstance(users, list) and len(users) == 5
    scores = [u["score"] for u in users]
    assert scores == sorted(scores, reverse=True)


def test_map_png_svg_and_json(model_dir: Path, tmp_path: Path) -> None:
    png = tmp_path / "taste-map.png"
    args = ["map", str(model_dir), "--out", str(png), "--min-ratings", "5", "--label", "10", "--color-by", "genre"]
    report = invoke_json([*args, "--width", "700", "--height", "500", "--user", "3", "--json"])
    with Image.open(png) as image:
        assert image.size == (700, 500)
    assert isinstance(report["items"], list) and len(report["items"]) == N_ITEMS
    assert isinstance(report["user"], dict) and len(report["user"]["x"]) == 2
    svg = tmp_path / "taste-map.svg"
    table = runner.invoke(app, ["map", str(model_dir), "--out", str(svg), "--min-ratings", "5", "--width", "640"])
    assert table.exit_code == 0 and "PC1" in table.output
    root = ET.parse(svg).getroot()
    assert root.get("width") == "640px" and root.get("height") == f"{round(640 * 1000 / 1400)}px"
    bad = runner.invoke(app, ["map", str(model_dir), "--out", str(tmp_path / "map.gif")])
    assert bad.exit_code == 2


def test_wd_sweep_on_a_ratings_file(ratings_csv: Path, tmp_path: Path) -> None:
    out = tmp_path / "wd.png"
    args = ["wd-sweep", "--data", str(ratings_csv), "--format", "csv", "--split", "random", "--wd", "0,0.5"]
    report = invoke_json([*args, "--epochs", "2", "--factors", "3", "--out", str(out), "--width", "600", "--json"])
    runs = report["runs"]
    assert isinstance(runs, list) and [r["weight_decay"] for r in runs] == [0.0, 0.5]
    assert all(len(r["valid_rmse"]) == 2 for r in runs)
    with Image.open(out) as image:
        assert image.size == (600, round(600 * 650 / 1400))
    assert runner.invoke(app, [*args[:-2], "--wd", "0,x"]).exit_code == 2
    sampled = runner.invoke(app, [*args, "--model", "bmf", "--out", str(out)])  # no weight decay to sweep
    assert sampled.exit_code == 2 and "gradient descent" in sampled.output
