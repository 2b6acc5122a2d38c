"""Pieces shared by the models: the scaled sigmoid, embedding initialisation and the row penalty."""

from __future__ import annotations

import math

import torch
from torch import nn


def sigmoid_range(x: torch.Tensor, y_range: tuple[float, float]) -> torch.Tensor:
    """``lo + (hi - lo) * sigmoid(x)``: squashes any logit into ``(lo, hi)``."""
    lo, hi = y_range
    return lo + (hi - lo) * torch.sigmoid(x)


def inverse_sigmoid_range(y: float, y_range: tuple[float, float]) -> float:
    """The logit whose scaled sigmoid is ``y`` (used to start the global offset at the mean)."""
    lo, hi = y_range
    p = min(max((y - lo) / (hi - lo), 1e-4), 1 - 1e-4)
    return math.log(p / (1 - p))


def embedding(n: int, dim: int, std: float = 0.01) -> nn.Embedding:
    """An embedding table initialised normal(0, std): small, so early predictions sit near the offset."""
    table = nn.Embedding(n, dim)
    nn.init.normal_(table.weight, 0.0, std)
    return table


def bias(n: int) -> nn.Embedding:
    """A per-index scalar bias, stored as a one-column embedding, initialised to zero."""
    table = nn.Embedding(n, 1)
    nn.init.zeros_(table.weight)
    return table


def row_penalty(
    user_squares: torch.Tensor,
    item_squares: torch.Tensor,
    user_bias: torch.Tensor,
    item_bias: torch.Tensor,
    user_weight: torch.Tensor,
    item_weight: torch.Tensor,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-example L2 of a batch, each row's term scaled by its weight (``TrainConfig.penalty_alpha``):
    (factor term, bias term), the batch means of ``w_u |p_u|^2 + w_i |q_i|^2`` and of
    ``w_u b_u^2 + w_i b_i^2``. Arguments are per example, shape (batch,): squared vector norms,
    biases and row weights."""
    factors = (user_weight * user_squares + item_weight * item_squares).mean()
    biases = (user_weight * user_bias.pow(2) + item_weight * item_bias.pow(2)).mean()
    return factors, biases


def csr_bags(offsets: torch.Tensor, rows: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """The lists of ``rows`` in a CSR (``offsets``, n + 1) as ``embedding_bag`` input: the
    positions of their entries, row after row, and where each row's bag starts among them."""
    starts = offsets[rows]
    counts = offsets[rows + 1] - starts
    firsts = torch.repeat_interleave(starts - (counts.cumsum(0) - counts), counts)
    positions = torch.arange(int(counts.sum()), device=rows.device) + firsts
    bags = torch.cat([torch.zeros(1, dtype=torch.long, device=rows.device), counts.cumsum(0)[:-1]])
    return positions, bags
