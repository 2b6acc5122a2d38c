"""Fold-in: a planted user is recovered, nothing else moves, folded users persist."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from coldstart_worlds import FACTORS, N_ITEMS, N_USERS, World, dot_model, world

from embrec.artifacts.model_dir import load, save
from embrec.coldstart.extend import add_items
from embrec.coldstart.fold_in import (
    design,
    fold_in,
    fold_in_user,
    predict_folded,
    resolve_answers,
    squashed_loss,
)
from embrec.coldstart.prior import FoldedRows, population_prior
from embrec.data.ids import UnknownIdError


def _planted_user(seed: int) -> tuple[np.ndarray, float]:
    rng = np.random.default_rng(seed)
    return rng.normal(0.0, 0.6, FACTORS).astype(np.float32), float(rng.normal(0.0, 0.3))


def _exact_ratings(w: World, vector: np.ndarray, bias: float, items: np.ndarray) -> np.ndarray:
    rows = {"user_factors.weight": vector, "user_bias.weight": np.array([bias], dtype=np.float32)}
    return predict_folded(w.recommender, FoldedRows("user", rows, "planted"))[items]


def test_recovers_a_planted_user_vector(dot_world: World) -> None:
    vector, bias = _planted_user(1)
    items = np.arange(N_ITEMS)
    ratings = _exact_ratings(dot_world, vector, bias, items)
    folded = fold_in(dot_world.recommender, items, ratings, noise=0.01)
    assert folded.method == "closed_form"
    assert folded.vector is not None
    np.testing.assert_allclose(folded.vector, vector, atol=0.02)
    assert folded.bias == pytest.approx(bias, abs=0.02)


def test_gauss_newton_minimises_the_squared_error_in_stars(dot_world: World) -> None:
    """The logit-scale solution is only a start: the steps lower the loss training minimised."""
    rec = dot_world.recommender
    vector, bias = _planted_user(2)
    items = np.arange(0, N_ITEMS, 3)
    noise = np.random.default_rng(0).normal(0, 0.7, len(items))
    noisy = np.clip(_exact_ratings(dot_world, vector, bias, items) + noise, 1, 5)
    prior = population_prior(rec)
    x, c = design(dot_model(rec), "user", prior, items)

    def loss(f: FoldedRows) -> float:
        w = np.concatenate([f.rows["user_bias.weight"], f.rows["user_factors.weight"]]).astype(np.float64)
        return squashed_loss(x, c, noisy, w, prior, 0.9, (0.0, 5.5))

    logit_only = fold_in(rec, items, noisy, prior=prior, noise=0.9, steps=0)
    refined = fold_in(rec, items, noisy, prior=prior, noise=0.9, steps=3)
    assert loss(refined) < loss(logit_only)
    more = fold_in(rec, items, noisy, prior=prior, noise=0.9, steps=20)
    assert loss(refined) == pytest.approx(loss(more), rel=1e-3)  # three steps are enough


def test_no_ratings_place_the_average_user(dot_world: World) -> None:
    prior = population_prior(dot_world.recommender)
    folded = fold_in(dot_world.recommender, np.array([], dtype=np.int64), np.array([]))
    flat = np.concatenate([folded.rows["user_bias.weight"], folded.rows["user_factors.weight"]])
    np.testing.assert_allclose(flat, prior.mean, rtol=1e-5)


def test_fewer_ratings_stay_closer_to_the_prior(dot_world: World) -> None:
    """Direction, not threshold: the prior pulls harder when evidence is thin."""
    vector, bias = _planted_user(3)
    mean = population_prior(dot_world.recommender).mean[1:]
    items = np.arange(N_ITEMS)
    ratings = _exact_ratings(dot_world, vector, bias, items)
    few = fold_in(dot_world.recommender, items[:3], ratings[:3]).vector
    many = fold_in(dot_world.recommender, items, ratings).vector
    assert few is not None and many is not None
    assert np.linalg.norm(few - mean) < np.linalg.norm(many - mean)
    assert np.linalg.norm(many - vector) < np.linalg.norm(few - vector)


def test_other_models_fold_in_by_gradient_steps() -> None:
    w = world(0, "nn")
    truth = FoldedRows("user", {"user_factors.weight": _planted_user(4)[0]}, "planted")
    items = np.arange(0, N_ITEMS, 2)
    ratings = predict_folded(w.recommender, truth)[items]
    folded = fold_in(w.recommender, items, ratings, noise=0.05)
    assert folded.method == "gradient"
    held_out = np.arange(1, N_ITEMS, 2)
    error = np.abs(predict_folded(w.recommender, folded)[held_out] - predict_folded(w.recommender, truth)[held_out])
    assert error.mean() < 0.1


def test_fold_in_leaves_every_other_weight_untouched(dot_world: World) -> None:
    rec = dot_world.recommender
    before = {name: t.clone() for name, t in rec.model.state_dict().items()}
    bigger = fold_in_user(rec, "newcomer", {"Film 3 (1953)": 5, "7": 2})
    after = bigger.model.state_dict()
    for name, tensor in before.items():
        if name.startswith("user_"):
            assert torch.equal(after[name][:N_USERS], tensor)
            assert after[name].shape[0] == N_USERS + 1
        else:
            assert torch.equal(after[name], tensor)
        assert torch.equal(rec.model.state_dict()[name], tensor)  # the original is not mutated
    assert rec.n_users == N_USERS and bigger.n_users == N_USERS + 1
    assert set(bigger.items_of("newcomer")) == {3, 6}
    assert bigger.item_popularity.sum() == rec.item_popularity.sum() + 2


def test_folded_users_persist_and_reload(dot_world: World, tmp_path: Path) -> None:
    bigger = fold_in_user(dot_world.recommender, "newcomer", {"Film 3 (1953)": 5, "Film 10 (1960)": 1})
    again = load(save(bigger, tmp_path / "model"))
    assert again.n_users == N_USERS + 1
    assert again.recommend("newcomer", 5) == bigger.recommend("newcomer", 5)
    assert again.predict("newcomer", "4") == pytest.approx(bigger.predict("newcomer", "4"))
    assert again.user_table is not None and len(again.user_table) == N_USERS + 1
    # more answers later: the same user is re-estimated in place, not appended
    updated = fold_in_user(again, "newcomer", {"Film 3 (1953)": 5, "Film 10 (1960)": 1, "Film 20 (1970)": 4})
    assert updated.n_users == N_USERS + 1
    assert set(updated.items_of("newcomer")) == {3, 10, 20}
    item_factors = again.model.state_dict()["item_factors.weight"]
    assert torch.equal(updated.model.state_dict()["item_factors.weight"], item_factors)


def test_items_fold_in_like_users_and_persist(dot_world: World, tmp_path: Path) -> None:
    rec = dot_world.recommender
    raters = np.arange(0, N_USERS, 2)
    folded = fold_in(rec, raters, np.full(len(raters), 4.0), side="item")
    bigger = add_items(rec, ["new-film"], [folded], [raters])
    assert bigger.n_items == N_ITEMS + 1 and bigger.seen.shape == (N_USERS, N_ITEMS + 1)
    assert bigger.item_popularity[-1] == len(raters)
    assert bigger.title(N_ITEMS) == "new-film"  # no title given: the raw id, never "nan"
    again = load(save(bigger, tmp_path / "model"))
    assert [s.item for s in again.similar_items("new-film", 3)] == [s.item for s in bigger.similar_items("new-film", 3)]


def test_answers_are_resolved_and_validated(dot_world: World) -> None:
    rec = dot_world.recommender
    indices, values = resolve_answers(rec, {"Film 3 (1953)": 5, "8": 3.5})
    assert indices.tolist() == [3, 7] and values.tolist() == [5.0, 3.5]
    with pytest.raises(UnknownIdError, match="did you mean"):
        resolve_answers(rec, {"Film 3 (1935)": 5})
    with pytest.raises(ValueError, match="outside the scale 1-5"):
        resolve_answers(rec, {"Film 3 (1953)": 6})
    with pytest.raises(ValueError, match="rated twice"):
        resolve_answers(rec, {"Film 3 (1953)": 4, "4": 2})


def test_folded_users_of_other_models_persist(tmp_path: Path) -> None:
    rec = world(0, "nn").recommender
    bigger = fold_in_user(rec, "newcomer", {"Film 3 (1953)": 5, "Film 10 (1960)": 1})
    again = load(save(bigger, tmp_path / "model"))
    assert again.predict("newcomer", "4") == pytest.approx(bigger.predict("newcomer", "4"))
    assert torch.equal(again.model.state_dict()["item_factors.weight"], rec.model.state_dict()["item_factors.weight"])
