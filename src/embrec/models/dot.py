"""The dot-product model with biases: matrix factorisation with a sigmoid output range, and the
tables it shares with ``bmf``."""

from __future__ import annotations

import torch
from torch import nn

from embrec.models.common import bias, embedding, row_penalty, sigmoid_range


class BiasedFactors(nn.Module):
    """The tables of biased matrix factorisation and their additive logit,
    ``g + b_u + b_i + p_u . q_i``, shared by ``dot`` (which squashes it) and ``bmf`` (which clips it).

    ``p_u``/``q_i`` are user/item factor vectors (``factors`` wide, init normal(0, 0.01)),
    ``b_u``/``b_i`` scalar biases and ``g`` a global offset. The logit decomposes additively,
    which the explanations rely on (:meth:`logit_parts`), and ranks a user's items by
    ``p_u . q_i + b_i``, which the approximate index relies on (``embrec.recommend.retrieval``).
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
        """The additive terms of the logit, each of shape (batch,)."""
        interaction = (self.user_factors(users) * self.item_factors(items)).sum(dim=1)
        return {
            "global": self.global_bias.expand_as(interaction),
            "user_bias": self.user_bias(users)[:, 0],
            "item_bias": self.item_bias(items)[:, 0],
            "interaction": interaction,
        }

    def logit_all(self, users: torch.Tensor) -> torch.Tensor:
        """The logit of every item for each user: (batch, n_items), one matrix product."""
        logits: torch.Tensor = self.user_factors(users) @ self.item_factors.weight.T  # (batch, n_items)
        logits = logits + self.user_bias(users) + self.item_bias.weight[:, 0] + self.global_bias
        return logits


class DotProductBias(BiasedFactors):
    """``y = lo + (hi - lo) * sigmoid(g + b_u + b_i + p_u . q_i)``: the tables of
    :class:`BiasedFactors` with a sigmoid output range, trained by gradient descent."""

    def penalty(
        self, users: torch.Tensor, items: torch.Tensor, user_weight: torch.Tensor, item_weight: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Per-example L2 over the rows a batch uses: (factor term, bias term), batch means of
        the squared norms, each row's term scaled by its weight (see ``TrainConfig.penalty_alpha``)."""
        return row_penalty(
            self.user_factors(users).pow(2).sum(dim=1),
            self.item_factors(items).pow(2).sum(dim=1),
            self.user_bias(users)[:, 0],
            self.item_bias(items)[:, 0],
            user_weight,
            item_weight,
        )

    def forward(self, users: torch.Tensor, items: torch.Tensor) -> torch.Tensor:
        logit = sum(self.logit_parts(users, items).values())
        assert isinstance(logit, torch.Tensor)
        return sigmoid_range(logit, self.y_range)

    def score_all(self, users: torch.Tensor) -> torch.Tensor:
        """Predictions of every item for each user: (batch, n_items)."""
        return sigmoid_range(self.logit_all(users), self.y_range)
