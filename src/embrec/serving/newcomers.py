"""Placing a new user in a trained model's space, for the service: a thin layer over ``embrec.coldstart``.

Questionnaire ratings are folded in (:func:`embrec.coldstart.newcomer.place_newcomer`: item
parameters frozen, the population prior in place of weight decay); liked genres move the prior
towards the users with those tastes, or alone place the newcomer at the mean of similar users; with
neither, the default fallback. The questions are chosen by expected information gain
(:func:`embrec.coldstart.questionnaire.questionnaire`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from embrec.coldstart.newcomer import place_newcomer
from embrec.coldstart.preferences import Preferences
from embrec.coldstart.prior import Prior
from embrec.coldstart.questionnaire import questionnaire
from embrec.recommend.recommender import Recommender


@dataclass(frozen=True)
class Placement:
    """A newcomer as a model sees it: predicted ratings and ranking scores of every item, the user's vector."""

    scores: np.ndarray  # (n_items,) predicted ratings
    ranking: np.ndarray  # (n_items,) higher first; -inf for the items the placement was made from
    vector: np.ndarray | None  # (factors,), for the taste map
    method: str  # "fold-in", "similar users" or the fallback's name


def place_user(
    recommender: Recommender,
    items: np.ndarray,
    ratings: np.ndarray,
    genres: Sequence[str] = (),
    prior: Prior | None = None,
) -> Placement:
    """Place a newcomer from rated item indices (each once) and liked genres."""
    raw = recommender.item_ids.raws(items)
    answers: dict[object, float] = {item: float(r) for item, r in zip(raw, ratings, strict=True)}
    cold = place_newcomer(recommender, answers, Preferences(genres=tuple(genres)), prior)
    vector = None if cold.rows is None or cold.rows.vector is None else np.ravel(cold.rows.vector)
    return Placement(np.asarray(cold.predictions, np.float32), np.asarray(cold.ranking), vector, cold.name)


def questionnaire_items(recommender: Recommender, n: int, prior: Prior | None = None) -> list[int]:
    """The ``n`` items most worth asking a newcomer about, best first."""
    return [int(i) for i in questionnaire(recommender, n, prior=prior)]
