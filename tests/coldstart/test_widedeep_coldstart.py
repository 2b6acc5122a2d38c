"""Cold start through a Wide & Deep model's side features (occupation decides taste here)."""

from __future__ import annotations

from functools import cache
from pathlib import Path

import numpy as np
import pytest
import torch
from coldstart_worlds import widedeep_world

from embrec.artifacts.model_dir import load, save
from embrec.coldstart.extend import add_users
from embrec.coldstart.features import attribute_rows
from embrec.coldstart.fold_in import fold_in_user
from embrec.coldstart.new_items import add_item
from embrec.coldstart.newcomer import place_newcomer
from embrec.coldstart.preferences import Preferences
from embrec.coldstart.questionnaire import questionnaire
from embrec.models.wide_deep import WideAndDeep
from embrec.recommend.recommender import Recommender

X_FILMS, Y_FILMS = np.arange(0, 20, 2), np.arange(1, 20, 2)


@cache
def trained() -> Recommender:
    return widedeep_world()


def test_demographics_alone_go_through_the_features_only_model() -> None:
    rec = trained()
    cold = place_newcomer(rec, preferences=Preferences(occupation="a2"))
    assert cold.name == "features-only"
    assert cold.predictions[X_FILMS].mean() > cold.predictions[Y_FILMS].mean() + 2
    other = place_newcomer(rec, preferences=Preferences(occupation="b1"))
    assert other.predictions[Y_FILMS].mean() > other.predictions[X_FILMS].mean() + 2


def test_a_newcomer_keeps_its_attributes_in_the_model_directory(tmp_path: Path) -> None:
    rec = trained()
    cold = place_newcomer(rec, {"Film 0": 1.0}, Preferences(occupation="b1"))
    assert cold.rows is not None and "user_features" in cold.rows.rows
    bigger = add_users(rec, ["newcomer"], [cold.rows], [np.array([0])])
    model = bigger.model
    assert isinstance(model, WideAndDeep) and isinstance(rec.model, WideAndDeep)
    encoded = attribute_rows(rec, "user", {"occupation": "b1"})["user_features"]
    np.testing.assert_array_equal(model.user_features[-1].numpy(), encoded)
    assert torch.equal(model.user_features[:-1], rec.model.user_features)
    again = load(save(bigger, tmp_path / "model"))
    assert again.predict("newcomer", "i1") == pytest.approx(bigger.predict("newcomer", "i1"))
    assert bigger.predict("newcomer", "i1") > bigger.predict("newcomer", "i2")


def test_fold_in_without_attributes_reads_the_unknown_feature_row() -> None:
    rec = trained()
    bigger = fold_in_user(rec, "fan", {"i0": 5.0, "i2": 5.0, "i1": 1.0})
    model = bigger.model
    assert isinstance(model, WideAndDeep)
    assert model.user_features[-1].tolist() == [0]  # the unknown slot, not user 0's occupation
    assert bigger.predict("fan", "i4") > bigger.predict("fan", "i5")


def test_a_new_item_gets_its_genre_as_a_feature() -> None:
    rec = trained()
    bigger = add_item(rec, "new-x", "New X film", ["x"], None)
    model = bigger.model
    assert isinstance(model, WideAndDeep)
    assert model.item_features[-1].tolist() == attribute_rows(rec, "item", {"genres": "x"})["item_features"].tolist()
    assert bigger.predict("u0", "new-x") > bigger.predict("u1", "new-x") + 2  # u0 is an a-user, u1 a b-user


def test_the_questionnaire_works_for_widedeep() -> None:
    asked = questionnaire(trained(), 5)
    assert len(set(asked.tolist())) == 5
