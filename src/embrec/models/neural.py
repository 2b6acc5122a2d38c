"""The neural variant: concatenated user and item embeddings through an MLP, beside the dot product."""

from __future__ import annotations

import torch
from torch import nn

from embrec.models.common import bias, embedding, row_penalty, sigmoid_range


class EmbeddingMLP(nn.Module):
    """``y = lo + (hi - lo) * sigmoid(g + b_u + b_i + p_u . q_i + MLP([p_u ; q_i]))``.

    Neural collaborative filtering in the NeuMF shape: the MLP (``layers`` hidden widths, ReLU,
    dropout) learns the non-linear part of the user-item interaction on top of the biases and
    the dot product, which it would otherwise have to approximate with many units (Rendle et
    al. 2020 show an MLP alone learns a dot product poorly). The cost is no cheap all-items
    product: :meth:`score_all` runs the MLP on every pair.
    """

    def __init__(
        self,
        n_users: int,
        n_items: int,
        factors: int,
        y_range: tuple[float, float],
        layers: tuple[int, ...] = (32,),
        dropout: float = 0.5,
    ):
        super().__init__()
        self.y_range = y_range
        self.n_items = n_items
        self.user_factors = embedding(n_users, factors)
        self.item_factors = embedding(n_items, factors)
        self.user_bias = bias(n_users)
        self.item_bias = bias(n_items)
        self.global_bias = nn.Parameter(torch.zeros(()))
        blocks: list[nn.Module] = []
        width = 2 * factors
        for hidden in layers:
            blocks += [nn.Linear(width, hidden), nn.ReLU(), nn.Dropout(dropout)]
            width = hidden
        blocks.append(nn.Linear(width, 1))
        self.mlp = nn.Sequential(*blocks)

    def penalty(
        self, users: torch.Tensor, items: torch.Tensor, user_weight: torch.Tensor, item_weight: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Per-example L2 over the rows a batch uses, weighted per row: (factor term, bias term)."""
        return row_penalty(
            self.user_factors(users).pow(2).sum(dim=1),
            self.item_factors(items).pow(2).sum(dim=1),
            self.user_bias(users)[:, 0],
            self.item_bias(items)[:, 0],
            user_weight,
            item_weight,
        )

    def logit_parts(self, users: torch.Tensor, items: torch.Tensor) -> dict[str, torch.Tensor]:
        """The additive terms of the logit, each of shape (batch,)."""
        p, q = self.user_factors(users), self.item_factors(items)
        return {
            "global": self.global_bias.expand(len(users)),
            "user_bias": self.user_bias(users)[:, 0],
            "item_bias": self.item_bias(items)[:, 0],
            "interaction": (p * q).sum(dim=1),
            "mlp": self.mlp(torch.cat([p, q], dim=1))[:, 0],
        }

    def forward(self, users: torch.Tensor, items: torch.Tensor) -> torch.Tensor:
        logit = sum(self.logit_parts(users, items).values())
        assert isinstance(logit, torch.Tensor)
        return sigmoid_range(logit, self.y_range)

    def score_all(self, users: torch.Tensor) -> torch.Tensor:
        """(batch, n_items): the model on every (user, item) pair of the batch."""
        items = torch.arange(self.n_items, device=users.device)
        pair_users = users.repeat_interleave(self.n_items)
        pair_items = items.repeat(len(users))
        return self.forward(pair_users, pair_items).view(len(users), self.n_items)
