"""The training loop: seeded and reproducible, weight decay shrinks embeddings, output range from the
scale, early stopping keeps the best weights, and untrained rows fall back to the mean trained row."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
import torch

from embrec.data.ratings import Ratings
from embrec.evaluation.protocol import evaluate
from embrec.recommend.recommender import Recommender
from embrec.training.config import TrainConfig, default_y_range
from embrec.training.loop import EpochRecord, train_model
from tiny_ratings import TINY_MODEL, TINY_TRAIN, checkerboard, ratings, train_tiny

FAST = replace(TINY_TRAIN, epochs=8)


def data() -> Ratings:
    return checkerboard()[0]


def weights_of(model: torch.nn.Module) -> dict[str, torch.Tensor]:
    return {name: tensor.detach().clone() for name, tensor in model.state_dict().items()}


def embedding_norm(model: torch.nn.Module) -> float:
    """Squared Frobenius norm of the user and item factor tables."""
    return float(sum(getattr(model, t).weight.detach().pow(2).sum() for t in ("user_factors", "item_factors")))


@pytest.mark.parametrize("kind", ["dot", "nn"])
def test_the_same_seed_and_data_give_identical_weights_and_metrics(kind: str) -> None:
    train = data()
    first, second = train_tiny(train, kind, FAST), train_tiny(train, kind, FAST)
    for name, tensor in weights_of(first.model).items():
        assert torch.equal(tensor, weights_of(second.model)[name]), name
    assert evaluate(first, train, k=3) == evaluate(second, train, k=3)


def test_another_seed_gives_other_weights() -> None:
    train = data()
    first, other = train_tiny(train, "dot", FAST), train_tiny(train, "dot", replace(FAST, seed=1))
    assert not torch.equal(first.model.user_factors.weight, other.model.user_factors.weight)


def test_training_leaves_the_global_random_state_alone() -> None:
    torch.manual_seed(123)
    expected = torch.rand(3)
    torch.manual_seed(123)
    train_tiny(data(), "dot", FAST)
    assert torch.equal(torch.rand(3), expected)


@pytest.mark.parametrize(
    ("optimizer", "decay"), [("adamw", "per_example"), ("adam", "dense"), ("adamw", "dense"), ("sgd", "dense")]
)
def test_larger_weight_decay_gives_smaller_embedding_norms(optimizer: str, decay: str) -> None:
    train = data()
    config = replace(FAST, epochs=15, optimizer=optimizer, decay=decay)
    norms = [embedding_norm(train_tiny(train, "dot", replace(config, weight_decay=wd)).model) for wd in (0.0, 0.1, 1.0)]
    assert norms[0] > norms[1] > norms[2]


@pytest.mark.parametrize(
    ("scale", "y_range"), [((1.0, 5.0), (0.0, 5.5)), ((0.5, 5.0), (-0.625, 5.5625)), ((1.0, 10.0), (-1.25, 11.125))]
)
def test_the_output_range_is_derived_from_the_rating_scale(
    scale: tuple[float, float], y_range: tuple[float, float]
) -> None:
    assert default_y_range(scale) == pytest.approx(y_range)
    train = ratings([("a", "x", scale[0]), ("b", "y", scale[1])], scale=scale)
    _, resolved, _ = train_model(train, TINY_MODEL, replace(FAST, epochs=1))
    assert resolved.y_range == pytest.approx(y_range)


def test_a_given_output_range_is_kept() -> None:
    _, resolved, _ = train_model(data(), replace(TINY_MODEL, y_range=(1.0, 5.0)), replace(FAST, epochs=1))
    assert resolved.y_range == (1.0, 5.0)


def test_every_epoch_is_reported_to_the_callback_with_loss_and_validation_rmse() -> None:
    records: list[EpochRecord] = []
    config = replace(FAST, epochs=3, valid_fraction=0.2)
    _, _, history = train_model(data(), TINY_MODEL, config, on_epoch=records.append)
    assert [r.epoch for r in records] == [1, 2, 3]
    assert records == history.epochs
    assert all(r.valid_rmse is not None and np.isfinite(r.train_loss) for r in records)


def test_early_stopping_keeps_the_weights_of_the_best_validation_epoch() -> None:
    train = data()
    valid = train.subset(np.arange(0, len(train), 5))
    config = replace(TINY_TRAIN, epochs=12, lr=0.2, patience=2, schedule="constant")
    model, resolved, history = train_model(train, TINY_MODEL, config, valid=valid)
    best = min(history.epochs, key=lambda r: r.valid_rmse or np.inf)
    assert history.best_epoch == best.epoch
    kept_rmse = evaluate(Recommender.from_training(model, resolved, train), valid)["rmse"]
    assert kept_rmse == pytest.approx(best.valid_rmse, rel=1e-5)
    assert history.stopped_early  # a constant, large rate overshoots after a few epochs
    assert len(history.epochs) == best.epoch + 2  # patience


def test_closed_form_baselines_are_fitted_in_one_step() -> None:
    _, _, history = train_model(data(), replace(TINY_MODEL, kind="bias"), TrainConfig(epochs=20))
    assert len(history.epochs) == 1 and history.best_epoch == 1


def test_untrained_users_and_items_get_the_mean_trained_row() -> None:
    """The documented fallback (``fill_untrained``): an unseen user is scored as the average user."""
    full = ratings([("a", "x", 5.0), ("a", "y", 1.0), ("b", "x", 4.0), ("b", "z", 2.0), ("new", "fresh", 3.0)])
    train = full.subset(full.users != full.user_ids.index("new"))
    recommender = train_tiny(train, "dot", FAST)
    model = recommender.model
    new, fresh = full.user_ids.index("new"), full.item_ids.index("fresh")
    trained_users = [full.user_ids.index(u) for u in ("a", "b")]
    trained_items = [full.item_ids.index(i) for i in ("x", "y", "z")]
    for table, row, trained in (
        (model.user_factors, new, trained_users),
        (model.user_bias, new, trained_users),
        (model.item_factors, fresh, trained_items),
        (model.item_bias, fresh, trained_items),
    ):
        torch.testing.assert_close(table.weight[row], table.weight[trained].mean(dim=0))
    listed = recommender.recommend("new", k=4)
    assert len(listed) == 4 and all(np.isfinite(entry.score) for entry in listed)


def test_training_without_ratings_or_with_misshapen_weights_is_refused() -> None:
    train = data()
    with pytest.raises(ValueError, match="no training ratings"):
        train_model(train.subset(train.ratings > 10), TINY_MODEL, FAST)
    with pytest.raises(ValueError, match="one entry per training rating"):
        train_model(train, TINY_MODEL, FAST, weights=np.ones(3))
