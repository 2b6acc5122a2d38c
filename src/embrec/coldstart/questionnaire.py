"""Which items to ask a new user about: greedy expected information gain, not chance.

Method (Bayesian experimental design, D-optimal, greedy). Before any answer the user's rows ``w``
(see :mod:`embrec.coldstart.prior`) follow the population prior ``N(m, S)``. Linearised at
``m``, an answer ``r_i = f_i(w) + noise`` about item ``i`` carries the information vector
``a_i = J_i / sigma`` with ``J_i = d f_i / d w`` (for ``dot``: ``f'(z_i) [1 ; q_i]``), and
answering it shrinks the posterior covariance to ``S - S a aᵀ S / (1 + aᵀ S a)``, i.e. multiplies
its volume ``det S`` by ``1 / (1 + aᵀ S a)``. A user can only rate a film they have seen, so the
expected gain of asking ``i`` is::

    gain_i = pi_i * log(1 + a_iᵀ S a_i)        pi_i = share of trained users who rated i

``pi_i`` is the popularity weight: a very divisive film nobody has seen is worth little. The
questionnaire takes the item of highest gain, updates ``S`` as if it were answered (rank one),
and repeats, so the next question is about what the first left uncertain: a second film that only
repeats the first's direction gains nothing. Ties go to the lower index: no randomness at all.

``random_items`` is the baseline the benchmark compares against.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterable

import numpy as np
import torch

from embrec.coldstart.fold_in import NOISE_SHARE, design, forward_rows
from embrec.coldstart.prior import Prior, default_attribute_rows, population_prior, trained_rows
from embrec.models.dot import DotProductBias
from embrec.recommend.recommender import Recommender


def information_vectors(
    recommender: Recommender, prior: Prior, noise: float | None = None, items: np.ndarray | None = None
) -> np.ndarray:
    """``a_i = J_i / sigma`` for ``items`` (default all): (n, d), the output's Jacobian at the prior mean.

    Closed form for ``dot`` (``f'(z_i) x_i``); forward-mode autodiff through the model otherwise.
    """
    sigma = noise if noise is not None else NOISE_SHARE * (recommender.scale[1] - recommender.scale[0])
    items = np.arange(recommender.n_items) if items is None else np.asarray(items, dtype=np.int64)
    model = recommender.model
    if prior.layout.size == 0:
        return np.zeros((len(items), 0))
    if isinstance(model, DotProductBias):
        x, c = design(model, "user", prior, items)
        lo, hi = model.y_range
        s = 1 / (1 + np.exp(-(c + x @ prior.mean)))
        return np.asarray(((hi - lo) * s * (1 - s))[:, None] * x / sigma)

    fixed = {  # attribute rows (a widedeep model's features) of a newcomer: unknown
        name: torch.as_tensor(row)[None] for name, row in default_attribute_rows(recommender, "user").items()
    }

    def outputs(w: torch.Tensor) -> torch.Tensor:
        return forward_rows(model, "user", prior.layout.tables(w) | fixed, items)

    mean = torch.as_tensor(prior.mean, dtype=torch.float32)
    with warnings.catch_warnings():  # torch.func's forward-mode rules still go through torch.jit.script
        warnings.simplefilter("ignore", DeprecationWarning)
        jacobian = torch.func.jacfwd(outputs)(mean)  # (n, d): d forward passes, fewer than n backward ones
    return np.asarray(jacobian.detach().double().numpy()) / sigma


def known_share(recommender: Recommender) -> np.ndarray:
    """``pi_i``: the share of trained users who rated item ``i`` (the chance a newcomer can answer)."""
    n_trained = max(len(trained_rows(recommender, "user")), 1)
    return np.minimum(np.asarray(recommender.item_popularity, dtype=np.float64) / n_trained, 1.0)


def questionnaire(
    recommender: Recommender,
    n: int,
    exclude: Iterable[int] = (),
    candidates: np.ndarray | None = None,
    prior: Prior | None = None,
    noise: float | None = None,
) -> np.ndarray:
    """Up to ``n`` distinct item indices to ask about, best first (see the module docstring).

    ``candidates`` restricts the choice (default: the whole catalog); ``exclude`` removes items
    already asked or rated. Items nobody rated are never asked.
    """
    if n < 0:
        raise ValueError("n must be non-negative")
    prior = prior if prior is not None else population_prior(recommender, "user")
    allowed = np.zeros(recommender.n_items, dtype=bool)
    allowed[np.arange(recommender.n_items) if candidates is None else np.asarray(candidates, dtype=np.int64)] = True
    allowed[np.fromiter(exclude, dtype=np.int64)] = False
    weight = known_share(recommender)
    pool = np.flatnonzero(allowed & (weight > 0))  # ascending: ties go to the lower index
    vectors = information_vectors(recommender, prior, noise, pool)
    return np.asarray(pool[_greedy(vectors, weight[pool], prior.covariance.copy(), n)], dtype=np.int64)


def _greedy(vectors: np.ndarray, weight: np.ndarray, covariance: np.ndarray, n: int) -> np.ndarray:
    """Positions (in ``vectors``) of the greedy choice, best first."""
    open_ = np.ones(len(vectors), dtype=bool)
    chosen: list[int] = []
    for _ in range(min(n, len(vectors))):
        spread = np.einsum("id,de,ie->i", vectors, covariance, vectors)  # a_iᵀ S a_i for every candidate
        gain = np.where(open_, weight * np.log1p(np.maximum(spread, 0.0)), -np.inf)
        best = int(np.argmax(gain))
        chosen.append(best)
        open_[best] = False
        s_a = covariance @ vectors[best]
        covariance = covariance - np.outer(s_a, s_a) / (1.0 + vectors[best] @ s_a)
    return np.asarray(chosen, dtype=np.int64)


def random_items(
    recommender: Recommender, n: int, seed: int, exclude: Iterable[int] = (), candidates: np.ndarray | None = None
) -> np.ndarray:
    """``n`` distinct items drawn uniformly from ``candidates`` minus ``exclude`` (the baseline)."""
    pool = np.arange(recommender.n_items) if candidates is None else np.unique(np.asarray(candidates, dtype=np.int64))
    pool = np.setdiff1d(pool, np.fromiter(exclude, dtype=np.int64))
    rng = np.random.default_rng(seed)
    return rng.choice(pool, size=min(n, len(pool)), replace=False).astype(np.int64)
