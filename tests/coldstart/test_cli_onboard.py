"""``embrec onboard`` with scripted answers, and ``embrec recommend --ratings/--genres``."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from coldstart_worlds import N_USERS, world
from typer.testing import CliRunner

from embrec.artifacts.model_dir import load, save
from embrec.cli.main import app
from embrec.cli.onboard import parse_ratings

runner = CliRunner()


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return save(world(0, "dot").recommender, tmp_path_factory.mktemp("coldstart") / "model")


def test_onboard_asks_reads_answers_and_recommends(model_dir: Path) -> None:
    # rate the first film 5, skip the second, a bad answer then 2 for the third, then stop
    result = runner.invoke(app, ["onboard", str(model_dir), "--questions", "5", "-k", "5"], input="5\n\nseven\n2\nq\n")
    assert result.exit_code == 0, result.output
    assert result.output.count("Enter if not seen") == 5  # four films shown, one asked twice
    assert "a rating is a number from 1 to 5" in result.output
    assert "top 5 for you (fold-in, 2 ratings)" in result.output


def test_onboard_saves_the_newcomer_into_the_model(tmp_path: Path) -> None:
    directory = save(world(0, "dot").recommender, tmp_path / "model")
    result = runner.invoke(app, ["onboard", str(directory), "--questions", "2", "--save-as", "ann"], input="4\n1\n")
    assert result.exit_code == 0, result.output
    again = load(directory)
    assert again.n_users == N_USERS + 1 and len(again.items_of("ann")) == 2
    assert runner.invoke(app, ["recommend", str(directory), "--user", "ann"]).exit_code == 0


def test_onboard_without_answers_uses_genres_or_the_fallback(model_dir: Path) -> None:
    result = runner.invoke(app, ["onboard", str(model_dir), "--genres", "Horror"], input="q\n")
    assert result.exit_code == 0 and "similar users" in result.output
    result = runner.invoke(app, ["onboard", str(model_dir)], input="q\n")
    assert result.exit_code == 0 and "popularity" in result.output


def test_recommend_for_new_ratings_excludes_them(model_dir: Path) -> None:
    args = ["recommend", str(model_dir), "--ratings", "Film 3 (1953)=5, Film 10 (1960)=1", "-k", "20", "--json"]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    titles = [entry["title"] for entry in json.loads(result.output)["items"]]
    assert len(titles) == 20 and not {"Film 3 (1953)", "Film 10 (1960)"} & set(titles)


def test_recommend_for_liked_genres(model_dir: Path) -> None:
    result = runner.invoke(app, ["recommend", str(model_dir), "--genres", "comedy,Romance"])
    assert result.exit_code == 0, result.output
    assert "top 10" in result.output


@pytest.mark.parametrize(
    ("option", "value", "message"),
    [
        ("--ratings", "Film 3 (1935)=5", "did you mean 'Film 3 (1953)'"),
        ("--ratings", "Film 3 (1953)=9", "outside the scale 1-5"),
        ("--ratings", "Film 3 (1953) five", "TITLE=RATING"),
        ("--genres", "Comedy,Westerns", "unknown genre(s) Westerns"),
    ],
)
def test_bad_newcomer_input_is_refused_clearly(model_dir: Path, option: str, value: str, message: str) -> None:
    result = runner.invoke(app, ["recommend", str(model_dir), option, value])
    assert result.exit_code == 2
    assert message in " ".join(result.output.split())


def test_recommend_needs_a_user_or_a_newcomer(model_dir: Path) -> None:
    assert runner.invoke(app, ["recommend", str(model_dir)]).exit_code == 2
    assert runner.invoke(app, ["recommend", str(model_dir), "--user", "1", "--genres", "Drama"]).exit_code == 2


def test_titles_with_commas_parse() -> None:
    parsed = parse_ratings("Good, the Bad and the Ugly, The (1966)=5,Fargo (1996)=4.5")
    assert parsed == {"Good, the Bad and the Ugly, The (1966)": 5.0, "Fargo (1996)": 4.5}


def test_onboard_takes_demographics(model_dir: Path) -> None:
    args = ["onboard", str(model_dir), "--gender", "F", "--age", "30", "--occupation", "other"]
    result = runner.invoke(app, args, input="q\n")
    assert result.exit_code == 0 and "similar users" in result.output
