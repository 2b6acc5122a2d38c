"""Regularisation and run settings of training: count-tempered row penalties, separate bias and MLP
decay, the torch thread setting, and schedules that survive a handful of batches."""

from __future__ import annotations

from dataclasses import replace

import pytest
import torch

from embrec.models import ModelConfig
from embrec.training.config import TrainConfig
from embrec.training.loop import row_weights, train_model
from embrec.training.optim import make_optimizer, make_schedule, parameter_groups
from tiny_ratings import TINY_MODEL, TINY_TRAIN, checkerboard, ratings

FAST = replace(TINY_TRAIN, epochs=8)


def test_row_weights_fall_with_the_count_and_average_one_over_the_ratings() -> None:
    rows = torch.tensor([0, 0, 0, 0, 1, 2, 2])  # counts 4, 1, 2; row 3 has none
    weights = row_weights(rows, 4, alpha=0.5)
    assert float(weights[rows].mean()) == pytest.approx(1.0)
    assert float(weights[1]) > float(weights[2]) > float(weights[0])
    assert float(weights[0] / weights[1]) == pytest.approx(4**-0.5)
    assert float(weights[3]) == 0.0


def test_alpha_zero_is_plain_per_example_decay() -> None:
    rows = torch.tensor([0, 0, 0, 1])
    assert torch.equal(row_weights(rows, 2, alpha=0.0), torch.ones(2))


def test_a_larger_bias_decay_shrinks_the_biases() -> None:
    train = checkerboard()[0]

    def bias_norm(bias_decay: float) -> float:
        model, _, _ = train_model(train, TINY_MODEL, replace(FAST, bias_decay=bias_decay))
        return float(model.user_bias.weight.detach().pow(2).sum() + model.item_bias.weight.detach().pow(2).sum())

    assert bias_norm(1.0) < 0.5 * bias_norm(0.0)


def test_mlp_weight_matrices_are_decayed_apart_from_the_embedding_tables() -> None:
    model = train_model(checkerboard()[0], ModelConfig(kind="nn", factors=4), replace(FAST, epochs=1))[0]
    groups = parameter_groups(model)
    linear = [m.weight for m in model.mlp if isinstance(m, torch.nn.Linear)]
    assert {id(p) for p in groups["weights"]} == {id(w) for w in linear}
    assert {id(model.user_factors.weight), id(model.item_bias.weight)} <= {id(p) for p in groups["tables"]}
    optimizer = make_optimizer(model, TrainConfig(mlp_weight_decay=0.3))
    tables, weights, no_decay = optimizer.param_groups
    assert tables["weight_decay"] == 0.0  # per-example: the tables decay through the loss
    assert weights["weight_decay"] == 0.3
    assert no_decay["weight_decay"] == 0.0


def test_training_uses_the_configured_threads_and_restores_the_caller_setting() -> None:
    before = torch.get_num_threads()
    seen: list[int] = []
    config = replace(FAST, epochs=1, threads=1)
    train_model(checkerboard()[0], TINY_MODEL, config, on_epoch=lambda _: seen.append(torch.get_num_threads()))
    assert seen == [1]
    assert torch.get_num_threads() == before


def test_one_cycle_on_a_single_batch_trains_at_a_constant_rate_instead_of_failing() -> None:
    tiny = ratings([("a", "x", 5.0), ("b", "y", 1.0), ("a", "y", 3.0)])
    model, _, history = train_model(tiny, TINY_MODEL, replace(TINY_TRAIN, epochs=1, batch_size=1024))
    assert len(history.epochs) == 1
    optimizer = make_optimizer(model, TrainConfig())
    schedule = make_schedule(optimizer, TrainConfig(epochs=1), steps_per_epoch=1)
    assert isinstance(schedule, torch.optim.lr_scheduler.ConstantLR)


@pytest.mark.parametrize(
    "bad", [{"penalty_alpha": 1.5}, {"bias_decay": -1.0}, {"mlp_weight_decay": -0.1}, {"warmup": 0.0}, {"threads": 0}]
)
def test_out_of_range_settings_are_refused(bad: dict[str, float]) -> None:
    with pytest.raises(ValueError):
        TrainConfig(**bad)  # type: ignore[arg-type]
