"""Shilling attacks: fake profiles that push one target item, appended to a ratings table.

The three classic push attacks (Lam & Riedl 2004; Mobasher et al. 2007). Every fake profile
rates the *target* with the top of the scale and ``n_filler`` other items, the *filler*:

- ``random``: filler items drawn uniformly from the rated catalog, each rating drawn from
  ``N(global mean, global std^2)``.
- ``average``: the same filler draw, each rating drawn from ``N(mean_i, std_i^2)`` of that item
  (the global std stands in for items with fewer than two ratings). The profiles agree with the
  item means, which makes them harder to tell from real users.
- ``bandwagon``: the ``popular`` most rated items are rated the top of the scale (riding along
  with the crowd's favourites), the rest of the filler as in ``random``.

Ratings are rounded to the data's step (whole stars, half stars, or not at all) and clipped to
the scale. Fake users are appended to the user id map (``IdMap.extended``), so every real
user keeps its index; their side-table rows are empty. All draws come from ``seed``.

:func:`inject_niche_group` appends a different kind of group, honest but narrow: heavy users who
rate every item of one genre, highly (the brief's "anime fans").
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass, replace
from typing import Literal

import numpy as np
import pandas as pd

from embrec.data.ids import UnknownIdError
from embrec.data.ratings import Ratings

AttackKind = Literal["random", "average", "bandwagon"]
ATTACK_KINDS: tuple[AttackKind, ...] = ("random", "average", "bandwagon")


@dataclass(frozen=True)
class AttackSpec:
    """What to inject: ``profiles`` fake users as a share of the existing users, each rating the
    target and ``filler`` (a share of the catalog) other items.
    """

    kind: AttackKind
    target: int
    profiles: float = 0.03
    filler: float = 0.05
    popular: int = 5
    seed: int = 0

    def __post_init__(self) -> None:
        if self.kind not in ATTACK_KINDS:
            raise ValueError(f"unknown attack kind {self.kind!r}; choose one of {', '.join(ATTACK_KINDS)}")
        if not 0.0 < self.profiles <= 1.0 or not 0.0 <= self.filler < 1.0:
            raise ValueError("profiles must be in (0, 1] and filler in [0, 1) (shares, e.g. 0.03 for 3%)")
        if self.popular < 0:
            raise ValueError("popular must be non-negative")

    def counts(self, n_users: int, n_items: int) -> tuple[int, int]:
        """(number of fake profiles, filler items per profile): ``round(share * n)``, at least one profile."""
        return max(1, round(self.profiles * n_users)), min(round(self.filler * n_items), n_items - 1)


@dataclass(frozen=True)
class Attack:
    """The attacked ratings (real ratings first, then the fakes') and which users are fake."""

    ratings: Ratings
    fake_users: np.ndarray
    spec: AttackSpec

    @property
    def is_fake(self) -> np.ndarray:
        """Boolean mask over the attacked data's users."""
        mask = np.zeros(self.ratings.n_users, dtype=bool)
        mask[self.fake_users] = True
        return mask


def item_index(ratings: Ratings, item: object) -> int:
    """Index of an item given by raw id or, failing that, by exact title (close titles suggested)."""
    if item in ratings.item_ids:
        return ratings.item_ids.index(item)
    table = ratings.item_table
    if table is None or "title" not in table.columns:
        raise UnknownIdError("item", item)
    titles = table["title"].astype(str).to_numpy()
    matches = np.flatnonzero(titles == str(item))
    if len(matches) == 0:
        raise UnknownIdError("item", item, difflib.get_close_matches(str(item), list(titles), n=5, cutoff=0.5))
    return int(matches[0])


def inject(train: Ratings, spec: AttackSpec) -> Attack:
    """``train`` with ``spec``'s fake profiles appended as new users."""
    if not 0 <= spec.target < train.n_items:
        raise ValueError(f"target item index {spec.target} is outside the catalog")
    rng = np.random.default_rng(spec.seed)
    n_profiles, n_filler = spec.counts(train.n_users, train.n_items)
    profiles = [_profile(train, spec, n_filler, rng) for _ in range(n_profiles)]
    attacked, fake = append_profiles(train, profiles, "shill-", f"{train.name}+{spec.kind}")
    return Attack(attacked, fake, spec)


@dataclass(frozen=True)
class NicheGroup:
    """Ratings with a synthesised group of heavy users who rate only ``items``, and highly."""

    ratings: Ratings
    members: np.ndarray
    items: np.ndarray


def inject_niche_group(
    train: Ratings, items: np.ndarray, members: float = 0.02, top_share: float = 0.7, seed: int = 0
) -> NicheGroup:
    """Append ``round(members * n_users)`` users who each rate every one of ``items``.

    Each rating is the top of the scale with probability ``top_share``, else one step below
    (the brief's anime fans: a small, very active group with narrow, enthusiastic tastes).
    """
    items = np.unique(np.asarray(items, dtype=np.int64))
    if len(items) == 0:
        raise ValueError("a niche group needs at least one item")
    rng = np.random.default_rng(seed)
    lo, hi = train.scale
    below = max(hi - (rating_step(train.ratings) or (hi - lo) / 4), lo)
    n_members = max(1, round(members * train.n_users))
    profiles = [(items, np.where(rng.random(len(items)) < top_share, hi, below)) for _ in range(n_members)]
    ratings, added = append_profiles(train, profiles, "niche-", f"{train.name}+niche")
    return NicheGroup(ratings, added, items)


def append_profiles(
    train: Ratings, profiles: list[tuple[np.ndarray, np.ndarray]], prefix: str, name: str
) -> tuple[Ratings, np.ndarray]:
    """``train`` with one new user per (items, ratings) profile, and the new users' indices.

    New ids are ``prefix1``, ``prefix2``... (with leading underscores if any is taken); their
    side-table rows are empty and their timestamps (when the data has them) the latest one.
    """
    lengths = [len(items) for items, _ in profiles]
    new = np.arange(train.n_users, train.n_users + len(profiles), dtype=np.int32)
    users = np.repeat(new, lengths)
    timestamps = None
    if train.timestamps is not None:
        latest = train.timestamps.max() if len(train) else 0
        timestamps = np.concatenate([train.timestamps, np.full(len(users), latest, dtype=train.timestamps.dtype)])
    table = train.user_table
    appended = replace(
        train,
        users=np.concatenate([train.users, users]).astype(np.int32),
        items=np.concatenate([train.items, *(i for i, _ in profiles)]).astype(np.int32),
        ratings=np.concatenate([train.ratings, *(r for _, r in profiles)]).astype(np.float32),
        user_ids=train.user_ids.extended(_new_ids(train, prefix, len(profiles))),
        timestamps=timestamps,
        user_table=None if table is None else table.reindex(pd.RangeIndex(train.n_users + len(profiles))),
        name=name,
    )
    return appended, new


def _profile(
    train: Ratings, spec: AttackSpec, n_filler: int, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """One fake profile: (item indices, ratings), the target first."""
    lo, hi = train.scale
    counts = train.item_counts()
    popular = np.empty(0, dtype=np.int64)
    if spec.kind == "bandwagon":
        by_count = np.argsort(-counts, kind="stable")
        popular = by_count[by_count != spec.target][: min(spec.popular, n_filler)]
    candidates = np.flatnonzero(counts > 0)
    candidates = candidates[(candidates != spec.target) & ~np.isin(candidates, popular)]
    filler = rng.choice(candidates, size=min(n_filler - len(popular), len(candidates)), replace=False)
    if spec.kind == "average":
        means, stds = item_moments(train)
        drawn = rng.normal(means[filler], stds[filler])
    else:
        drawn = rng.normal(train.mean(), float(train.ratings.std()) if len(train) else 1.0, size=len(filler))
    step = rating_step(train.ratings)
    filler_values = np.clip(np.round(drawn / step) * step if step else drawn, lo, hi)
    items = np.concatenate([[spec.target], popular, filler])
    values = np.concatenate([[hi], np.full(len(popular), hi), filler_values])
    return items, values


def item_moments(train: Ratings) -> tuple[np.ndarray, np.ndarray]:
    """Each item's rating mean and standard deviation; the global ones where an item has < 2 ratings."""
    counts = train.item_counts()
    sums = np.bincount(train.items, weights=train.ratings, minlength=train.n_items)
    squares = np.bincount(train.items, weights=train.ratings.astype(np.float64) ** 2, minlength=train.n_items)
    safe = np.maximum(counts, 1)
    means = np.where(counts > 0, sums / safe, train.mean())
    variance = np.maximum(squares / safe - means**2, 0.0) * safe / np.maximum(safe - 1, 1)
    stds = np.where(counts > 1, np.sqrt(variance), float(train.ratings.std()) if len(train) else 1.0)
    return means, stds


def rating_step(ratings: np.ndarray) -> float:
    """The grid the ratings live on: 1 for whole stars, 0.5 for half stars, 0 for continuous."""
    for step in (1.0, 0.5):
        if np.allclose(ratings / step, np.round(ratings / step)):
            return step
    return 0.0


def _new_ids(train: Ratings, prefix: str, n: int) -> list[str]:
    """``prefix1``, ``prefix2``... with enough leading underscores to avoid every existing id."""
    while any(f"{prefix}{i}" in train.user_ids for i in range(1, n + 1)):
        prefix = "_" + prefix
    return [f"{prefix}{i}" for i in range(1, n + 1)]
