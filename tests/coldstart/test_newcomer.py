"""The newcomer entry point: ratings, preferences, both, or nothing."""

from __future__ import annotations

import numpy as np
from coldstart_worlds import World

from embrec.coldstart.newcomer import newcomer_list, place_newcomer
from embrec.coldstart.preferences import Preferences, from_preferences


def test_each_kind_of_answer_takes_its_path(dot_world: World) -> None:
    rec = dot_world.recommender
    assert place_newcomer(rec).name == "popularity"
    assert place_newcomer(rec, preferences=Preferences(genres=("Drama",))).name == "similar users"
    assert place_newcomer(rec, {"Film 3 (1953)": 5}).name == "fold-in"


def test_rated_items_never_come_back(dot_world: World) -> None:
    rec = dot_world.recommender
    cold = place_newcomer(rec, {"Film 3 (1953)": 5, "Film 4 (1954)": 4})
    listed = [entry.index for entry in newcomer_list(rec, cold, k=rec.n_items)]
    assert len(listed) == rec.n_items - 2 and not {3, 4} & set(listed)


def test_genres_given_with_ratings_pull_the_fold_in_towards_similar_users(dot_world: World) -> None:
    rec = dot_world.recommender
    likes = Preferences(genres=("Horror",))
    answers = {"Film 3 (1953)": 5, "Film 8 (1958)": 2}
    alone = place_newcomer(rec, answers).rows
    guided = place_newcomer(rec, answers, likes).rows
    target = from_preferences(rec, likes).vector
    assert alone is not None and guided is not None and target is not None
    assert alone.vector is not None and guided.vector is not None
    assert np.linalg.norm(guided.vector - target) < np.linalg.norm(alone.vector - target)
