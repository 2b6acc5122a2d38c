"""New items: placed from metadata, folded in from first ratings, persisted."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from coldstart_worlds import N_ITEMS, N_USERS, World

from embrec.artifacts.model_dir import load, save
from embrec.coldstart.fold_in import predict_folded
from embrec.coldstart.new_items import add_item, fit_metadata_model, fold_in_item
from embrec.coldstart.prior import FoldedRows, flat_rows
from embrec.interpret.neighbours import users_for_item


def test_metadata_places_an_item_where_its_genre_sits(dot_world: World) -> None:
    """Items of a genre share a planted offset: the placement learns it from the trained items."""
    rec = dot_world.recommender
    with torch.no_grad():  # plant: every Horror film (index % 6 == 4) gets a strong item bias
        horror = np.arange(4, N_ITEMS, 6)
        rec.model.item_bias.weight[torch.as_tensor(horror)] += 1.5
    model = fit_metadata_model(rec)
    scary = model.place(["Horror"], 1980)
    funny = model.place(["Comedy"], 1980)
    assert scary.bias > funny.bias + 1.0
    bias_rows = flat_rows(rec.model, model.layout, horror)[:, 0]
    assert abs(scary.bias - bias_rows.mean()) < 0.5


def test_a_new_item_gets_lists_and_persists(dot_world: World, tmp_path: Path) -> None:
    rec = dot_world.recommender
    before = {k: v.clone() for k, v in rec.model.state_dict().items()}
    bigger = add_item(rec, "new-1", "Brand New (2024)", ["Comedy", "Romance"], 2024)
    assert bigger.n_items == N_ITEMS + 1 and bigger.title(N_ITEMS) == "Brand New (2024)"
    assert torch.equal(bigger.model.state_dict()["item_factors.weight"][:N_ITEMS], before["item_factors.weight"])
    state = bigger.model.state_dict()
    folded = FoldedRows("item", {k: v[-1].numpy() for k, v in state.items() if k.startswith("item_")}, "x")
    for_users = predict_folded(bigger, folded)
    assert for_users.shape == (N_USERS,)
    again = load(save(bigger, tmp_path / "model"))
    assert again.title(N_ITEMS) == "Brand New (2024)"
    assert again.predict("3", "new-1") == bigger.predict("3", "new-1")


def test_first_ratings_fold_an_item_in(dot_world: World) -> None:
    rec = add_item(dot_world.recommender, "new-1", "Brand New (2024)", ["Drama"], 2024)
    fans = {str(u): 5.0 for u in range(1, 21)}
    updated = fold_in_item(rec, "new-1", fans)
    assert updated.item_popularity[-1] == 20
    assert updated.predict("1", "new-1") > rec.predict("1", "new-1")
    assert torch.equal(updated.model.state_dict()["user_factors.weight"], rec.model.state_dict()["user_factors.weight"])


def test_users_for_item_works_for_an_item_placed_from_metadata(dot_world: World) -> None:
    rec = add_item(dot_world.recommender, "new-1", "Brand New (2024)", ["Horror"], 2024)
    fans = users_for_item(rec, "Brand New (2024)", k=5)
    assert len(fans) == 5
    assert fans[0].score >= fans[-1].score
