"""SVD++: the implicit part of the user vector, and N(u) surviving a save/load round trip."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from embrec.artifacts.model_dir import load, save
from embrec.models import ModelConfig, build_model
from embrec.models.svdpp import SVDPlusPlus
from tiny_ratings import checkerboard, train_tiny


def _model() -> SVDPlusPlus:
    torch.manual_seed(0)
    model = build_model(3, 4, ModelConfig(kind="svdpp", factors=4, y_range=(0.0, 5.5)))
    assert isinstance(model, SVDPlusPlus)
    with torch.no_grad():
        model.item_implicit.weight.normal_(0.0, 1.0)
        model.item_factors.weight.normal_(0.0, 1.0)
    return model


def test_the_implicit_sum_is_the_scaled_sum_of_the_rated_items_rows() -> None:
    model = _model()
    model.set_rated(np.array([0, 0, 1, 0]), np.array([1, 3, 2, 1]))  # user 0 rated 1 and 3 (1 twice)
    y = model.item_implicit.weight.detach()
    got = model.implicit(torch.tensor([0, 1, 2, 0])).detach()
    torch.testing.assert_close(got[0], (y[1] + y[3]) / np.sqrt(2))
    torch.testing.assert_close(got[1], y[2])
    torch.testing.assert_close(got[2], torch.zeros(4))  # no training ratings: no implicit part
    torch.testing.assert_close(got[3], got[0])


def test_users_alike_but_for_what_they_rated_get_different_predictions() -> None:
    model = _model()
    with torch.no_grad():
        model.user_factors.weight.zero_()  # identical explicit factors and biases
    model.set_rated(np.array([0, 1]), np.array([0, 3]))
    items = torch.arange(4)
    first, second = model(torch.zeros(4, dtype=torch.long), items), model(torch.ones(4, dtype=torch.long), items)
    assert not torch.allclose(first, second)
    torch.testing.assert_close(model.score_all(torch.tensor([0, 1])), torch.stack([first, second]))


def test_the_implicit_part_is_one_of_the_logit_parts() -> None:
    model = _model()
    model.set_rated(np.array([0, 1]), np.array([0, 3]))
    users, items = torch.tensor([0, 1, 2]), torch.tensor([1, 2, 3])
    parts = model.logit_parts(users, items)
    assert set(parts) == {"global", "user_bias", "item_bias", "interaction", "implicit"}
    assert parts["implicit"][2] == 0.0
    logit = model.logit_all(users)[torch.arange(3), items]
    torch.testing.assert_close(sum(parts.values()), logit)


def test_more_weight_decay_gives_smaller_implicit_rows() -> None:
    from dataclasses import replace

    from tiny_ratings import TINY_TRAIN

    data, _ = checkerboard()
    norms = []
    for wd in (0.01, 1.0):
        model = train_tiny(data, "svdpp", replace(TINY_TRAIN, weight_decay=wd)).model
        assert isinstance(model, SVDPlusPlus)
        norms.append(float(model.item_implicit.weight.detach().norm()))
    assert norms[1] < norms[0]


def test_training_sets_n_u_and_a_save_load_round_trip_keeps_it(tmp_path: Path) -> None:
    data, _ = checkerboard()
    recommender = train_tiny(data, "svdpp")
    model = recommender.model
    assert isinstance(model, SVDPlusPlus)
    assert len(model.rated_items) == len(data)  # one entry per distinct training (user, item)
    loaded = load(save(recommender, tmp_path / "model"))
    assert isinstance(loaded.model, SVDPlusPlus)
    torch.testing.assert_close(loaded.model.rated_items, model.rated_items)
    users = np.arange(data.n_users)
    np.testing.assert_allclose(loaded.score_users(users).numpy(), recommender.score_users(users).numpy())
