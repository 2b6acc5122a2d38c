"""The questionnaire: distinct, unrated, from the catalog, deterministic, and better than chance."""

from __future__ import annotations

import numpy as np
from coldstart_worlds import N_ITEMS, World, world

from embrec.coldstart.fold_in import fold_in, predict_folded
from embrec.coldstart.prior import FoldedRows, population_prior
from embrec.coldstart.questionnaire import information_vectors, known_share, questionnaire, random_items


def test_items_are_distinct_in_the_catalog_and_skip_the_excluded(dot_world: World) -> None:
    rec = dot_world.recommender
    asked = questionnaire(rec, 15, exclude=[0, 1, 2])
    assert len(asked) == 15 and len(set(asked.tolist())) == 15
    assert ((asked >= 0) & (asked < N_ITEMS)).all()
    assert not {0, 1, 2} & set(asked.tolist())
    assert (rec.item_popularity[asked] > 0).all()  # never an item nobody has rated


def test_candidates_restrict_the_choice_and_exhaust_cleanly(dot_world: World) -> None:
    pool = np.array([5, 9, 17, 40])
    asked = questionnaire(dot_world.recommender, 10, candidates=pool, exclude=[9])
    assert sorted(asked.tolist()) == [5, 17, 40]


def test_it_is_deterministic_and_not_random(dot_world: World) -> None:
    rec = dot_world.recommender
    first = questionnaire(rec, 8)
    assert np.array_equal(first, questionnaire(rec, 8))
    assert np.array_equal(questionnaire(rec, 3), first[:3])  # greedy: a prefix of the longer list
    draws = [set(random_items(rec, 8, seed).tolist()) for seed in range(3)]
    assert all(set(first.tolist()) != d for d in draws)


def test_each_question_is_the_most_informative_left(dot_world: World) -> None:
    """The first question has the highest expected gain pi * log(1 + aᵀ S a) of the catalog."""
    rec = dot_world.recommender
    prior = population_prior(rec)
    a = information_vectors(rec, prior)
    gain = known_share(rec) * np.log1p(np.einsum("id,de,ie->i", a, prior.covariance, a))
    assert questionnaire(rec, 1, prior=prior)[0] == int(np.argmax(gain))


def test_answers_to_the_questionnaire_place_users_better_than_random_answers() -> None:
    """On planted users, 4 chosen questions recover the predictions better than 4 random ones."""
    w = world(3, "dot", per_user=60)
    rec = w.recommender
    prior = population_prior(rec)
    rng = np.random.default_rng(0)
    chosen, drawn = [], []
    for trial in range(30):
        flat = rng.multivariate_normal(prior.mean, prior.covariance)
        truth = predict_folded(rec, FoldedRows("user", prior.layout.split(flat), "planted"))
        for items, errors in ((questionnaire(rec, 4, prior=prior), chosen), (random_items(rec, 4, trial), drawn)):
            guess = predict_folded(rec, fold_in(rec, items, truth[items], prior=prior))
            errors.append(np.sqrt(np.mean((guess - truth) ** 2)))
    assert np.mean(chosen) < np.mean(drawn)


def test_models_without_a_closed_form_get_a_questionnaire_too() -> None:
    rec = world(0, "nn").recommender
    asked = questionnaire(rec, 6)
    assert len(set(asked.tolist())) == 6 and np.array_equal(asked, questionnaire(rec, 6))
