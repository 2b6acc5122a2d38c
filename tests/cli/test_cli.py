"""The ``embrec`` command end to end on MovieLens 100k, in-process (typer's CliRunner).

One short training run (1 epoch, 8 factors, fold u1) writes a model directory that the other
commands read. Bad input ends with exit code 2 and one clear line, never a traceback.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
import torch
from click.testing import Result
from typer.testing import CliRunner

from embrec.cli.main import app
from embrec.data.movielens import load_fold
from embrec.evaluation.protocol import evaluate
from embrec.models import default_model_config
from embrec.recommend.recommender import Recommender
from embrec.training.config import default_train_config
from embrec.training.loop import train_model

METRIC_KEYS = {
    "rmse",
    "mae",
    "precision@10",
    "recall@10",
    "ndcg@10",
    "map@10",
    "hit_rate@10",
    "coverage",
    "mean_popularity",
}
runner = CliRunner(env={"COLUMNS": "400"})  # wide enough that rich wraps no message and abbreviates no column


@pytest.fixture(scope="module", autouse=True)
def one_thread() -> Iterator[None]:
    """Small batches train fastest on one thread, and a busy machine does not slow them down."""
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
    """Exit code 2, the phrases in the message, and no traceback."""
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    assert not isinstance(result.exception, Exception) or isinstance(result.exception, SystemExit)
    for phrase in phrases:
        assert phrase in result.output


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory, movielens_dir: Path) -> tuple[Path, dict[str, Any]]:
    """``embrec train`` on fold u1: the model directory and the JSON it printed."""
    out = tmp_path_factory.mktemp("cli") / "dot-u1"
    args = ["train", "--data", str(movielens_dir), "--fold", "u1", "--epochs", "1", "--factors", "8", "--out", str(out)]
    return out, ok_json(*args)


@pytest.fixture(scope="module")
def model_dir(trained: tuple[Path, dict[str, Any]]) -> Path:
    return trained[0]


def test_train_saves_a_model_directory_and_reports_every_metric(trained: tuple[Path, dict[str, Any]]) -> None:
    out, report = trained
    assert report["model"] == "dot" and report["out"] == str(out)
    assert set(report["metrics"]) >= METRIC_KEYS
    assert (out / "manifest.json").is_file() and (out / "weights.safetensors").is_file()


def test_evaluate_json_has_the_metric_keys_and_agrees_with_training(
    trained: tuple[Path, dict[str, Any]], movielens_dir: Path
) -> None:
    out, report = trained
    metrics = ok_json("evaluate", str(out), "--data", str(movielens_dir), "--fold", "u1")
    assert set(metrics) >= METRIC_KEYS
    for key in METRIC_KEYS:
        assert metrics[key] == pytest.approx(report["metrics"][key]), key
    assert 0.5 < metrics["rmse"] < 2.0 and 0.0 <= metrics["ndcg@10"] <= 1.0
    assert metrics["n_test"] == 20_000 and metrics["ranked_users"] > 400


def test_evaluating_on_another_fold_warns_on_stderr_and_keeps_the_json_clean(
    model_dir: Path, movielens_dir: Path
) -> None:
    result = run("evaluate", str(model_dir), "--data", str(movielens_dir), "--fold", "u2", "--json")
    assert result.exit_code == 0, result.output
    assert set(json.loads(result.stdout)) >= METRIC_KEYS
    assert "trained on other data" in result.stderr


def test_evaluate_prints_a_table_by_default(model_dir: Path, movielens_dir: Path) -> None:
    result = run("evaluate", str(model_dir), "--data", str(movielens_dir), "-k", "5")
    assert result.exit_code == 0, result.output
    assert "dot on u1" in result.stdout and "ndcg@5" in result.stdout


def test_recommend_json_lists_k_unrated_movies_with_titles(model_dir: Path, movielens_dir: Path) -> None:
    listed = ok_json("recommend", str(model_dir), "--user", "1", "-k", "7")
    assert listed["user"] == "1" and len(listed["items"]) == 7
    assert all(set(entry) == {"item", "title", "score"} for entry in listed["items"])
    rated = {
        line.split("\t")[1] for line in (movielens_dir / "u1.base").read_text().splitlines() if line.startswith("1\t")
    }
    assert not {entry["item"] for entry in listed["items"]} & rated
    scores = [entry["score"] for entry in listed["items"]]
    assert scores == sorted(scores, reverse=True)


def test_recommend_prints_a_table_by_default(model_dir: Path) -> None:
    result = run("recommend", str(model_dir), "--user", "1", "-k", "3")
    assert result.exit_code == 0, result.output
    assert "top 3 for user 1" in result.stdout


def test_similar_finds_neighbours_of_star_wars_by_title_or_id(model_dir: Path) -> None:
    by_title = ok_json("similar", str(model_dir), "--item", "Star Wars (1977)", "-k", "5")
    assert by_title["item"] == "50" and by_title["title"] == "Star Wars (1977)"
    assert len(by_title["similar"]) == 5 and "50" not in {entry["item"] for entry in by_title["similar"]}
    assert ok_json("similar", str(model_dir), "--item-id", "50", "-k", "5") == by_title


def test_a_near_miss_title_suggests_close_matches(model_dir: Path) -> None:
    refused(run("similar", str(model_dir), "--item", "Star Wars 1977"), "unknown item id", "'Star Wars (1977)'")


def test_similar_needs_exactly_one_of_title_and_id(model_dir: Path) -> None:
    refused(run("similar", str(model_dir)), "exactly one of --item")
    refused(run("similar", str(model_dir), "--item", "Star Wars (1977)", "--item-id", "50"), "exactly one of --item")


def test_info_describes_the_model_from_its_manifest(model_dir: Path) -> None:
    summary = ok_json("info", str(model_dir))
    assert summary["model"]["kind"] == "dot" and summary["model"]["factors"] == 8
    assert (summary["users"], summary["items"]) == (943, 1682)
    assert summary["split"] == "u1" and set(summary["metrics"]) >= METRIC_KEYS
    assert summary["training"]["epochs"] == 1 and summary["versions"]["torch"] == torch.__version__
    table = run("info", str(model_dir))
    assert table.exit_code == 0 and "dot" in table.stdout


def test_cv_reports_each_fold_and_the_mean_and_std(movielens_dir: Path) -> None:
    args = ["cv", "--data", str(movielens_dir), "--folds", "u1,u2", "--epochs", "1", "--factors", "8"]
    report = ok_json(*args)
    assert list(report["folds"]) == ["u1", "u2"]
    assert set(report["folds"]["u2"]) >= METRIC_KEYS
    rmses = [report["folds"][fold]["rmse"] for fold in ("u1", "u2")]
    assert report["summary"]["rmse"]["mean"] == pytest.approx(sum(rmses) / 2)
    assert report["summary"]["rmse"]["std"] == pytest.approx(abs(rmses[0] - rmses[1]) / 2)


def test_cv_gives_a_kind_its_own_defaults_and_bmf_trains_in_one_process(movielens_dir: Path, tmp_path: Path) -> None:
    # settings left alone take bmf's own (rank 5), the ones given stay (3 sweeps, not 100)
    report = ok_json("cv", "--data", str(movielens_dir), "--folds", "u1", "--model", "bmf", "--epochs", "3")
    split = load_fold("u1", movielens_dir)
    config = replace(default_train_config("bmf"), epochs=3)
    model, model_config, _ = train_model(split.train, default_model_config("bmf"), config)
    expected = evaluate(Recommender.from_training(model, model_config, split.train, config), split.test)["rmse"]
    assert report["folds"]["u1"]["rmse"] == pytest.approx(expected, abs=1e-6)
    refused(run("cv", "--data", str(movielens_dir), "--model", "nope"), "--model must be one of")
    out = str(tmp_path / "bmf")
    refused(run("train", "--data", str(movielens_dir), "--model", "bmf", "--workers", "2", "--out", out), "one process")


def test_a_ratings_file_of_ones_own_trains_with_a_random_split(tmp_path: Path) -> None:
    # half stars from 1 to 5.5: the scale is taken from the file
    lines = ["userId,movieId,rating"]
    lines += [f"u{u},m{i},{1 + (u * i) % 10 / 2}" for u in range(12) for i in range(20) if (u + i) % 3]
    path = tmp_path / "mine.csv"
    path.write_text("\n".join(lines) + "\n")
    out = tmp_path / "mine-model"
    report = ok_json(
        "train", "--format", "csv", "--data", str(path), "--split", "random", "--epochs", "2", "--out", str(out)
    )
    assert set(report["metrics"]) >= METRIC_KEYS
    assert len(ok_json("recommend", str(out), "--user", "u3", "-k", "2")["items"]) == 2


def test_sparse_training_is_recorded_in_the_model_directory(tmp_path: Path, movielens_dir: Path) -> None:
    out = tmp_path / "sparse"
    ok_json("train", "--data", str(movielens_dir), "--fold", "u1", "--epochs", "1", "--sparse", "--out", str(out))
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["train_config"]["sparse"] is True


# --- bad input: exit code 2 and a clear message --------------------------------------------------


def test_sparse_training_with_sgd_is_refused(tmp_path: Path, movielens_dir: Path) -> None:
    args = ["--data", str(movielens_dir), "--fold", "u1", "--sparse", "--optimizer", "sgd"]
    args += ["--out", str(tmp_path / "m")]
    refused(run("train", *args), "sparse training needs optimizer adam or adamw")


def test_an_unknown_user_is_refused(model_dir: Path) -> None:
    refused(run("recommend", str(model_dir), "--user", "99999"), "unknown user id '99999'")


def test_a_folder_that_is_not_a_model_is_refused(tmp_path: Path) -> None:
    refused(run("recommend", str(tmp_path / "nothing"), "--user", "1"), "not a model directory")
    refused(run("info", str(tmp_path)), "manifest.json is missing")


def test_a_bad_ratings_file_is_refused_naming_file_and_line(tmp_path: Path) -> None:
    path = tmp_path / "bad.csv"
    path.write_text("user,item,rating\n1,2,4\n1,3,lots\n")
    result = run("train", "--format", "csv", "--data", str(path), "--out", str(tmp_path / "m"))
    refused(result, f"{path}, line 3: rating 'lots' is not a finite number")


def test_duplicates_are_refused_unless_resolved(tmp_path: Path) -> None:
    path = tmp_path / "dup.csv"
    path.write_text(
        "user,item,rating\n"
        + "".join(f"u{u},i{i},{1 + (u + i) % 5}\n" for u in range(6) for i in range(6))
        + "u0,i0,5\n"
    )
    args = ["train", "--format", "csv", "--data", str(path), "--split", "random", "--epochs", "1", "--quiet"]
    refused(run(*args, "--out", str(tmp_path / "a")), "duplicate rating", "--duplicates last|mean")
    assert run(*args, "--duplicates", "mean", "--out", str(tmp_path / "b")).exit_code == 0


@pytest.mark.parametrize(
    ("option", "value", "phrase"),
    [
        ("--model", "transformer", "--model must be one of"),
        ("--duplicates", "first", "--duplicates must be"),
        ("--scale", "5", "--scale takes LO,HI"),
        ("--format", "xml", "--format must be"),
        ("--fold", "u9", "unknown fold 'u9'"),
        ("--epochs", "0", "epochs and batch_size must be positive"),
    ],
)
def test_bad_training_options_are_refused(
    tmp_path: Path, movielens_dir: Path, option: str, value: str, phrase: str
) -> None:
    result = run("train", "--data", str(movielens_dir), option, value, "--out", str(tmp_path / "m"), "--quiet")
    refused(result, phrase)
    assert not (tmp_path / "m").exists()


def test_an_output_folder_that_cannot_be_created_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "tiny.csv"
    path.write_text(
        "user,item,rating\n" + "".join(f"u{u},i{i},{1 + (u + i) % 5}\n" for u in range(4) for i in range(4))
    )
    (tmp_path / "file").write_text("not a folder")
    result = run(
        "train", "--format", "csv", "--data", str(path), "--epochs", "1", "--out", str(tmp_path / "file" / "m")
    )
    refused(result, "Not a directory")


def test_k_out_of_range_is_refused(model_dir: Path) -> None:
    refused(run("recommend", str(model_dir), "--user", "1", "-k", "0"), "k must be between 1")


def test_evaluating_on_other_data_than_the_model_knows_is_refused(model_dir: Path, tmp_path: Path) -> None:
    path = tmp_path / "other.csv"
    path.write_text(
        "user,item,rating\n" + "".join(f"u{u},i{i},{1 + (u + i) % 5}\n" for u in range(5) for i in range(5))
    )
    result = run("evaluate", str(model_dir), "--format", "csv", "--data", str(path), "--split", "random")
    refused(result, "differ from the model's")
