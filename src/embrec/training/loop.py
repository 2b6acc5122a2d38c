"""The one training loop: read it top to bottom."""

from __future__ import annotations

import copy
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import torch
from torch import nn, optim

from embrec.data.ratings import Ratings
from embrec.data.side_features import fit_side_features
from embrec.data.splits import random_test_mask
from embrec.models import ModelConfig, build_model
from embrec.models.bayesian import BayesianMF
from embrec.training.batches import RatingTensors, shuffled_batches
from embrec.training.config import TrainConfig, default_y_range
from embrec.training.gibbs import sample_posterior
from embrec.training.optim import make_optimizer, make_schedule

PREDICT_CHUNK = 1 << 16


@dataclass(frozen=True)
class EpochRecord:
    epoch: int
    train_loss: float
    valid_rmse: float | None
    seconds: float


@dataclass
class History:
    """What happened during training; ``best_epoch`` is the one whose weights were kept."""

    epochs: list[EpochRecord] = field(default_factory=list)
    best_epoch: int | None = None
    stopped_early: bool = False
    seconds: float = 0.0

    def to_json(self) -> dict[str, object]:
        return {
            "epochs": [vars(e) for e in self.epochs],
            "best_epoch": self.best_epoch,
            "stopped_early": self.stopped_early,
            "seconds": self.seconds,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> History:
        epochs = [EpochRecord(**e) for e in data["epochs"]]
        return cls(epochs, data["best_epoch"], data["stopped_early"], data["seconds"])


@dataclass
class LoopState:
    """fit's state after ``epoch`` epochs: all it needs to carry on as if never stopped
    (what a checkpoint holds; see :mod:`embrec.training.checkpoint`)."""

    epoch: int
    model: dict[str, torch.Tensor]
    optimizer: dict[str, Any]  # Optimizer.state_dict()
    schedule: dict[str, Any]  # LRScheduler.state_dict()
    generator: torch.Tensor  # the batch order's generator state
    rng: torch.Tensor  # the global torch generator state (dropout)
    history: History
    best_rmse: float
    best_model: dict[str, torch.Tensor] | None
    waited: int


@dataclass(frozen=True)
class FitHooks:
    """How a run outside one plain process extends fit (see :mod:`embrec.training.distributed`).

    ``wrap`` turns the model into the module the forward pass goes through, e.g.
    ``DistributedDataParallel``, whose backward all-reduces the gradients. Process ``rank`` of
    ``world`` takes ``batch[rank::world]`` of every batch of the shared seeded permutation.
    ``resume`` starts from a saved state; ``checkpoint`` is called after every epoch.
    """

    wrap: Callable[[nn.Module], nn.Module] | None = None
    rank: int = 0
    world: int = 1
    resume: LoopState | None = None
    checkpoint: Callable[[LoopState], None] | None = None


def train_model(
    train: Ratings,
    model_config: ModelConfig,
    config: TrainConfig,
    valid: Ratings | None = None,
    on_epoch: Callable[[EpochRecord], None] | None = None,
    weights: np.ndarray | None = None,
    hooks: FitHooks | None = None,
) -> tuple[nn.Module, ModelConfig, History]:
    """Build a model for ``train``'s catalog and fit it; the returned config has ``y_range`` set
    (and declared side ``features`` fitted on ``train``'s user and item tables).

    Seeded from ``config.seed`` without touching the caller's global RNG: the same data and
    configs give identical weights. With ``valid_fraction`` and no ``valid``, the validation
    part is carved out of ``train``. ``weights`` (one per training rating) weight the squared
    errors, e.g. to cap each user's influence.
    """
    if len(train) == 0:
        raise ValueError("no training ratings")
    if weights is not None and len(weights) != len(train):
        raise ValueError("weights must have one entry per training rating")
    if valid is None and config.valid_fraction > 0:
        held = random_test_mask(len(train), config.valid_fraction, config.seed)
        weights = weights[~held] if weights is not None else None
        train, valid = train.subset(~held, name=train.name), train.subset(held, name="validation")
    if model_config.y_range is None:
        model_config = replace(model_config, y_range=default_y_range(train.scale))
    features = fit_side_features(model_config.features, train)  # declared side features, fitted
    if features is not None:
        model_config = replace(model_config, features=features.spec.to_json())
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(config.seed)
        model = build_model(train.n_users, train.n_items, model_config)
        if isinstance(model, BayesianMF) and config.objective != "mse":
            raise ValueError("bmf samples the posterior of squared errors: it takes objective 'mse' only")
        set_features = getattr(model, "set_features", None)
        if features is not None and callable(set_features):
            set_features(features.users, features.items)
        set_rated = getattr(model, "set_rated", None)  # implicit feedback: which items each user rated
        if callable(set_rated):
            set_rated(train.users, train.items)
        set_ratings = getattr(model, "set_ratings", None)  # models that encode items by their ratings
        if callable(set_ratings):
            set_ratings(train.users, train.items, train.ratings)
        if config.objective == "mse":
            history = fit(model, train, config, valid, on_epoch, weights, hooks)
        else:  # BPR, softmax (embrec.training.ranking imports this module, hence the late import)
            from embrec.training.ranking import fit_ranking

            if weights is not None or hooks is not None:
                raise ValueError("ranking objectives train in one process, without per-rating weights")
            history = fit_ranking(model, train, config, on_epoch)
    fill_untrained(model, train)
    return model, model_config, history


def fit(
    model: nn.Module,
    train: Ratings,
    config: TrainConfig,
    valid: Ratings | None = None,
    on_epoch: Callable[[EpochRecord], None] | None = None,
    weights: np.ndarray | None = None,
    hooks: FitHooks | None = None,
) -> History:
    """Minimise the (optionally weighted) mean squared error of ``model`` on ``train``.

    Closed-form models (baselines with ``fit_exact``) are solved directly. Otherwise: mini-batch
    gradient descent over seeded permutations, weight decay as configured, the learning rate
    stepped per batch, and early stopping on ``valid`` when ``config.patience`` is set.

    With ``hooks.world > 1`` each process computes its share's loss scaled by
    ``world * len(share) / len(batch)``: DDP averages gradients over processes, so the average
    is the gradient of the whole batch's mean, as in one process (also when shares differ by one).
    """
    threads = torch.get_num_threads()
    if config.threads is not None:
        torch.set_num_threads(config.threads)
    tables = [m for m in model.modules() if isinstance(m, nn.Embedding)]
    dense = [m.sparse for m in tables]
    for m in tables:
        m.sparse = m.sparse or config.sparse  # sparse gradients: only the rows a batch used
    try:
        return _fit(model, train, config, valid, on_epoch, weights, hooks or FitHooks())
    finally:
        torch.set_num_threads(threads)
        for m, was in zip(tables, dense, strict=True):
            m.sparse = was


def _fit(
    model: nn.Module,
    train: Ratings,
    config: TrainConfig,
    valid: Ratings | None,
    on_epoch: Callable[[EpochRecord], None] | None,
    weights: np.ndarray | None,
    hooks: FitHooks,
) -> History:
    start = time.perf_counter()
    data = RatingTensors.from_ratings(train)
    weight = torch.from_numpy(np.asarray(weights, dtype=np.float32)) if weights is not None else None
    history = History()
    fit_exact = getattr(model, "fit_exact", None)
    if callable(fit_exact):
        fit_exact(data.users, data.items, data.ratings)
        history.epochs.append(EpochRecord(1, _mse(model, data), _rmse(model, valid), time.perf_counter() - start))
        history.best_epoch, history.seconds = 1, time.perf_counter() - start
        return history
    if isinstance(model, BayesianMF):
        return _fit_posterior(model, data, config, valid, on_epoch, weight, hooks, start)

    generator = torch.Generator().manual_seed(config.seed)
    optimizer = make_optimizer(model, config)
    steps = -(-len(data) // config.batch_size)
    schedule = make_schedule(optimizer, config, steps)
    per_example = getattr(model, "penalty", None) if config.decay == "per_example" else None
    user_weight = row_weights(data.users, train.n_users, config.penalty_alpha)
    item_weight = row_weights(data.items, train.n_items, config.penalty_alpha)
    forward = model if hooks.wrap is None else hooks.wrap(model)
    best_rmse, best_state, waited, done = float("inf"), None, 0, 0
    if hooks.resume is not None:
        history, best_rmse, best_state, waited = _restore(hooks.resume, model, optimizer, schedule, generator)
        done = config.epochs if history.stopped_early else hooks.resume.epoch
    for epoch in range(done + 1, config.epochs + 1):
        t0 = time.perf_counter()
        model.train()
        total = 0.0
        for batch in shuffled_batches(len(data), config.batch_size, generator):
            local = batch if hooks.world == 1 else batch[hooks.rank :: hooks.world]  # this process's share
            users, items, target = data.users[local], data.items[local], data.ratings[local]
            prediction = forward(users, items)  # (local,)
            if weight is None:
                loss = nn.functional.mse_loss(prediction, target)
            else:
                w = weight[local]  # normalised by the whole batch's weight, counted per example
                norm = w.sum() if hooks.world == 1 else weight[batch].sum() * (len(local) / len(batch))
                loss = (w * (prediction - target) ** 2).sum() / norm.clamp_min(1e-12)
            if per_example is not None:
                factors, biases = per_example(users, items, user_weight[users], item_weight[items])
                loss = loss + config.weight_decay * factors + config.bias_decay * biases
            total += loss.item() * len(batch)  # with hooks.world > 1, this process's share's estimate
            if hooks.world > 1:
                loss = loss * (hooks.world * len(local) / len(batch))
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            schedule.step()
        record = EpochRecord(epoch, total / len(data), _rmse(model, valid), time.perf_counter() - t0)
        history.epochs.append(record)
        if on_epoch is not None:
            on_epoch(record)
        if record.valid_rmse is not None and config.patience is not None:
            if record.valid_rmse < best_rmse:
                best_rmse, best_state, waited = record.valid_rmse, copy.deepcopy(model.state_dict()), 0
                history.best_epoch = epoch
            else:
                waited += 1
                history.stopped_early = waited >= config.patience
        if hooks.checkpoint is not None:
            state = LoopState(
                epoch, model.state_dict(), optimizer.state_dict(), schedule.state_dict(), generator.get_state(),
                torch.get_rng_state(), history, best_rmse, best_state, waited,
            )  # fmt: skip
            hooks.checkpoint(state)
        if history.stopped_early:
            break
    if best_state is not None:
        model.load_state_dict(best_state)
    if history.best_epoch is None:
        history.best_epoch = history.epochs[-1].epoch
    model.eval()
    history.seconds = time.perf_counter() - start
    return history


def _fit_posterior(
    model: BayesianMF,
    data: RatingTensors,
    config: TrainConfig,
    valid: Ratings | None,
    on_epoch: Callable[[EpochRecord], None] | None,
    weight: torch.Tensor | None,
    hooks: FitHooks,
    start: float,
) -> History:
    """Gibbs-sample ``model``'s posterior (:mod:`embrec.training.gibbs`): ``config.epochs``
    sweeps, seeded by ``config.seed``; the learning rate, weight decay, batches and schedule do
    not apply, and there is no early stopping (refused: the average only improves with more sweeps).
    Each sweep is an epoch of the history, its loss that sample's training MSE; the last record's
    loss and validation RMSE are the averaged model's."""
    if hooks.world > 1 or hooks.resume is not None or hooks.checkpoint is not None:
        raise ValueError("bmf is fitted by Gibbs sampling in one process: no workers, checkpoints or resume")
    if config.patience is not None:
        raise ValueError("bmf has no early stopping (the average only improves with more sweeps): leave patience unset")
    history = History()
    last_sweep = time.perf_counter()

    def record(sweep: int, mse: float) -> None:
        nonlocal last_sweep
        now = time.perf_counter()
        history.epochs.append(EpochRecord(sweep, mse, None, now - last_sweep))
        last_sweep = now
        if on_epoch is not None and sweep < config.epochs:
            on_epoch(history.epochs[-1])

    posterior = sample_posterior(
        data.users, data.items, data.ratings, model.user_bias.num_embeddings, model.item_bias.num_embeddings,
        model.factors, config.epochs, config.seed, weight, record,
    )  # fmt: skip
    with torch.no_grad():
        model.user_factors.weight.copy_(posterior.user_factors)
        model.item_factors.weight.copy_(posterior.item_factors)
        model.user_bias.weight.copy_(posterior.user_bias[:, None])
        model.item_bias.weight.copy_(posterior.item_bias[:, None])
        model.global_bias.fill_(posterior.global_bias)
    last = history.epochs[-1]
    history.epochs[-1] = EpochRecord(last.epoch, _mse(model, data), _rmse(model, valid), last.seconds)
    if on_epoch is not None:
        on_epoch(history.epochs[-1])
    model.eval()
    history.best_epoch, history.seconds = last.epoch, time.perf_counter() - start
    return history


def _restore(
    state: LoopState,
    model: nn.Module,
    optimizer: optim.Optimizer,
    schedule: optim.lr_scheduler.LRScheduler,
    generator: torch.Generator,
) -> tuple[History, float, dict[str, torch.Tensor] | None, int]:
    """Load ``state`` into the loop's objects; returns the rest: history and early-stopping state."""
    model.load_state_dict(state.model)
    optimizer.load_state_dict(state.optimizer)
    schedule.load_state_dict(state.schedule)
    generator.set_state(state.generator)
    torch.set_rng_state(state.rng)
    return state.history, state.best_rmse, state.best_model, state.waited


def row_weights(rows: torch.Tensor, n_rows: int, alpha: float) -> torch.Tensor:
    """Penalty weight of each row, ``count ** -alpha``, normalised so that its mean over the
    training ratings (``rows``, one entry per rating) is 1; rows without ratings get 0."""
    counts = torch.bincount(rows, minlength=n_rows).to(torch.float32)
    weight = torch.where(counts > 0, counts.clamp_min(1.0) ** -alpha, torch.zeros_like(counts))
    return weight / weight[rows].mean()


def predict_pairs(model: nn.Module, users: torch.Tensor, items: torch.Tensor) -> torch.Tensor:
    """Predictions for (user, item) index pairs, in chunks, in inference mode."""
    model.eval()
    with torch.inference_mode():
        parts = [model(u, i) for u, i in zip(users.split(PREDICT_CHUNK), items.split(PREDICT_CHUNK), strict=True)]
    return torch.cat(parts) if parts else torch.empty(0)


def _rmse(model: nn.Module, ratings: Ratings | None) -> float | None:
    if ratings is None or len(ratings) == 0:
        return None
    return float(np.sqrt(_mse(model, RatingTensors.from_ratings(ratings))))


def _mse(model: nn.Module, data: RatingTensors) -> float:
    prediction = predict_pairs(model, data.users, data.items)
    model.train()
    return float(((prediction - data.ratings) ** 2).mean())


def fill_untrained(model: nn.Module, train: Ratings) -> None:
    """Give users and items without training ratings the mean of the trained rows.

    This is the documented fallback for unseen ids: an unseen user is scored as the average
    user (so gets the items' popularity-and-bias ordering), an unseen item as the average item.
    Tables are recognised by name: parameters called ``user_*`` are indexed by user,
    ``item_*`` by item.
    """
    seen = {
        "user": np.bincount(train.users, minlength=train.n_users) > 0,
        "item": np.bincount(train.items, minlength=train.n_items) > 0,
    }
    with torch.no_grad():
        for name, param in model.named_parameters():
            kind = name.split("_", 1)[0]
            if kind not in seen or param.shape[0] != len(seen[kind]):
                continue
            mask = torch.from_numpy(seen[kind])
            if mask.all() or not mask.any():
                continue
            param[~mask] = param[mask].mean(dim=0)
    model.eval()
