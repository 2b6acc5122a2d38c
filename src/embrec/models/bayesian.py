"""Bayesian matrix factorisation: the dot model's shape, its weights a posterior mean."""

from __future__ import annotations

import torch
from torch import nn

from embrec.models.common import bias, embedding


class BayesianMF(nn.Module):
    """``y = clip(g + b_u + b_i + p_u . q_i, lo, hi)``, ``(lo, hi)`` the ``y_range``.

    The same tables as ``dot`` (``user_factors``, ``item_factors``, ``user_bias``,
    ``item_bias``, ``global_bias``), but fitted by Gibbs sampling
    (:mod:`embrec.training.gibbs`), not gradient descent: the stored weights give the average
    prediction over the posterior's samples, compressed back to ``factors`` dimensions. Averaging
    over the posterior is what a point estimate lacks on sparse data: users and items with few
    ratings get uncertain vectors, and their predictions shrink towards the biases by themselves,
    without a tuned weight decay or learning rate. The output is linear (the sampler needs a
    Gaussian likelihood), clipped to the interval the other models squash into: (0, 5.5) for
    1-5 stars, wide enough that top-N lists rarely tie at the ceiling (clipping to 1-5 instead
    would gain 0.0004 RMSE on u1 and tie every item predicted above 5).
    """

    def __init__(self, n_users: int, n_items: int, factors: int, y_range: tuple[float, float]):
        super().__init__()
        self.y_range = y_range
        self.user_factors = embedding(n_users, factors)
        self.item_factors = embedding(n_items, factors)
        self.user_bias = bias(n_users)
        self.item_bias = bias(n_items)
        self.global_bias = nn.Parameter(torch.zeros(()))

    @property
    def factors(self) -> int:
        return self.user_factors.embedding_dim

    def logit_parts(self, users: torch.Tensor, items: torch.Tensor) -> dict[str, torch.Tensor]:
        """The additive terms of the prediction before clipping, each of shape (batch,), in stars.

        Named as the dot model's (the explanations read either); here the "logit" is the
        unclipped rating itself, so the parts add up to the prediction wherever it is in range.
        """
        interaction = (self.user_factors(users) * self.item_factors(items)).sum(dim=1)
        return {
            "global": self.global_bias.expand_as(interaction),
            "user_bias": self.user_bias(users)[:, 0],
            "item_bias": self.item_bias(items)[:, 0],
            "interaction": interaction,
        }

    def output(self, logit: torch.Tensor) -> torch.Tensor:
        """The prediction from the sum of :meth:`logit_parts`: clipped to ``y_range``."""
        clipped: torch.Tensor = logit.clamp(*self.y_range)
        return clipped

    def output_formula(self) -> str:
        lo, hi = self.y_range
        return f"clip(logit, {lo:g}, {hi:g})"

    def forward(self, users: torch.Tensor, items: torch.Tensor) -> torch.Tensor:
        interaction = (self.user_factors(users) * self.item_factors(items)).sum(dim=1)
        raw = self.global_bias + self.user_bias(users)[:, 0] + self.item_bias(items)[:, 0] + interaction
        return self.output(raw)

    def score_all(self, users: torch.Tensor) -> torch.Tensor:
        """Predictions of every item for each user: (batch, n_items), one matrix product."""
        raw = self.user_factors(users) @ self.item_factors.weight.T  # (batch, n_items)
        raw = raw + self.user_bias(users) + self.item_bias.weight[:, 0] + self.global_bias
        return self.output(raw)
