"""Newcomers with nothing or only tastes known: fallbacks and the mean of similar users."""

from __future__ import annotations

import numpy as np
import pytest
from coldstart_worlds import N_USERS, World

from embrec.coldstart.fallbacks import (
    choose_fallback,
    compare_fallbacks,
    popularity_fallback,
    popularity_ranking,
    representative_fallback,
    representative_user,
)
from embrec.coldstart.preferences import Preferences, from_preferences, genre_lift, parse_genres, similar_users
from embrec.coldstart.prior import flat_rows, population_prior


def test_the_representative_user_is_the_real_user_nearest_the_mean(dot_world: World) -> None:
    rec = dot_world.recommender
    prior = population_prior(rec)
    rows = flat_rows(rec.model, prior.layout, np.arange(N_USERS))
    distances = ((rows - prior.mean) ** 2).sum(axis=1)
    assert representative_user(rec, prior) == int(np.argmin(distances))
    cold = representative_fallback(rec, prior)
    np.testing.assert_allclose(cold.predictions, rec.score_users(np.array([int(np.argmin(distances))]))[0].numpy())


def test_popularity_fallback_ranks_by_popularity_corrected_by_bias(dot_world: World) -> None:
    rec = dot_world.recommender
    cold = popularity_fallback(rec)
    equally_liked = np.full(rec.n_items, 3.0)
    ranking = popularity_ranking(rec, equally_liked)  # equal predictions: popularity decides
    assert np.array_equal(np.argsort(-ranking, kind="stable")[:5], np.argsort(-rec.item_popularity, kind="stable")[:5])
    popular = int(np.argmax(rec.item_popularity))
    disliked = cold.predictions.copy()
    disliked[popular] = 1.0  # the most popular film, predicted to be disliked, falls
    assert popularity_ranking(rec, disliked)[popular] < cold.ranking[popular]


def test_the_better_fallback_is_chosen_on_held_out_users(dot_world: World) -> None:
    rec, ratings = dot_world.recommender, dot_world.ratings
    test = ratings.subset(ratings.users >= N_USERS - 10)
    report = compare_fallbacks(rec, test)
    assert set(report) == {"representative", "popularity"}
    best = max(report, key=lambda name: report[name]["ndcg@10"])
    assert choose_fallback(rec, test).name == best
    assert choose_fallback(rec).name == "popularity"  # the documented default without data


def test_similar_users_are_those_whose_films_match_the_genres(dot_world: World) -> None:
    rec = dot_world.recommender
    horror = similar_users(rec, Preferences(genres=("Horror",)), k=5)
    lift, names = genre_lift(rec, np.arange(N_USERS))
    best = np.argsort(-lift[:, names.index("Horror")], kind="stable")[:5]
    assert set(horror.tolist()) == set(best.tolist())


def test_demographics_move_the_choice(dot_world: World) -> None:
    rec = dot_world.recommender
    women = similar_users(rec, Preferences(gender="F"), k=10)
    assert rec.user_table is not None
    assert (rec.user_table["gender"].iloc[women] == "F").all()


def test_preferences_place_a_user_at_the_mean_of_similar_users(dot_world: World) -> None:
    rec = dot_world.recommender
    prior = population_prior(rec)
    folded = from_preferences(rec, Preferences(genres=("Comedy", "Romance")), prior, k=7)
    members = similar_users(rec, Preferences(genres=("Comedy", "Romance")), k=7)
    expected = flat_rows(rec.model, prior.layout, members).mean(axis=0)
    assert folded.vector is not None
    np.testing.assert_allclose(folded.vector, expected[1:], rtol=1e-5)
    nothing = from_preferences(rec, Preferences(), prior)
    np.testing.assert_allclose(nothing.bias, prior.mean[0], rtol=1e-5)


def test_genres_are_parsed_case_insensitively_and_unknown_ones_refused() -> None:
    known = ("Comedy", "Romance", "Sci-Fi")
    assert parse_genres("comedy, SCI-FI,Comedy", known) == ("Comedy", "Sci-Fi")
    with pytest.raises(ValueError, match="unknown genre"):
        parse_genres("Comedy,Westerns", known)
