"""Gibbs sampling of biased matrix factorisation's posterior (the ``bmf`` model's fit).

The model (Salakhutdinov & Mnih 2008, "Bayesian probabilistic matrix factorization using MCMC",
with the per-dimension Normal-Gamma hyperpriors of libFM's MCMC; Rendle et al. 2019 show such a
sampler beating tuned SGD factorisation)::

    r_ui ~ N(g + b_u + b_i + p_u . q_i, 1 / (alpha * w_ui))
    x_u = [p_u ; b_u] ~ N(mu_U, diag(lambda_U)^-1),   y_i = [q_i ; b_i] ~ N(mu_I, diag(lambda_I)^-1)
    mu_d | lambda_d ~ N(0, 1 / (BETA0 * lambda_d)),   lambda_d ~ Gamma(A0, B0),   alpha ~ Gamma(A0, B0)

``g`` is the (weighted) training mean and ``w_ui`` the optional per-rating weights (1 by default).
Given the items, users are independent Gaussians of ``factors + 1`` dimensions: one sweep samples
every user row at once (a batched Cholesky of the precisions ``diag(lambda) + alpha sum w f f^T``
with ``f_i = [q_i ; 1]``), then every item row the same way, then the hyperparameters and the
noise precision. Nothing is tuned: no learning rate, no weight decay; the hyperpriors are
vague, so the data sets the shrinkage.

The prediction is the posterior mean of ``g + b_u + b_i + p_u . q_i``, averaged over the samples
after burn-in. The mean of ``S`` dot products is one dot product of the samples' concatenations
(scaled by ``1/sqrt(S)``), so a truncated SVD of that thin pair (QR of each side, SVD of the
small core) turns it back into ``factors``-wide tables: the averaged model has the dot model's
shape. On MovieLens 100k the truncation costs under 0.001 RMSE.

Memory: the kept samples take ``MAX_SAMPLES x (users + items) x (factors + 1)`` float32 numbers
(ML-25M's 221k rows at rank 5: about 0.5 GB), and the compression briefly a float64 copy of
each side's concatenation; a sweep's precisions ``(rows, (factors + 1)^2)``. Meant for small ranks.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch

A0, B0, BETA0 = 1.0, 1.0, 1.0  # vague Gamma(1, 1) hyperpriors; the mean's prior counts as one row
MAX_SAMPLES = 100  # samples kept for the average (float32); longer chains are thinned evenly
_DTYPE = torch.float64  # precisions reach alpha * n_ratings of a row: float32 Cholesky is tight


@dataclass(frozen=True)
class Posterior:
    """The posterior mean, in the shape of the dot model's tables (float32)."""

    user_factors: torch.Tensor  # (n_users, factors)
    item_factors: torch.Tensor  # (n_items, factors)
    user_bias: torch.Tensor  # (n_users,)
    item_bias: torch.Tensor  # (n_items,)
    global_bias: float
    samples: int  # how many samples the average holds
    noise: float  # the posterior mean of the rating noise's standard deviation, sqrt(1 / alpha)


@dataclass(frozen=True)
class _Side:
    """One side's ratings in row order (CSR): the rows of users, or of items.

    The residuals and weights never change during sampling, so they are laid out in this
    side's order once, and the weights' sparse matrix built once.
    """

    n: int
    n_others: int
    offsets: torch.Tensor  # (n + 1,) CSR row offsets
    columns: torch.Tensor  # (nnz,) the other side's index of each entry
    resid: torch.Tensor  # (nnz,) rating minus the global mean, per entry
    weights: torch.Tensor  # (nnz,) per entry
    weight_matrix: torch.Tensor  # (n, n_others) sparse CSR of ``weights``

    @classmethod
    def of(
        cls, rows: torch.Tensor, others: torch.Tensor, n: int, n_others: int, resid: torch.Tensor, w: torch.Tensor
    ) -> _Side:
        offsets = torch.zeros(n + 1, dtype=torch.int64)
        offsets[1:] = torch.cumsum(torch.bincount(rows, minlength=n), 0)
        order = torch.argsort(rows * n_others + others)
        columns = others[order]
        return cls(n, n_others, offsets, columns, resid[order], w[order], _csr(offsets, columns, w[order], n, n_others))

    def matrix(self, values: torch.Tensor) -> torch.Tensor:
        """The (n, n_others) sparse matrix holding ``values`` (one per entry, in this side's order)."""
        return _csr(self.offsets, self.columns, values, self.n, self.n_others)


def _csr(offsets: torch.Tensor, columns: torch.Tensor, values: torch.Tensor, n: int, n_others: int) -> torch.Tensor:
    with warnings.catch_warnings():  # CSR tensors are marked beta; these are built valid
        warnings.simplefilter("ignore", UserWarning)
        return torch.sparse_csr_tensor(offsets, columns, values, (n, n_others))


def sample_posterior(
    users: torch.Tensor,
    items: torch.Tensor,
    ratings: torch.Tensor,
    n_users: int,
    n_items: int,
    factors: int,
    sweeps: int,
    seed: int = 0,
    weights: torch.Tensor | None = None,
    on_sweep: Callable[[int, float], None] | None = None,
) -> Posterior:
    """Run ``sweeps`` Gibbs sweeps and return the posterior mean.

    The first tenth of the sweeps (at least one, when there are two or more) is burn-in; the
    rest are averaged, thinned to at most ``MAX_SAMPLES``. ``on_sweep(sweep, mse)`` gets each
    sweep's training mean squared error (of that sample, not the average). Seeded by ``seed``
    alone: the same inputs give the same posterior, whatever the global RNGs hold.
    """
    if sweeps < 1 or factors < 1:
        raise ValueError("sweeps and factors must be at least 1")
    if not len(users) == len(items) == len(ratings) or len(ratings) == 0:
        raise ValueError("users, items and ratings must be non-empty and of equal length")
    if int(users.min()) < 0 or int(users.max()) >= n_users or int(items.min()) < 0 or int(items.max()) >= n_items:
        raise ValueError(f"user or item index outside the {n_users} x {n_items} catalog")
    if not bool(torch.isfinite(ratings).all()):
        raise ValueError("ratings must be finite")
    if weights is not None and (
        len(weights) != len(ratings)
        or not bool(torch.isfinite(weights).all())
        or bool((weights < 0).any())
        or float(weights.sum()) <= 0
    ):
        raise ValueError("weights must be one finite non-negative number per rating, not all zero")
    users, items = users.long(), items.long()
    w = torch.ones(len(ratings), dtype=_DTYPE) if weights is None else weights.to(_DTYPE)
    r = ratings.to(_DTYPE)
    observed = int((w > 0).sum())  # ratings that count: a weight scales a rating's precision, not its count
    total_weight = float(w.sum())
    mean = float((w * r).sum()) / total_weight
    resid = r - mean
    by_user = _Side.of(users, items, n_users, n_items, resid, w)
    by_item = _Side.of(items, users, n_items, n_users, resid, w)
    normal = torch.Generator().manual_seed(seed)
    gamma = np.random.default_rng(seed)
    x, y = _start(n_users, factors, normal), _start(n_items, factors, normal)
    hyper_x = hyper_y = (torch.zeros(factors + 1, dtype=_DTYPE), torch.ones(factors + 1, dtype=_DTYPE))
    alpha = 1.0
    burn = min(max(sweeps // 10, 1), sweeps - 1)
    thin = max(1, math.ceil((sweeps - burn) / MAX_SAMPLES))
    kept: list[tuple[torch.Tensor, torch.Tensor]] = []
    noise = 0.0
    for sweep in range(1, sweeps + 1):
        x, _ = _sample_rows(by_user, y, hyper_x, alpha, normal)
        y, squares = _sample_rows(by_item, x, hyper_y, alpha, normal)
        hyper_x, hyper_y = _sample_hyper(x, gamma, normal), _sample_hyper(y, gamma, normal)
        alpha = float(gamma.gamma(A0 + observed / 2, 1.0 / (B0 + squares / 2)))
        if on_sweep is not None:
            on_sweep(sweep, squares / total_weight)
        if sweep > burn and (sweeps - sweep) % thin == 0:
            kept.append((x.float(), y.float()))  # float32: the average needs no more, memory halves
            noise += alpha**-0.5
    user_factors, item_factors = _compress(
        [x[:, :factors] for x, _ in kept], [y[:, :factors] for _, y in kept], factors
    )
    return Posterior(
        user_factors.float(),
        item_factors.float(),
        torch.stack([s[0][:, factors] for s in kept]).mean(0).float(),
        torch.stack([s[1][:, factors] for s in kept]).mean(0).float(),
        mean,
        len(kept),
        noise / len(kept),
    )


def _start(n: int, factors: int, generator: torch.Generator) -> torch.Tensor:
    """Rows ``[factors ; bias]`` to start the chain from: small random factors, zero biases."""
    rows = torch.zeros(n, factors + 1, dtype=_DTYPE)
    rows[:, :factors] = 0.1 * torch.randn(n, factors, generator=generator, dtype=_DTYPE)
    return rows


def _sample_rows(
    side: _Side,
    others: torch.Tensor,
    hyper: tuple[torch.Tensor, torch.Tensor],
    alpha: float,
    generator: torch.Generator,
) -> tuple[torch.Tensor, float]:
    """Every row of one side from its conditional Gaussian, the other side fixed, and the
    weighted sum of squared errors of the new rows.

    ``others`` holds the other side's rows ``[factors ; bias]``; a row's design vector for an
    entry is ``f = [other factors ; 1]`` and its target ``t`` the residual minus the other's bias.
    The squared errors come from the row sums already formed, ``sum w t^2 - 2 x . sum w t f +
    x^T (sum w f f^T) x``, without another pass over the ratings.
    """
    d = others.shape[1]
    design = torch.cat([others[:, : d - 1], torch.ones(side.n_others, 1, dtype=_DTYPE)], 1)  # (n_others, d)
    outer = (design[:, :, None] * design[:, None, :]).reshape(side.n_others, d * d)
    gram = (side.weight_matrix @ outer).reshape(side.n, d, d)  # sum over a row's ratings of w f f^T
    target = side.resid - others[side.columns, d - 1]  # what the row's own terms must explain
    weighted = side.weights * target
    rhs = side.matrix(weighted) @ design
    mu, precision = hyper
    chol = torch.linalg.cholesky(alpha * gram + torch.diag(precision))
    centre = torch.cholesky_solve((alpha * rhs + precision * mu)[:, :, None], chol)
    noise = torch.randn(side.n, d, 1, generator=generator, dtype=_DTYPE)
    rows = (centre + torch.linalg.solve_triangular(chol.transpose(1, 2), noise, upper=True))[:, :, 0]
    fitted = (rows[:, :, None] * gram).sum(1)  # (n, d): x^T G per row
    squares = (weighted * target).sum() - 2 * (rows * rhs).sum() + (fitted * rows).sum()
    return rows, float(squares)


def _sample_hyper(
    rows: torch.Tensor, gamma: np.random.Generator, normal: torch.Generator
) -> tuple[torch.Tensor, torch.Tensor]:
    """Each dimension's prior mean and precision from their Normal-Gamma conditional."""
    n = rows.shape[0]
    centre = rows.mean(0)
    spread = ((rows - centre) ** 2).sum(0) + BETA0 * n * centre**2 / (BETA0 + n)
    rate = (B0 + spread / 2).numpy()
    precision = torch.from_numpy(gamma.gamma(A0 + n / 2, 1.0 / rate)).to(_DTYPE)
    draw = torch.randn(rows.shape[1], generator=normal, dtype=_DTYPE)
    mu = n * centre / (BETA0 + n) + draw / torch.sqrt((BETA0 + n) * precision)
    return mu, precision


def _compress(users: list[torch.Tensor], items: list[torch.Tensor], rank: int) -> tuple[torch.Tensor, torch.Tensor]:
    """``rank``-wide tables whose products best match the mean of ``users[s] @ items[s].T``.

    The mean is ``U @ V.T`` for the concatenations ``U``, ``V`` scaled by ``1/sqrt(S)``; with
    ``U = Q_u R_u`` and ``V = Q_v R_v`` its SVD is that of the small core ``R_u R_v^T``, so the
    dense (n_users, n_items) matrix is never formed. Short of ``rank`` singular values (tiny
    data), the missing columns are zero.
    """
    scale = len(users) ** -0.5
    q_u, r_u = torch.linalg.qr(torch.cat(users, 1).to(_DTYPE) * scale)
    q_v, r_v = torch.linalg.qr(torch.cat(items, 1).to(_DTYPE) * scale)
    left, values, right_t = torch.linalg.svd(r_u @ r_v.T)
    keep = min(rank, len(values))
    root = values[:keep].sqrt()
    user_table = torch.zeros(q_u.shape[0], rank, dtype=_DTYPE)
    item_table = torch.zeros(q_v.shape[0], rank, dtype=_DTYPE)
    user_table[:, :keep] = q_u @ left[:, :keep] * root
    item_table[:, :keep] = q_v @ right_t[:keep].T * root
    return user_table, item_table
