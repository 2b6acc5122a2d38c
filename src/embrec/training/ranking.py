"""Ranking objectives for the embedding models: BPR and softmax over positives.

Positives are the training ratings ``>= TrainConfig.positive_threshold`` (default 0.8 of the
scale's top: 4 on 1-5 stars, the protocol's relevance). The score ``s_ui`` is the model's logit,
before the output squashing (``sigmoid_range`` is increasing, so lists by the model's outputs
are lists by ``s_ui``). For a positive ``(u, i)`` and negatives ``J``, items ``u`` did not rate::

    bpr:      L = mean_{j in J} -log sigmoid(s_ui - s_uj)                    (Rendle et al. 2009)
    softmax:  L = -s_ui + log(exp(s_ui) + sum_{j in J} exp(s_uj - c_j))

``negatives=None`` takes ``J`` = every item ``u`` did not rate and ``c_j = 0``: the exact full
softmax, a (batch, n_items) product per step, cheap on small catalogs (needs the model's
``logit_all``). ``negatives=k`` draws ``k`` items per positive from ``q``: uniform, or
``sampling="popularity"`` with ``q_j`` proportional to ``count_j ** 0.75`` (counts of positives,
word2vec's smoothing); draws that hit an item the user rated are redrawn (a few rounds, then
dropped), so ``J`` never holds a rated item. Sampled softmax corrects by ``c_j = log(k q_j)``,
the log-Q correction (Bengio & Senecal 2008): ``sum_j exp(s_uj - log(k q_j))`` is an unbiased
estimate of the full softmax's sum over all items. ``q`` is over the whole catalog, not over
each user's unrated items, an approximation that only matters for very active users.

L2 is the MSE loop's per-example term on the positive pairs (``TrainConfig.weight_decay``,
``bias_decay``, ``penalty_alpha`` with counts of positives); negatives are not penalised. The
global offset and user biases get no gradient: neither objective depends on them.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import numpy as np
import torch
from torch import nn

from embrec.data.ratings import Ratings
from embrec.recommend.ranking import seen_matrix
from embrec.training.batches import shuffled_batches
from embrec.training.config import TrainConfig
from embrec.training.loop import EpochRecord, History, row_weights
from embrec.training.optim import make_optimizer, make_schedule

REDRAWS = 3  # rounds of redrawing negatives that hit a rated item; what is left is dropped
POPULARITY_POWER = 0.75


def positive_threshold(config: TrainConfig, scale: tuple[float, float]) -> float:
    """The rating at or above which a training rating is a positive (see the module docstring)."""
    return config.positive_threshold if config.positive_threshold is not None else 0.8 * scale[1]


def fit_ranking(
    model: nn.Module,
    train: Ratings,
    config: TrainConfig,
    on_epoch: Callable[[EpochRecord], None] | None = None,
) -> History:
    """Minimise ``config.objective`` (``"bpr"`` or ``"softmax"``) for ``model`` on ``train``'s positives.

    Mini-batches of positives over seeded permutations, the optimiser and schedule of the MSE
    loop; ``EpochRecord.train_loss`` is the mean batch loss with its L2 term, ``valid_rmse`` None.
    """
    if config.objective not in ("bpr", "softmax"):
        raise ValueError(f"fit_ranking trains 'bpr' or 'softmax', not {config.objective!r}")
    threads = torch.get_num_threads()
    if config.threads is not None:
        torch.set_num_threads(config.threads)
    try:
        return _fit(model, train, config, on_epoch)
    finally:
        torch.set_num_threads(threads)


def _fit(
    model: nn.Module, train: Ratings, config: TrainConfig, on_epoch: Callable[[EpochRecord], None] | None
) -> History:
    start = time.perf_counter()
    keep = train.ratings >= positive_threshold(config, train.scale)
    if not keep.any():
        raise ValueError(f"no training rating reaches the positive threshold {positive_threshold(config, train.scale)}")
    users = torch.from_numpy(train.users[keep]).long()
    items = torch.from_numpy(train.items[keep]).long()
    negatives = Negatives(train, config, torch.bincount(items, minlength=train.n_items))
    generator = torch.Generator().manual_seed(config.seed)
    optimizer = make_optimizer(model, config)
    schedule = make_schedule(optimizer, config, -(-len(users) // config.batch_size))
    penalty = getattr(model, "penalty", None) if config.decay == "per_example" else None
    user_weight = row_weights(users, train.n_users, config.penalty_alpha)
    item_weight = row_weights(items, train.n_items, config.penalty_alpha)
    history = History()
    for epoch in range(1, config.epochs + 1):
        t0, total = time.perf_counter(), 0.0
        model.train()
        for batch in shuffled_batches(len(users), config.batch_size, generator):
            u, i = users[batch], items[batch]
            loss = ranking_loss(model, u, i, negatives, config, generator)
            if penalty is not None:
                factors, biases = penalty(u, i, user_weight[u], item_weight[i])
                loss = loss + config.weight_decay * factors + config.bias_decay * biases
            total += loss.item() * len(batch)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            schedule.step()
        record = EpochRecord(epoch, total / len(users), None, time.perf_counter() - t0)
        history.epochs.append(record)
        if on_epoch is not None:
            on_epoch(record)
    model.eval()
    history.best_epoch, history.seconds = config.epochs, time.perf_counter() - start
    return history


class Negatives:
    """The items each user did not rate: as a mask over the catalog, or drawn by ``config.sampling``."""

    def __init__(self, train: Ratings, config: TrainConfig, positives_per_item: torch.Tensor):
        self.seen = seen_matrix(train.users, train.items, train.n_users, train.n_items)
        self.n_items = train.n_items
        self.keys = torch.from_numpy(np.unique(train.users.astype(np.int64) * train.n_items + train.items))
        weights = positives_per_item.double() ** POPULARITY_POWER
        self.q = (
            weights / weights.sum() if config.sampling == "popularity" else torch.full_like(weights, 1 / self.n_items)
        )
        self.uniform = config.sampling == "uniform"

    def mask(self, users: torch.Tensor) -> torch.Tensor:
        """(batch, n_items) True where the user rated the item in training."""
        return torch.from_numpy(self.seen[users.numpy()].toarray())

    def draw(self, users: torch.Tensor, k: int, generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
        """(batch, k) sampled items and a mask of the valid ones (False: a rated item even after redraws)."""
        drawn = self._draw((len(users), k), generator)
        for _ in range(REDRAWS):
            rated = self.rated(users[:, None], drawn)
            if not rated.any():
                break
            drawn[rated] = self._draw((int(rated.sum()),), generator)
        return drawn, ~self.rated(users[:, None], drawn)

    def rated(self, users: torch.Tensor, items: torch.Tensor) -> torch.Tensor:
        """Whether each (user, item) pair is a training rating (broadcast shapes): a binary search."""
        keys = users * self.n_items + items
        found = torch.searchsorted(self.keys, keys).clamp_max(len(self.keys) - 1)
        return self.keys[found] == keys

    def log_expected(self, items: torch.Tensor, k: int) -> torch.Tensor:
        """``log(k q_j)``: the log-Q correction of sampled softmax."""
        return torch.log(k * self.q[items]).float()

    def _draw(self, shape: tuple[int, ...], generator: torch.Generator) -> torch.Tensor:
        n = int(np.prod(shape))
        if self.uniform:
            return torch.randint(self.n_items, shape, generator=generator)
        return torch.multinomial(self.q, n, replacement=True, generator=generator).view(shape)


def ranking_loss(
    model: nn.Module,
    users: torch.Tensor,
    items: torch.Tensor,
    negatives: Negatives,
    config: TrainConfig,
    generator: torch.Generator,
) -> torch.Tensor:
    """The batch mean of the module docstring's loss for positives ``(users, items)``."""
    positive = pair_logits(model, users, items)  # (batch,)
    if config.negatives is None:
        logit_all = getattr(model, "logit_all", None)
        if not callable(logit_all):
            raise TypeError(f"{type(model).__name__} has no logit_all: train it with sampled negatives")
        others = logit_all(users)  # (batch, n_items)
        valid = ~negatives.mask(users).to(others.device)
    else:
        k = config.negatives
        drawn, valid = negatives.draw(users, k, generator)  # (batch, k)
        others = pair_logits(model, users.repeat_interleave(k), drawn.reshape(-1)).view(len(users), k)
        if config.objective == "softmax":
            others = others - negatives.log_expected(drawn, k)
    if config.objective == "bpr":
        losses = nn.functional.softplus(others - positive[:, None])  # -log sigmoid(s_ui - s_uj)
        return ((losses * valid).sum(dim=1) / valid.sum(dim=1).clamp_min(1)).mean()
    others = others.masked_fill(~valid, -torch.inf)
    return (torch.logsumexp(torch.cat([positive[:, None], others], dim=1), dim=1) - positive).mean()


def pair_logits(model: nn.Module, users: torch.Tensor, items: torch.Tensor) -> torch.Tensor:
    """The model's logit for (user, item) pairs, (batch,): the sum of its ``logit_parts``."""
    logit_parts = getattr(model, "logit_parts", None)
    if not callable(logit_parts):
        raise TypeError(f"{type(model).__name__} has no logit_parts: ranking objectives need its logit")
    parts = logit_parts(users, items)
    total = sum(parts.values())
    assert isinstance(total, torch.Tensor)
    return total
