"""Models by name: one place that knows how to build each kind from a ModelConfig."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from torch import nn

from embrec.models.baselines import BiasBaseline, GlobalMean
from embrec.models.config import ModelConfig
from embrec.models.dot import DotProductBias
from embrec.models.neural import EmbeddingMLP
from embrec.models.svdpp import SVDPlusPlus
from embrec.models.wide_deep import FeatureLayout, WideAndDeep


@dataclass(frozen=True)
class ModelSpec:
    """How to build a kind of model, and what it is (shown by ``embrec train --help``)."""

    build: Callable[[int, int, ModelConfig], nn.Module]
    description: str


def _y_range(config: ModelConfig) -> tuple[float, float]:
    if config.y_range is None:
        raise ValueError("y_range must be resolved before building the model")
    return config.y_range


MODELS: dict[str, ModelSpec] = {
    "dot": ModelSpec(
        lambda u, i, c: DotProductBias(u, i, c.factors, _y_range(c)),
        "dot product of user and item factors plus biases, sigmoid output range",
    ),
    "svdpp": ModelSpec(
        lambda u, i, c: SVDPlusPlus(u, i, c.factors, _y_range(c)),
        "dot plus implicit feedback (SVD++): the user vector adds the scaled sum of the rated items' factors",
    ),
    "nn": ModelSpec(
        lambda u, i, c: EmbeddingMLP(u, i, c.factors, _y_range(c), c.layers, c.dropout),
        "concatenated user and item embeddings through an MLP",
    ),
    "widedeep": ModelSpec(
        lambda u, i, c: WideAndDeep(
            u, i, c.factors, _y_range(c), FeatureLayout.from_json(c.features), c.layers, c.dropout
        ),
        "linear part over ids, side features and crosses, plus an MLP over id and entity embeddings",
    ),
    "bias": ModelSpec(lambda u, i, c: BiasBaseline(u, i, c.bias_reg), "global mean + regularised user and item biases"),
    "mean": ModelSpec(lambda u, i, c: GlobalMean(u, i), "the global mean rating"),
}


def build_model(n_users: int, n_items: int, config: ModelConfig) -> nn.Module:
    """A freshly initialised model of ``config.kind``."""
    if config.kind not in MODELS:
        raise ValueError(f"unknown model {config.kind!r}; choose one of {', '.join(MODELS)}")
    return MODELS[config.kind].build(n_users, n_items, config)
