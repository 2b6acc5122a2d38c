"""``embrec recommend`` with --exact/--approximate, --save-index and --all-users, in-process, on a
synthetic dot model of 20,000 items (below the 100,000-item threshold, so the default is exact)."""

from __future__ import annotations

import csv
import io
import json
import sys
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from embrec.artifacts.model_dir import save
from embrec.cli.main import app
from embrec.recommend.approximate import INDEX_FILE, SIDECAR
from embrec.recommend.recommender import Recommender
from embrec.recommend.retrieval import recall_at_k
from large_catalog import N_USERS, large_recommender

pytest.importorskip("faiss")
runner = CliRunner(env={"COLUMNS": "400"})


@pytest.fixture(scope="module")
def large() -> Recommender:
    return large_recommender()


@pytest.fixture(scope="module")
def model_dir(large: Recommender, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return save(large, tmp_path_factory.mktemp("large") / "dot")


def listed(*args: str) -> list[str]:
    result = runner.invoke(app, ["recommend", *args, "--json"])
    assert result.exit_code == 0, result.output
    return [entry["item"] for entry in json.loads(result.stdout)["items"]]


def test_exact_is_the_default_below_the_threshold_and_approximate_agrees(large: Recommender, model_dir: Path) -> None:
    exact = [entry.item for entry in large.recommend("u7", 10, exact=True)]
    assert listed(str(model_dir), "--user", "u7") == exact == listed(str(model_dir), "--user", "u7", "--exact")
    assert not (model_dir / INDEX_FILE).exists()
    approximate = listed(str(model_dir), "--user", "u7", "--approximate", "--save-index")
    assert len(set(approximate) & set(exact)) >= 8
    assert not set(approximate) & set(large.item_ids.raws(large.items_of("u7")))
    assert (model_dir / INDEX_FILE).is_file() and json.loads((model_dir / SIDECAR).read_text())["n_items"] == 20_000


def test_all_users_writes_every_list_as_csv(large: Recommender, model_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "lists.csv"
    result = runner.invoke(app, ["recommend", str(model_dir), "--all-users", "-k", "5", "--out", str(out)])
    assert result.exit_code == 0, result.output
    rows = list(csv.DictReader(out.open()))
    assert len(rows) == 5 * N_USERS and list(rows[0]) == ["user", "rank", "item", "score"]
    expected, _ = large.top_n(np.arange(N_USERS), 5, exact=True)
    assert [r["item"] for r in rows] == large.item_ids.raws(expected.ravel())

    approximate = runner.invoke(app, ["recommend", str(model_dir), "--all-users", "-k", "5", "--approximate"])
    assert approximate.exit_code == 0, approximate.output
    found = [r["item"] for r in csv.DictReader(io.StringIO(approximate.stdout))]
    index = {raw: i for i, raw in enumerate(large.item_ids.ids)}
    found_matrix = np.array([index[raw] for raw in found]).reshape(N_USERS, 5)
    assert recall_at_k(found_matrix, expected) >= 0.9


def test_all_users_refuses_single_user_options(model_dir: Path) -> None:
    result = runner.invoke(app, ["recommend", str(model_dir), "--all-users", "--user", "u1"])
    assert result.exit_code == 2 and "--all-users takes no" in result.output


def test_approximate_without_faiss_names_the_extra(model_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "faiss", None)
    result = runner.invoke(app, ["recommend", str(model_dir), "--user", "u1", "--approximate"])
    assert result.exit_code == 2 and "embrec[ann]" in result.output and "Traceback" not in result.output
