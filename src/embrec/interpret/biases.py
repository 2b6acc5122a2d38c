"""Learned biases: what people like more (or less) than their tastes would predict."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from torch import nn

from embrec.recommend.recommender import Recommender


@dataclass(frozen=True)
class BiasEntry:
    id: str
    label: str
    bias: float
    n_ratings: int


def learned_biases(model: nn.Module, kind: str) -> np.ndarray | None:
    """The model's per-user or per-item bias vector (``kind`` "user" or "item"), if it has one."""
    table = getattr(model, f"{kind}_bias", None)
    if table is None:
        return None
    weight = table.weight if isinstance(table, nn.Embedding) else table
    return np.asarray(weight.detach().numpy(), dtype=np.float64).reshape(-1)


def extreme_item_biases(recommender: Recommender, n: int = 5, min_ratings: int = 20) -> tuple[list[BiasEntry], list[BiasEntry]]:
    """The ``n`` items with the lowest and the highest learned bias among items with enough ratings.

    The filter keeps the lists about films people actually rated: a bias estimated from one
    or two ratings says little.
    """
    biases = learned_biases(recommender.model, "item")
    if biases is None:
        raise ValueError(f"a {recommender.model_config.kind!r} model has no item biases")
    eligible = np.flatnonzero(recommender.item_popularity >= min_ratings)
    order = eligible[np.argsort(biases[eligible], kind="stable")]

    def entry(i: int) -> BiasEntry:
        return BiasEntry(recommender.item_ids.raw(i), recommender.title(i), float(biases[i]), int(recommender.item_popularity[i]))

    return [entry(i) for i in order[:n]], [entry(i) for i in order[::-1][:n]]
