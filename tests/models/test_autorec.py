"""AutoRec: an item is the encoding of its ratings; large batches take the one-product path;
the rating lists survive a save/load round trip; a newcomer folds in through the decoder rows;
``--model autorec`` gets the kind's defaults."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import torch

from embrec.artifacts.model_dir import load, save
from embrec.cli.train import DEFAULTS, kind_defaults
from embrec.coldstart.fold_in import fold_in_user
from embrec.coldstart.new_items import fold_in_item
from embrec.models import ModelConfig, build_model, default_model_config
from embrec.models.autorec import AutoRec
from embrec.training.config import TrainConfig, default_train_config
from tiny_ratings import checkerboard, train_tiny

USERS, ITEMS, RATINGS = np.array([0, 1, 2, 0]), np.array([1, 1, 3, 0]), np.array([4.0, 2.0, 5.0, 1.0])


def _model() -> AutoRec:
    torch.manual_seed(0)
    model = build_model(3, 4, ModelConfig(kind="autorec", factors=5, y_range=(0.0, 5.5)))
    assert isinstance(model, AutoRec)
    model.set_ratings(USERS, ITEMS, RATINGS)
    return model


def test_an_item_vector_encodes_the_ratings_the_item_got() -> None:
    model = _model()
    e, c = model.rating_encoder.weight.detach(), model.hidden_bias.detach()
    got = model.item_vectors(torch.arange(4)).detach()
    torch.testing.assert_close(got[1], torch.sigmoid(c + 4.0 * e[0] + 2.0 * e[1]))  # rated by users 0 and 1
    torch.testing.assert_close(got[0], torch.sigmoid(c + 1.0 * e[0]))
    torch.testing.assert_close(got[2], torch.sigmoid(c))  # no ratings


def test_a_new_rating_moves_only_its_item() -> None:
    model = _model()
    before = model.item_vectors(torch.arange(4)).detach()
    model.set_ratings(np.append(USERS, 2), np.append(ITEMS, 2), np.append(RATINGS, 3.0))
    after = model.item_vectors(torch.arange(4)).detach()
    assert not torch.allclose(after[2], before[2])
    torch.testing.assert_close(after[[0, 1, 3]], before[[0, 1, 3]])


def test_large_batches_score_as_small_ones() -> None:
    model = _model()
    users, items = torch.arange(3).repeat_interleave(4), torch.arange(4).repeat(3)  # every cell: dense path
    together = model(users, items)
    one_by_one = torch.cat([model(users[k : k + 1], items[k : k + 1]) for k in range(len(users))])
    torch.testing.assert_close(together, one_by_one)
    torch.testing.assert_close(model.score_all(torch.arange(3)).reshape(-1), together)


def test_training_stores_the_ratings_and_a_save_load_round_trip_keeps_them(tmp_path: Path) -> None:
    data, _ = checkerboard()
    recommender = train_tiny(data, "autorec")
    model = recommender.model
    assert isinstance(model, AutoRec)
    assert len(model.raters) == len(data) and float(model.values.sum()) == float(data.ratings.sum())
    loaded = load(save(recommender, tmp_path / "model"))
    assert isinstance(loaded.model, AutoRec)
    torch.testing.assert_close(loaded.model.raters, model.raters)
    users = np.arange(data.n_users)
    np.testing.assert_allclose(loaded.score_users(users).numpy(), recommender.score_users(users).numpy())


def test_autorec_has_its_own_defaults_and_given_settings_win() -> None:
    assert default_model_config("autorec").factors == 500
    assert default_model_config("dot") == ModelConfig(kind="dot")
    assert default_train_config("dot") == TrainConfig()
    autorec = default_train_config("autorec")
    assert autorec.batch_size > 100_000 and autorec.decay == "dense"
    model_config, config = kind_defaults(ModelConfig(kind="autorec"), replace(DEFAULTS, epochs=7))
    assert model_config.factors == 500
    assert config.epochs == 7 and config.batch_size == autorec.batch_size  # given: kept; left: the kind's


def test_a_newcomer_is_folded_in_through_the_decoder_rows_alone() -> None:
    data, _ = checkerboard()
    recommender = train_tiny(data, "autorec")
    before = recommender.model
    assert isinstance(before, AutoRec)
    items = before.item_vectors(torch.arange(data.n_items)).detach()
    folded = fold_in_user(recommender, "newcomer", {"x0": 5.0, "x1": 5.0, "y0": 1.0})
    model = folded.model
    assert isinstance(model, AutoRec)
    assert model.user_decoder.num_embeddings == data.n_users + 1
    torch.testing.assert_close(model.item_vectors(torch.arange(data.n_items)).detach(), items)  # items untouched
    scores = folded.score_users(np.array([data.n_users])).numpy()[0]
    x = [data.item_ids.index(f"x{j}") for j in range(2, 6)]
    y = [data.item_ids.index(f"y{j}") for j in range(1, 6)]
    assert scores[x].min() > scores[y].max()  # likes what the x-group likes


def test_folding_in_an_item_encodes_its_new_ratings_and_leaves_the_original_alone(tmp_path: Path) -> None:
    data, _ = checkerboard()
    recommender = train_tiny(data, "autorec")
    x0, before = data.item_ids.index("x0"), recommender.score_users(np.arange(data.n_users)).numpy()
    # x0 now rated as the y-group items are: loved by group B (u8..u15), hated by group A
    answers = {f"u{u}": (1.0 if u < 8 else 5.0) for u in range(16)}
    folded = fold_in_item(recommender, "x0", answers)
    model = folded.model
    assert isinstance(model, AutoRec)
    users = torch.as_tensor(data.user_ids.indices(list(answers)))
    e, c = model.rating_encoder.weight.detach(), model.hidden_bias.detach()
    expected = torch.sigmoid(c + (torch.tensor(list(answers.values()))[:, None] * e[users]).sum(dim=0))
    torch.testing.assert_close(model.item_vectors(torch.tensor([x0]))[0].detach(), expected)
    after = folded.score_users(np.arange(data.n_users)).numpy()
    group_a, group_b = (data.user_ids.indices([f"u{u}" for u in group]) for group in (range(8), range(8, 16)))
    assert after[group_b, x0].min() > after[group_a, x0].max()  # group B is now the one predicted to like it
    np.testing.assert_array_equal(recommender.score_users(np.arange(data.n_users)).numpy(), before)
    loaded = load(save(folded, tmp_path / "model"))
    np.testing.assert_allclose(loaded.score_users(np.arange(data.n_users)).numpy(), after)


def test_similar_items_compare_the_encoded_item_vectors() -> None:
    data, _ = checkerboard()
    recommender = train_tiny(data, "autorec")
    vectors = recommender.item_factors()
    assert vectors is not None and vectors.shape == (data.n_items, 4)
    similar = [s.item for s in recommender.similar_items("x0", k=3)]
    assert all(item.startswith("x") for item in similar)  # rated alike: its own group first


def test_ratings_outside_the_catalog_or_of_unequal_lengths_are_refused() -> None:
    model = _model()
    with pytest.raises(ValueError, match="out of range"):
        model.set_ratings(np.array([0, 3]), np.array([1, 1]), np.array([4.0, 2.0]))  # 3 users only
    with pytest.raises(ValueError, match="equal lengths"):
        model.set_ratings(np.array([0, 1]), np.array([1]), np.array([4.0, 2.0]))
    with pytest.raises(ValueError, match="out of range"):
        model.set_item_ratings(4, np.array([0]), np.array([3.0]))  # 4 items only
    torch.testing.assert_close(model.raters, torch.tensor([0, 0, 1, 2]))  # the stored ratings are kept


def test_scoring_encodes_the_items_once_until_what_they_are_made_of_changes(monkeypatch: pytest.MonkeyPatch) -> None:
    model = _model()
    encodings: list[bool] = []  # whether autograd was on, per encoding of every item
    encode = model.all_item_vectors
    monkeypatch.setattr(model, "all_item_vectors", lambda: encodings.append(torch.is_grad_enabled()) or encode())

    def scores() -> torch.Tensor:
        with torch.inference_mode():
            return model.score_all(torch.arange(3))

    def fresh() -> torch.Tensor:
        with torch.enable_grad():  # autograd on: never cached
            return model.score_all(torch.arange(3)).detach()

    first = scores()
    assert torch.equal(scores(), first) and encodings == [False]  # reused
    with torch.no_grad():
        model.rating_encoder.weight.add_(0.5)  # in place, as an optimizer step
    assert not torch.equal(scores(), first) and torch.allclose(scores(), fresh())
    model.set_item_ratings(2, np.array([0, 1]), np.array([5.0, 5.0]))  # new rating lists
    assert torch.allclose(scores(), fresh())
    model.rating_encoder = torch.nn.Embedding(3, 5)  # a new table, as appending users makes
    assert torch.allclose(scores(), fresh())
    assert encodings.count(False) == 4  # once per change, not per call
