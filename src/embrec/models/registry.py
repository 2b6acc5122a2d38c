"""Models by name: one place that knows how to build each kind from a ModelConfig."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from torch import nn

from embrec.models.autorec import AutoRec
from embrec.models.baselines import BiasBaseline, GlobalMean
from embrec.models.bayesian import BayesianMF
from embrec.models.config import ModelConfig
from embrec.models.dot import DotProductBias
from embrec.models.neural import EmbeddingMLP
from embrec.models.svdpp import SVDPlusPlus
from embrec.models.wide_deep import FeatureLayout, WideAndDeep


@dataclass(frozen=True)
class ModelSpec:
    """How to build a kind of model, and what it is (shown by ``embrec train --help``).

    ``model_defaults`` and ``train_defaults`` are the ``ModelConfig`` and ``TrainConfig`` fields
    whose library-wide defaults do not suit this kind (see :func:`default_model_config` and
    ``embrec.training.config.default_train_config``).
    """

    build: Callable[[int, int, ModelConfig], nn.Module]
    description: str
    model_defaults: Mapping[str, Any] = field(default_factory=dict)
    train_defaults: Mapping[str, Any] = field(default_factory=dict)


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
    "autorec": ModelSpec(
        lambda u, i, c: AutoRec(u, i, c.factors, _y_range(c)),
        "item-based AutoRec: an item's vector encodes the ratings it got, decoded per user",
        # 500 hidden units, whole-data steps with plain L2 (0.0014 ~ 100 / 72k training ratings,
        # the paper's lambda): chosen on a validation split of u1.base, 0.914 RMSE there
        model_defaults={"factors": 500},
        train_defaults={
            "batch_size": 1 << 20,
            "epochs": 400,
            "lr": 1e-3,
            "weight_decay": 0.0014,
            "decay": "dense",
            "optimizer": "adam",
            "schedule": "constant",
        },
    ),
    "bmf": ModelSpec(
        lambda u, i, c: BayesianMF(u, i, c.factors, _y_range(c)),
        "dot's biases and factors averaged over their posterior (Gibbs sampling): no learning rate"
        " or weight decay to tune; epochs are sweeps",
        # chosen on a validation split of u1.base: ranks 3-8 at 200 sweeps all scored 0.903-0.904;
        # 100 sweeps of rank 5 came within 0.0006 of the best at half the time (40: 0.9075)
        model_defaults={"factors": 5},
        train_defaults={"epochs": 100},
    ),
    "bias": ModelSpec(lambda u, i, c: BiasBaseline(u, i, c.bias_reg), "global mean + regularised user and item biases"),
    "mean": ModelSpec(lambda u, i, c: GlobalMean(u, i), "the global mean rating"),
}


def model_spec(kind: str) -> ModelSpec:
    """The registry entry of ``kind``; an unknown kind is a ValueError naming the known ones."""
    if kind not in MODELS:
        raise ValueError(f"unknown model {kind!r}; choose one of {', '.join(MODELS)}")
    return MODELS[kind]


def default_model_config(kind: str) -> ModelConfig:
    """``ModelConfig(kind=kind)`` with the kind's own defaults."""
    return replace(ModelConfig(kind=kind), **model_spec(kind).model_defaults)


def build_model(n_users: int, n_items: int, config: ModelConfig) -> nn.Module:
    """A freshly initialised model of ``config.kind``."""
    return model_spec(config.kind).build(n_users, n_items, config)
