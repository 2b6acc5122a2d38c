"""``embrec audit``, ``embrec attack`` and ``embrec train --user-weighting`` in-process."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from embrec.artifacts.model_dir import save
from embrec.cli.main import app
from embrec.data.movielens import load_fold
from embrec.data.ratings import Ratings
from embrec.models import ModelConfig
from embrec.recommend.recommender import Recommender
from embrec.training.config import TrainConfig
from embrec.training.loop import train_model

runner = CliRunner()
SMALL = ["--format", "csv", "--split", "random", "--test-fraction", "0.1"]


@pytest.fixture(scope="module")
def ratings_csv(tmp_path_factory: pytest.TempPathFactory, population: Ratings) -> Path:
    path = tmp_path_factory.mktemp("data") / "ratings.csv"
    population.to_frame().to_csv(path, index=False)
    return path


@pytest.fixture(scope="module")
def small_model(tmp_path_factory: pytest.TempPathFactory, ratings_csv: Path) -> Path:
    out = tmp_path_factory.mktemp("models") / "small"
    args = ["train", "--data", str(ratings_csv), *SMALL, "--out", str(out), "--epochs", "2", "--factors", "8"]
    result = runner.invoke(app, [*args, "--batch-size", "512", "--user-weighting", "inverse_sqrt", "--json"])
    assert result.exit_code == 0, result.output
    return out


def test_train_refuses_an_unknown_weighting(ratings_csv: Path, tmp_path: Path) -> None:
    args = ["train", "--data", str(ratings_csv), *SMALL, "--out", str(tmp_path / "m"), "--user-weighting", "loud"]
    result = runner.invoke(app, args)
    assert result.exit_code == 2 and "--user-weighting" in result.output


def test_audit_on_a_small_saved_model(small_model: Path, ratings_csv: Path, tmp_path: Path) -> None:
    out = tmp_path / "report.html"
    args = ["audit", str(small_model), "--data", str(ratings_csv), *SMALL, "--groups", "activity,cluster"]
    result = runner.invoke(app, [*args, "--clusters", "2", "--retrain-epochs", "1", "--json", "--out", str(out)])
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    assert set(report["signal"]["top_user_share"]) == {"1%", "5%", "10%"}
    assert [g["kind"] for g in report["influence"]["groups"]] == ["activity", "activity", "cluster", "cluster"]
    assert report["influence"]["epochs"] == 1 and "Group influence" in out.read_text()
    table = runner.invoke(app, ["audit", str(small_model), "--data", str(ratings_csv), *SMALL, "--groups", ""])
    assert table.exit_code == 0 and "Gini of user activity" in table.output


def test_audit_refuses_bad_requests(small_model: Path, ratings_csv: Path, tmp_path: Path) -> None:
    base = ["audit", str(small_model), "--data", str(ratings_csv), *SMALL]
    no_column = runner.invoke(app, [*base, "--groups", "occupation"])
    assert no_column.exit_code == 2 and "occupation" in no_column.output
    bad_out = runner.invoke(app, [*base, "--out", str(tmp_path / "report.pdf")])
    assert bad_out.exit_code == 2 and ".png or .html" in bad_out.output


def test_attack_reports_before_after_and_mitigated(ratings_csv: Path) -> None:
    args = ["attack", "--data", str(ratings_csv), *SMALL, "--kind", "bandwagon", "--target", "300"]
    args += ["--profiles", "5%", "--filler", "0.1", "--epochs", "2", "--batch-size", "512", "--factors", "8"]
    result = runner.invoke(app, [*args, "--mitigation", "drop_flagged", "--mitigation", "cap", "--json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    assert report["profiles"] == 20 and report["filler"] == 30 and report["spec"]["kind"] == "bandwagon"
    assert [v["name"] for v in report["mitigated"]] == ["attack + drop_flagged", "attack + cap"]
    assert 0.0 <= report["after"]["reach"]["hit_ratio"] <= 1.0 and report["target_title"] == "300"
    shown = runner.invoke(app, args)
    assert shown.exit_code == 0 and "detection on the attacked data" in shown.output


def test_attack_refuses_bad_options(ratings_csv: Path) -> None:
    base = ["attack", "--data", str(ratings_csv), *SMALL]
    assert runner.invoke(app, [*base, "--target", "1", "--kind", "sneaky"]).exit_code == 2
    assert runner.invoke(app, [*base, "--target", "1", "--profiles", "300%"]).exit_code == 2
    unknown = runner.invoke(app, [*base, "--target", "no-such-item"])
    assert unknown.exit_code == 2 and "no-such-item" in unknown.output


def test_audit_runs_end_to_end_on_movielens(tmp_path: Path) -> None:
    split = load_fold("u1")
    config = TrainConfig(epochs=1, batch_size=2048, lr=5e-2)
    model, resolved, _ = train_model(split.train, ModelConfig(factors=8), config)
    save(Recommender.from_training(model, resolved, split.train, config), tmp_path / "ml")
    args = ["audit", str(tmp_path / "ml"), "--groups", "occupation", "--retrain-epochs", "1", "--json"]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    assert report["signal"]["active_users"] == 943 and report["signal"]["n_ratings"] == 80_000
    assert report["lists"]["users"] == 943 and 0 < report["lists"]["coverage"] < 1
    names = [g["name"] for g in report["influence"]["groups"]]
    assert names == ["occupation = student", "occupation = other", "occupation = educator"]  # the 3 largest
