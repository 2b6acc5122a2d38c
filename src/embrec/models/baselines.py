"""Honest baselines: the global mean, and regularised user + item biases.

Both are fitted in closed form (:meth:`fit_exact`), not by gradient descent, so they are the
best their model family can do and a fair floor for the learned models.
"""

from __future__ import annotations

import torch
from torch import nn


class GlobalMean(nn.Module):
    """``y = mu``: every prediction is the training mean."""

    def __init__(self, n_users: int, n_items: int):
        super().__init__()
        self.n_items = n_items
        self.mean = nn.Parameter(torch.zeros(()), requires_grad=False)

    def fit_exact(self, users: torch.Tensor, items: torch.Tensor, ratings: torch.Tensor) -> None:
        self.mean.data = ratings.mean()

    def forward(self, users: torch.Tensor, items: torch.Tensor) -> torch.Tensor:
        return self.mean.expand(len(users))

    def score_all(self, users: torch.Tensor) -> torch.Tensor:
        return self.mean.expand(len(users), self.n_items)


class BiasBaseline(nn.Module):
    """``y = mu + b_u + b_i`` with biases shrunk towards zero.

    Fitted by alternating regularised least squares (Koren 2010, section 2.1):
    ``b_i = sum(r - mu - b_u) / (reg + n_i)`` and ``b_u = sum(r - mu - b_i) / (reg + n_u)``,
    where ``reg`` acts as that many pseudo-ratings at the mean.
    """

    def __init__(self, n_users: int, n_items: int, reg: float = 5.0, iterations: int = 10):
        super().__init__()
        self.reg = reg
        self.iterations = iterations
        self.mean = nn.Parameter(torch.zeros(()), requires_grad=False)
        self.user_bias = nn.Parameter(torch.zeros(n_users), requires_grad=False)
        self.item_bias = nn.Parameter(torch.zeros(n_items), requires_grad=False)

    def fit_exact(self, users: torch.Tensor, items: torch.Tensor, ratings: torch.Tensor) -> None:
        mu = ratings.mean()
        n_u = torch.bincount(users, minlength=len(self.user_bias)).to(ratings.dtype)
        n_i = torch.bincount(items, minlength=len(self.item_bias)).to(ratings.dtype)
        b_u = torch.zeros_like(self.user_bias)
        b_i = torch.zeros_like(self.item_bias)
        for _ in range(self.iterations):
            resid = ratings - mu - b_u[users]
            b_i = torch.zeros_like(b_i).index_add_(0, items, resid) / (self.reg + n_i)
            resid = ratings - mu - b_i[items]
            b_u = torch.zeros_like(b_u).index_add_(0, users, resid) / (self.reg + n_u)
        self.mean.data, self.user_bias.data, self.item_bias.data = mu, b_u, b_i

    def forward(self, users: torch.Tensor, items: torch.Tensor) -> torch.Tensor:
        return self.mean + self.user_bias[users] + self.item_bias[items]

    def score_all(self, users: torch.Tensor) -> torch.Tensor:
        return self.mean + self.user_bias[users][:, None] + self.item_bias[None, :]
