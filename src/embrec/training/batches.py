"""Mini-batches as slices of a seeded permutation over whole tensors (no per-row Python)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import torch

from embrec.data.ratings import Ratings


@dataclass(frozen=True)
class RatingTensors:
    users: torch.Tensor  # (n,) int64
    items: torch.Tensor  # (n,) int64
    ratings: torch.Tensor  # (n,) float32

    @classmethod
    def from_ratings(cls, ratings: Ratings) -> RatingTensors:
        return cls(
            torch.from_numpy(ratings.users).long(),
            torch.from_numpy(ratings.items).long(),
            torch.from_numpy(ratings.ratings).float(),
        )

    def __len__(self) -> int:
        return len(self.ratings)


def shuffled_batches(n: int, batch_size: int, generator: torch.Generator) -> Iterator[torch.Tensor]:
    """Index tensors covering ``range(n)`` once in a random order; the sampler of the loop.

    A distributed run gives each rank its own slice of the same permutation.
    """
    order = torch.randperm(n, generator=generator)
    yield from order.split(batch_size)
