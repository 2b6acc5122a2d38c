"""The influence audit: concentration of the signal and of the lists, and what each group moves.

**Group influence, by retraining.** For a group ``G`` of users, a model is retrained on the
training ratings without ``G``'s ratings and compared with a *reference* model retrained on all
of them with the same (cheap) settings and seed. Over everyone else (users with ratings, not in
``G``), with top-``k`` lists computed with the same seen items excluded:

- ``overlap``: mean ``|L_with & L_without| / k`` of each user's two lists (1 = unchanged);
- ``favourite_share_with``/``_without``: share of their slots taken by the group's favourite
  items (:func:`~embrec.influence.groups.favourite_items`);
- ``rank_shift``: mean rank of those favourites among the users' unseen items without the group
  minus with it (positive: the group lifts its favourites in everyone else's rankings).

Retraining is noisy even on identical data (another initialisation and batch order move many
lists), so a *noise* model is retrained on all ratings with the next seed: ``noise_overlap`` is
its overlap with the reference, and each group's ``rank_noise`` is ``|mean rank of the group's
favourites in the noise model - in the reference|``. A group matters when its ``overlap`` falls
clearly below ``noise_overlap`` or its ``rank_shift`` clearly exceeds its ``rank_noise``.

The retraining is meant to be cheap (a few epochs, e.g. 5 instead of the full schedule): the
figures compare cheap models with each other, never with the saved one, and say how many epochs
they used.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass, field, replace
from typing import Any

import numpy as np
from torch import nn

from embrec.data.ratings import Ratings
from embrec.influence.concentration import (
    ListConcentration,
    SignalConcentration,
    list_concentration,
    recommendation_counts,
    signal_concentration,
    slot_share,
)
from embrec.influence.exposure import item_ranks
from embrec.influence.groups import UserGroup, favourite_items
from embrec.influence.mitigation import drop_users
from embrec.models import ModelConfig
from embrec.recommend.recommender import Recommender
from embrec.training.config import TrainConfig
from embrec.training.loop import train_model


@dataclass(frozen=True)
class GroupInfluence:
    """How much one group moves everyone else's lists (see the module docstring)."""

    name: str
    kind: str
    users: int
    rating_share: float
    overlap: float
    favourites: list[int]
    favourite_share_with: float
    favourite_share_without: float
    rank_with: float
    rank_without: float
    rank_noise: float

    @property
    def rank_shift(self) -> float:
        return self.rank_without - self.rank_with

    def to_json(self) -> dict[str, Any]:
        return asdict(self) | {"rank_shift": self.rank_shift}


@dataclass(frozen=True)
class InfluenceAudit:
    """Group influence figures, with the retraining settings and the seed-noise reference."""

    epochs: int
    k: int
    noise_overlap: float
    groups: list[GroupInfluence]

    def to_json(self) -> dict[str, Any]:
        return {"epochs": self.epochs, "k": self.k, "noise_overlap": self.noise_overlap,
                "groups": [g.to_json() for g in self.groups]}  # fmt: skip


def group_influence(
    train: Ratings,
    groups: list[UserGroup],
    model_config: ModelConfig,
    config: TrainConfig,
    k: int = 10,
    on_step: Callable[[str], None] | None = None,
) -> InfluenceAudit:
    """Retrain without each group and measure the change in everyone else's top-``k`` lists.

    ``config`` is used as given (pass a cheap one: few epochs); ``len(groups) + 2`` models are
    trained. ``on_step`` is called with a label before each training.
    """
    step = on_step or (lambda _label: None)
    step("reference")
    reference = _retrain(train, model_config, config, train)
    step("seed noise")
    noise = _retrain(train, model_config, replace(config, seed=config.seed + 1), train)
    active = np.flatnonzero(train.user_counts() > 0)
    ref_lists = reference.top_n(active, k, exact=True)[0]  # list changes of the models, not of an index
    noise_overlap = list_overlap(ref_lists, noise.top_n(active, k, exact=True)[0])
    results = []
    for group in groups:
        step(group.name)
        results.append(_one_group(train, group, (reference, noise), model_config, config, active, k))
    return InfluenceAudit(config.epochs, k, noise_overlap, results)


def _one_group(
    train: Ratings,
    group: UserGroup,
    models: tuple[Recommender, Recommender],
    model_config: ModelConfig,
    config: TrainConfig,
    active: np.ndarray,
    k: int,
) -> GroupInfluence:
    reference, noise = models
    in_group = np.zeros(train.n_users, dtype=bool)
    in_group[group.members] = True
    without = _retrain(drop_users(train, in_group), model_config, config, train)
    others = active[~in_group[active]]
    favourites = favourite_items(train, group.members)
    mask = np.zeros(train.n_items, dtype=bool)
    mask[favourites] = True
    lists_with, lists_without = reference.top_n(others, k, exact=True)[0], without.top_n(others, k, exact=True)[0]
    rank_with = _mean_rank(reference, others, favourites)
    return GroupInfluence(
        name=group.name,
        kind=group.kind,
        users=len(group.members),
        rating_share=float(in_group[train.users].mean()) if len(train) else 0.0,
        overlap=list_overlap(lists_with, lists_without),
        favourites=[int(i) for i in favourites],
        favourite_share_with=slot_share(lists_with, mask),
        favourite_share_without=slot_share(lists_without, mask),
        rank_with=rank_with,
        rank_without=_mean_rank(without, others, favourites),
        rank_noise=abs(_mean_rank(noise, others, favourites) - rank_with),
    )


def _retrain(data: Ratings, model_config: ModelConfig, config: TrainConfig, seen_from: Ratings) -> Recommender:
    """A model trained on ``data``; its lists exclude the items rated in ``seen_from``."""
    model, resolved, _ = train_model(data, model_config, config)
    return Recommender.from_training(model, resolved, seen_from, config)


def _mean_rank(recommender: Recommender, users: np.ndarray, items: np.ndarray) -> float:
    if len(items) == 0 or len(users) == 0:
        return float("nan")
    ranks = item_ranks(recommender, users, items)
    return float(np.nanmean(ranks)) if np.isfinite(ranks).any() else float("nan")


def list_overlap(first: np.ndarray, second: np.ndarray) -> float:
    """Mean over rows of ``|first_row & second_row| / k`` (empty slots, -1, never match)."""
    if len(first) == 0:
        return 1.0
    k = first.shape[1]
    same = (first[:, :, None] == second[:, None, :]) & (first[:, :, None] >= 0)  # (users, k, k)
    return float(same.any(axis=2).sum(axis=1).mean() / k)


@dataclass(frozen=True)
class Audit:
    """Everything ``embrec audit`` reports; ``recommendation_counts`` feeds the Lorenz curve."""

    signal: SignalConcentration
    lists: ListConcentration
    influence: InfluenceAudit | None
    user_activity: np.ndarray = field(repr=False)
    item_popularity: np.ndarray = field(repr=False)
    recommendation_counts: np.ndarray = field(repr=False)

    def to_json(self) -> dict[str, Any]:
        return {"signal": self.signal.to_json(), "lists": self.lists.to_json(),
                "influence": None if self.influence is None else self.influence.to_json()}  # fmt: skip


def audit(
    recommender: Recommender,
    train: Ratings,
    groups: list[UserGroup] | None = None,
    config: TrainConfig | None = None,
    k: int = 10,
    on_step: Callable[[str], None] | None = None,
) -> Audit:
    """Concentration of ``train`` and of ``recommender``'s top-``k`` lists for users with ratings,
    plus group influence when ``groups`` and a (cheap) retraining ``config`` are given.
    """
    active = np.flatnonzero(train.user_counts() > 0)
    lists = recommender.top_n(active, k, exact=True)[0]
    influence = None
    if groups and config is not None:
        influence = group_influence(train, groups, recommender.model_config, config, k, on_step)
    return Audit(
        signal=signal_concentration(train),
        lists=list_concentration(lists, recommender.n_items),
        influence=influence,
        user_activity=train.user_counts()[active],
        item_popularity=train.item_counts(),
        recommendation_counts=recommendation_counts(lists, recommender.n_items),
    )


def user_factors(recommender: Recommender) -> np.ndarray | None:
    """The user embedding table (n_users, factors), or None for models without one."""
    table = getattr(recommender.model, "user_factors", None)
    return table.weight.detach().numpy().copy() if isinstance(table, nn.Embedding) else None
