"""The neural variant: concatenated user and item embeddings through an MLP."""

from __future__ import annotations

import torch
from torch import nn

from embrec.models.common import embedding, sigmoid_range


class EmbeddingMLP(nn.Module):
    """``y = lo + (hi - lo) * sigmoid(MLP([p_u ; q_i]))`` (neural collaborative filtering).

    The MLP has ``layers`` hidden widths with ReLU and dropout; unlike the dot product it can
    learn non-linear user-item interactions, at the cost of no cheap all-items product.
    """

    def __init__(
        self,
        n_users: int,
        n_items: int,
        factors: int,
        y_range: tuple[float, float],
        layers: tuple[int, ...] = (128, 64),
        dropout: float = 0.2,
    ):
        super().__init__()
        self.y_range = y_range
        self.n_items = n_items
        self.user_factors = embedding(n_users, factors)
        self.item_factors = embedding(n_items, factors)
        blocks: list[nn.Module] = []
        width = 2 * factors
        for hidden in layers:
            blocks += [nn.Linear(width, hidden), nn.ReLU(), nn.Dropout(dropout)]
            width = hidden
        blocks.append(nn.Linear(width, 1))
        self.mlp = nn.Sequential(*blocks)

    def penalty(self, users: torch.Tensor, items: torch.Tensor) -> torch.Tensor:
        """Mean over the batch of the squared norms of the embedding rows it uses."""
        squares = self.user_factors(users).pow(2).sum(dim=1) + self.item_factors(items).pow(2).sum(dim=1)
        mean: torch.Tensor = squares.mean()
        return mean

    def forward(self, users: torch.Tensor, items: torch.Tensor) -> torch.Tensor:
        x = torch.cat([self.user_factors(users), self.item_factors(items)], dim=1)  # (batch, 2f)
        return sigmoid_range(self.mlp(x)[:, 0], self.y_range)

    def score_all(self, users: torch.Tensor) -> torch.Tensor:
        """(batch, n_items): the MLP on every (user, item) pair of the batch."""
        items = torch.arange(self.n_items, device=users.device)
        pair_users = users.repeat_interleave(self.n_items)
        pair_items = items.repeat(len(users))
        return self.forward(pair_users, pair_items).view(len(users), self.n_items)
