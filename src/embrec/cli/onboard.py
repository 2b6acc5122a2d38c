"""``embrec onboard``: a newcomer's first visit in the terminal; ``--ratings``/``--genres`` parsing.

Shows the questionnaire one film at a time (the most informative films first, see
:mod:`embrec.coldstart.questionnaire`), reads a rating or Enter ("not seen") per film from stdin,
then prints the newcomer's list. ``--save-as USER`` folds the newcomer into the model directory.
"""

from __future__ import annotations

import re
from dataclasses import replace
from pathlib import Path
from typing import Annotated

import numpy as np
import typer

from embrec.artifacts.model_dir import load, save
from embrec.cli.common import KOpt, console, friendly_errors, items_table
from embrec.coldstart.extend import add_users
from embrec.coldstart.newcomer import newcomer_list, place_newcomer
from embrec.coldstart.preferences import Preferences, genre_matrix, parse_genres
from embrec.coldstart.prior import population_prior
from embrec.coldstart.questionnaire import questionnaire
from embrec.recommend.recommender import ItemScore, Recommender

ASK_FACTOR = 3  # films shown at most per answer wanted (people skip films they have not seen)
_RATING = re.compile(r"\s*(?P<title>[^=]+?)\s*=\s*(?P<value>[-+]?\d+(?:\.\d+)?)\s*(?:,|$)")


def parse_ratings(text: str) -> dict[str, float]:
    """``"Star Wars (1977)=5, Fargo (1996)=4"`` -> ``{title: rating}``; titles may contain commas."""
    found: dict[str, float] = {}
    position = 0
    for match in _RATING.finditer(text):
        if match.start() != position:
            break
        found[match["title"]] = float(match["value"])
        position = match.end()
    if position != len(text) or not found:
        raise ValueError(f"--ratings takes TITLE=RATING pairs separated by commas, e.g. 'Fargo (1996)=4', not {text!r}")
    return found


def preferences_of(recommender: Recommender, genres: str | None) -> Preferences:
    if not genres:
        return Preferences()
    return Preferences(genres=parse_genres(genres, genre_matrix(recommender)[1]))


def newcomer_items(recommender: Recommender, ratings: str | None, genres: str | None, k: int) -> list[ItemScore]:
    """The list of ``embrec recommend --ratings ... --genres ...`` (see :mod:`embrec.coldstart.newcomer`)."""
    answers: dict[object, float] = {}
    if ratings:
        answers.update(parse_ratings(ratings))
    return newcomer_list(recommender, place_newcomer(recommender, answers, preferences_of(recommender, genres)), k)


@friendly_errors
def onboard(
    model_dir: Annotated[Path, typer.Argument(help="Model directory.")],
    questions: Annotated[int, typer.Option("--questions", help="How many films to rate.")] = 10,
    genres: Annotated[str | None, typer.Option("--genres", help="Liked genres, e.g. Comedy,Romance.")] = None,
    age: Annotated[float | None, typer.Option("--age", help="Age in years (optional).")] = None,
    gender: Annotated[str | None, typer.Option("--gender", help="Gender as in the user table, e.g. F or M.")] = None,
    occupation: Annotated[str | None, typer.Option("--occupation", help="Occupation, e.g. writer.")] = None,
    save_as: Annotated[
        str | None, typer.Option("--save-as", help="Fold the newcomer into MODEL_DIR under this user id.")
    ] = None,
    k: KOpt = 10,
) -> None:
    """Rate a few films, get recommendations: the questionnaire in the terminal."""
    if questions < 0:
        raise typer.BadParameter("--questions must be non-negative")
    recommender = load(model_dir)
    preferences = replace(preferences_of(recommender, genres), age=age, gender=gender, occupation=occupation)
    prior = population_prior(recommender)
    answers = _ask(recommender, questionnaire(recommender, ASK_FACTOR * questions, prior=prior), questions)
    cold = place_newcomer(recommender, answers, preferences, prior)
    title = f"top {k} for you ({cold.name}, {len(answers)} ratings)"
    console.print(items_table(title, newcomer_list(recommender, cold, k), "predicted"))
    if save_as is not None:
        if cold.rows is None:
            raise ValueError("nothing to save: give some ratings or --genres")
        rated = np.asarray([recommender.item_index(item) for item in answers], dtype=np.int64)
        save(add_users(recommender, [save_as], [cold.rows], [rated]), model_dir)
        console.print(f"saved user {save_as!r} to {model_dir}")


def _ask(recommender: Recommender, films: np.ndarray, wanted: int) -> dict[object, float]:
    """Walk the films best first until ``wanted`` ratings are given, the list ends or the user quits."""
    lo, hi = recommender.scale
    answers: dict[object, float] = {}
    for index in films.tolist():
        if len(answers) >= wanted:
            break
        rating = _ask_one(recommender.title(int(index)), lo, hi)
        if rating is None:
            break
        if rating == rating:  # NaN: not seen
            answers[recommender.item_ids.raw(int(index))] = rating
    return answers


def _ask_one(title: str, lo: float, hi: float) -> float | None:
    """One film: a rating in the scale, NaN for "not seen" (Enter), None to stop (q)."""
    while True:
        question = f"{title}: rate {lo:g}-{hi:g}, Enter if not seen, q to stop"
        reply = str(typer.prompt(question, default="", show_default=False)).strip().lower()
        if reply in ("", "q"):
            return float("nan") if reply == "" else None
        try:
            value = float(reply)
        except ValueError:
            value = float("nan")
        if lo <= value <= hi:
            return value
        console.print(f"[yellow]a rating is a number from {lo:g} to {hi:g}[/]")
