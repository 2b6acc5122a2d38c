"""The lazy Adam of sparse training: AdamW on dense parameters, the same Adam on the rows a batch
used, nothing on the rows it did not; and a model trained sparse fits as well as one trained dense."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
import torch
from torch import nn

from embrec.evaluation.rating_metrics import rmse
from embrec.training.config import TrainConfig
from embrec.training.lazy_adam import LazyAdamW
from embrec.training.loop import predict_pairs, train_model
from tiny_ratings import TINY_MODEL, TINY_TRAIN, checkerboard


def quadratic_steps(optimizer_for: type[torch.optim.Optimizer], sparse: bool, rows: list[list[int]]) -> torch.Tensor:
    """Weights of a 5-row table after one step per entry of ``rows`` on sum((w[rows] - 1)^2)."""
    torch.manual_seed(0)
    table = nn.Embedding(5, 3, sparse=sparse)
    optimizer = optimizer_for(table.parameters(), lr=0.1)
    for used in rows:
        optimizer.zero_grad()
        (table(torch.tensor(used)) - 1.0).pow(2).sum().backward()
        optimizer.step()
    return table.weight.detach()


def test_on_dense_gradients_it_is_adamw() -> None:
    steps = [[0, 1, 2, 3, 4]] * 3
    assert torch.allclose(
        quadratic_steps(LazyAdamW, False, steps), quadratic_steps(torch.optim.Adam, False, steps), atol=1e-6
    )
    weights = [torch.nn.Parameter(torch.ones(4, 2)), torch.nn.Parameter(torch.ones(4, 2))]
    lazy, reference = (
        LazyAdamW([weights[0]], lr=0.1, weight_decay=0.5),
        torch.optim.AdamW([weights[1]], lr=0.1, weight_decay=0.5),
    )
    for w, opt in zip(weights, (lazy, reference), strict=True):
        w.grad = torch.full_like(w, 0.3)
        opt.step()
    assert torch.allclose(weights[0], weights[1], atol=1e-6)


def test_rows_used_on_every_step_follow_dense_adam_and_unused_rows_stay_put() -> None:
    steps = [[0, 1, 1], [0, 1], [1, 0, 0]]
    lazy = quadratic_steps(LazyAdamW, True, steps)
    dense = quadratic_steps(torch.optim.Adam, False, steps)
    initial = quadratic_steps(LazyAdamW, True, [])
    assert torch.allclose(lazy[:2], dense[:2], atol=1e-6)
    assert torch.equal(lazy[2:], initial[2:])


def test_a_model_trained_sparse_fits_as_well_as_one_trained_dense() -> None:
    train = checkerboard()[0]
    config = replace(TINY_TRAIN, optimizer="adam")

    def train_rmse(sparse: bool) -> float:
        model, _, _ = train_model(train, TINY_MODEL, replace(config, sparse=sparse))
        users, items = torch.from_numpy(train.users).long(), torch.from_numpy(train.items).long()
        return rmse(predict_pairs(model, users, items).numpy(), train.ratings)

    dense, sparse = train_rmse(False), train_rmse(True)
    assert sparse == pytest.approx(dense, abs=0.05)
    assert np.isfinite(sparse)


def test_sparse_training_leaves_the_model_tables_dense_afterwards() -> None:
    model, _, _ = train_model(checkerboard()[0], TINY_MODEL, replace(TINY_TRAIN, epochs=1, sparse=True))
    assert not any(m.sparse for m in model.modules() if isinstance(m, nn.Embedding))


def test_sparse_training_needs_adam_and_per_example_decay() -> None:
    with pytest.raises(ValueError, match="sparse"):
        TrainConfig(sparse=True, optimizer="sgd")
    with pytest.raises(ValueError, match="sparse"):
        TrainConfig(sparse=True, decay="dense")
