"""Gibbs sampling of biased MF (the ``bmf`` model): it recovers planted structure, is seeded,
its averaged tables reproduce the samples' mean, weights act as precisions, and through
``train_model`` it is a model like the others (save, load, explanations, fold-in)."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import torch

from embrec.artifacts.model_dir import load, save
from embrec.coldstart.fold_in import fold_in_user
from embrec.data.movielens import load_fold
from embrec.evaluation.protocol import evaluate
from embrec.interpret.explanations import output_formula, prediction_parts
from embrec.models import ModelConfig, default_model_config
from embrec.models.bayesian import BayesianMF
from embrec.recommend.recommender import Recommender
from embrec.training.config import TrainConfig, default_train_config
from embrec.training.gibbs import _compress, _sample_rows, _Side, sample_posterior
from embrec.training.loop import FitHooks, fit, train_model
from tiny_ratings import ratings


def _planted(seed: int = 0, n_users: int = 80, n_items: int = 60, rank: int = 2, noise: float = 0.1):
    """A rank-2 matrix plus biases, 60% of cells observed: (train, test) index/value tensors."""
    rng = np.random.default_rng(seed)
    p, q = rng.normal(0, 1, (n_users, rank)), rng.normal(0, 1, (n_items, rank))
    truth = 3 + rng.normal(0, 0.3, (n_users, 1)) + rng.normal(0, 0.3, (1, n_items)) + p @ q.T
    users, items = np.divmod(rng.permutation(n_users * n_items)[: int(0.6 * n_users * n_items)], n_items)
    values = truth[users, items] + rng.normal(0, noise, len(users))
    cut = int(0.8 * len(users))
    as_t = lambda a: torch.from_numpy(np.ascontiguousarray(a))  # noqa: E731
    return (as_t(users[:cut]), as_t(items[:cut]), as_t(values[:cut]).float()), (
        as_t(users[cut:]), as_t(items[cut:]), as_t(values[cut:]).float(),
    )  # fmt: skip


def _predict(posterior, users: torch.Tensor, items: torch.Tensor) -> torch.Tensor:
    interaction = (posterior.user_factors[users] * posterior.item_factors[items]).sum(1)
    return posterior.global_bias + posterior.user_bias[users] + posterior.item_bias[items] + interaction


def _rmse(a: torch.Tensor, b: torch.Tensor) -> float:
    return float(((a - b) ** 2).mean().sqrt())


def test_the_sampler_recovers_a_planted_low_rank_matrix_down_to_its_noise() -> None:
    (users, items, values), (test_u, test_i, test_v) = _planted()
    posterior = sample_posterior(users, items, values, 80, 60, factors=2, sweeps=60)
    one_factor = sample_posterior(users, items, values, 80, 60, factors=1, sweeps=60)
    assert _rmse(_predict(posterior, test_u, test_i), test_v) < 0.15  # the planted noise is 0.1
    assert _rmse(_predict(one_factor, test_u, test_i), test_v) > 0.6  # one factor cannot hold rank 2
    assert 0.08 < posterior.noise < 0.13  # and it estimates that noise


def test_the_same_seed_gives_the_same_posterior_and_another_seed_a_different_one() -> None:
    (users, items, values), _ = _planted()
    torch.manual_seed(123)  # the global RNG plays no part
    a = sample_posterior(users, items, values, 80, 60, factors=2, sweeps=10, seed=1)
    torch.manual_seed(456)
    b = sample_posterior(users, items, values, 80, 60, factors=2, sweeps=10, seed=1)
    c = sample_posterior(users, items, values, 80, 60, factors=2, sweeps=10, seed=2)
    assert torch.equal(a.user_factors, b.user_factors) and torch.equal(a.item_bias, b.item_bias)
    assert not torch.equal(a.user_factors, c.user_factors)


def test_the_averaged_tables_reproduce_the_mean_of_the_samples_products() -> None:
    generator = torch.Generator().manual_seed(0)
    users = [torch.randn(30, 3, generator=generator, dtype=torch.float64) for _ in range(4)]
    items = [torch.randn(20, 3, generator=generator, dtype=torch.float64) for _ in range(4)]
    mean = sum(u @ v.T for u, v in zip(users, items, strict=True)) / 4
    full_u, full_v = _compress(users, items, rank=12)  # 4 samples x 3 factors: nothing dropped
    torch.testing.assert_close(full_u @ full_v.T, mean)
    low_u, low_v = _compress(users, items, rank=2)  # the best rank-2 approximation
    left, values, right = torch.linalg.svd(mean)
    torch.testing.assert_close(low_u @ low_v.T, left[:, :2] * values[:2] @ right[:2])
    wide_u, _ = _compress(users[:1], items[:1], rank=5)  # more columns than the samples hold: zeros
    assert wide_u.shape == (30, 5) and torch.equal(wide_u[:, 3:], torch.zeros(30, 2, dtype=torch.float64))


def test_a_rows_squared_errors_come_from_its_sums_as_from_a_pass_over_the_ratings() -> None:
    (users, items, values), _ = _planted()
    others = torch.randn(60, 3, dtype=torch.float64)  # items' [factors ; bias]
    resid, weights = values.double() - 3, torch.rand(len(values), dtype=torch.float64)
    hyper = (torch.zeros(3, dtype=torch.float64), torch.ones(3, dtype=torch.float64))
    side = _Side.of(users, items, 80, 60, resid, weights)
    rows, squares = _sample_rows(side, others, hyper, 2.0, torch.Generator())
    error = resid - rows[users, 2] - others[items, 2] - (rows[users, :2] * others[items, :2]).sum(1)
    assert squares == pytest.approx(float((weights * error**2).sum()), rel=1e-9)


def test_a_rating_with_weight_zero_changes_nothing() -> None:
    (users, items, values), _ = _planted()
    extra_u, extra_i = torch.tensor([0, 5, 7]), torch.tensor([1, 2, 3])
    with_extra = (torch.cat([users, extra_u]), torch.cat([items, extra_i]), torch.cat([values, torch.full((3,), 5.0)]))
    weights = torch.cat([torch.ones(len(users)), torch.zeros(3)])
    plain = sample_posterior(users, items, values, 80, 60, factors=2, sweeps=5)
    ignored = sample_posterior(*with_extra, 80, 60, factors=2, sweeps=5, weights=weights)
    torch.testing.assert_close(plain.user_factors, ignored.user_factors)
    torch.testing.assert_close(plain.item_bias, ignored.item_bias)


def test_weights_are_precisions_so_scaling_them_all_changes_little() -> None:
    (users, items, values), (test_u, test_i, test_v) = _planted(noise=0.5)
    rmse, noise = [], []
    for scale in (0.1, 1.0, 10.0):  # as repeat counts, 0.1 would read as a tenth of the data
        weights = torch.full((len(values),), scale)
        posterior = sample_posterior(users, items, values, 80, 60, factors=2, sweeps=60, weights=weights)
        rmse.append(_rmse(_predict(posterior, test_u, test_i), test_v))
        noise.append(posterior.noise / scale**0.5)  # a rating's own noise: 1 / sqrt(alpha * w)
    assert max(rmse) - min(rmse) < 0.02
    assert max(noise) / min(noise) < 1.1 and 0.4 < noise[1] < 0.6


def test_bad_inputs_are_refused() -> None:
    (users, items, values), _ = _planted()
    with pytest.raises(ValueError, match="sweeps and factors"):
        sample_posterior(users, items, values, 80, 60, factors=2, sweeps=0)
    with pytest.raises(ValueError, match="equal length"):
        sample_posterior(users[:-1], items, values, 80, 60, factors=2, sweeps=2)
    with pytest.raises(ValueError, match="outside the 80 x 60 catalog"):
        sample_posterior(users, items + 1, values, 80, 60, factors=2, sweeps=2)  # the index would overrun
    with pytest.raises(ValueError, match="finite"):
        sample_posterior(users, items, values * float("nan"), 80, 60, factors=2, sweeps=2)
    with pytest.raises(ValueError, match="non-negative"):
        sample_posterior(users, items, values, 80, 60, 2, 2, weights=-torch.ones(len(values)))
    with pytest.raises(ValueError, match="finite"):
        sample_posterior(users, items, values, 80, 60, 2, 2, weights=torch.full((len(values),), float("inf")))


def test_bmf_ships_its_own_defaults_and_refuses_what_sampling_cannot_do() -> None:
    assert default_model_config("bmf").factors == 5 and default_train_config("bmf").epochs == 100
    model = BayesianMF(3, 3, 2, (0.0, 5.5))
    train = ratings([("a", "x", 4.0), ("b", "y", 2.0), ("c", "z", 5.0)])
    with pytest.raises(ValueError, match="one process"):
        fit(model, train, TrainConfig(epochs=2), hooks=FitHooks(world=2))
    with pytest.raises(ValueError, match="no early stopping"):
        fit(model, train, TrainConfig(epochs=2, patience=1), valid=train)
    with pytest.raises(ValueError, match="objective 'mse' only"):  # BPR would silently train it by SGD
        train_model(train, ModelConfig(kind="bmf", factors=2), TrainConfig(objective="bpr", negatives=2))


def test_on_movielens_u1_bmf_beats_the_biases_and_behaves_like_any_model(movielens_dir: Path, tmp_path: Path) -> None:
    split = load_fold("u1", movielens_dir)
    config = replace(default_train_config("bmf"), epochs=30)
    model, model_config, history = train_model(split.train, default_model_config("bmf"), config)
    recommender = Recommender.from_training(model, model_config, split.train, config)
    bias, bias_config, _ = train_model(split.train, ModelConfig(kind="bias"), config)
    bias_rmse = evaluate(Recommender.from_training(bias, bias_config, split.train, config), split.test)["rmse"]
    assert evaluate(recommender, split.test)["rmse"] < bias_rmse - 0.02
    assert [r.epoch for r in history.epochs] == list(range(1, 31))
    loaded = load(save(recommender, tmp_path / "bmf"))
    users, items = split.test.users[:500], split.test.items[:500]
    np.testing.assert_array_equal(loaded.predict_indices(users, items), recommender.predict_indices(users, items))
    split_up = prediction_parts(loaded, users, items)  # explanations: the parts add up to the rating
    inside = (split_up.logit > 0) & (split_up.logit < 5.5)
    np.testing.assert_allclose(split_up.prediction[inside], sum(split_up.parts.values())[inside], atol=1e-5)
    np.testing.assert_allclose(split_up.prediction, loaded.predict_indices(users, items), atol=1e-5)
    assert output_formula(loaded) == "predicted = clip(logit, 0, 5.5)"
    bigger = fold_in_user(loaded, "newcomer", {"Star Wars (1977)": 5.0, "Fargo (1996)": 4.0})
    scores = bigger.score_users(np.array([bigger.user_ids.index("newcomer")]))[0]
    assert torch.isfinite(scores).all() and float(scores.max()) <= 5.5
