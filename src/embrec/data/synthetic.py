"""Synthetic ratings with a planted low-rank structure, for scale tests and recovery checks.

The planted model (all parameters drawn from ``seed``)::

    truth(u, i) = clip(mu + b_u + b_i + p_u . q_i, lo, hi)
    rating(u, i) = clip(mu + b_u + b_i + p_u . q_i + eps, lo, hi),   eps ~ N(0, noise^2)

with ``b_u ~ N(0, user_bias_std^2)``, ``b_i ~ N(0, item_bias_std^2)`` and ``p_u, q_i ~ N(0, s^2 I)``,
``s = (signal^2 / rank)^(1/4)`` so that the interaction ``p_u . q_i`` has standard deviation
``signal``. Ratings are continuous (not rounded to stars), so ``truth`` is what a perfect model
would predict up to the clipping of the noise.

Which pairs are rated: user ``u`` is active in proportion to ``rank_u^-user_exponent`` and item
``i`` popular in proportion to ``rank_i^-item_exponent`` (Zipf laws over a random ordering of the
indices), each expected count capped at ``max_share`` of the other side (the most active
MovieLens user rated about half the catalog; the most popular film was rated by about half the
users). Pairs are drawn independently from the product of the two laws, duplicates dropped and
the shortfall drawn again until ``n_ratings`` distinct pairs are held; pairs in the saturated
head (very active user x very popular item) are therefore a little rarer than the product law.
Everything is vectorised numpy: 2.5e7 ratings take about a minute on two cores.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from embrec.data.ids import IdMap
from embrec.data.ratings import Ratings

_CHUNK = 1 << 20


@dataclass(frozen=True)
class SyntheticSpec:
    """Shape and structure of a synthetic ratings table (see the module docstring)."""

    n_ratings: int
    n_users: int
    n_items: int
    rank: int = 16
    user_exponent: float = 0.8
    item_exponent: float = 1.0
    max_share: float = 0.5
    global_mean: float = 3.5
    user_bias_std: float = 0.35
    item_bias_std: float = 0.45
    signal: float = 0.6
    noise: float = 0.5
    scale: tuple[float, float] = (0.5, 5.0)

    def __post_init__(self) -> None:
        if min(self.n_ratings, self.n_users, self.n_items, self.rank) < 1:
            raise ValueError("n_ratings, n_users, n_items and rank must be positive")
        if self.n_ratings > 0.5 * self.n_users * self.n_items:
            raise ValueError("n_ratings must be at most half of n_users * n_items (the table must stay sparse)")
        if not 0.0 < self.max_share <= 1.0:
            raise ValueError("max_share must be in (0, 1]")


# MovieLens shapes: 100k, 1M and 10M, and ML-25M's (162,541 users, 59,047 rated films) at the top.
SIZES: dict[str, SyntheticSpec] = {
    "1e5": SyntheticSpec(100_000, 943, 1_682),
    "1e6": SyntheticSpec(1_000_000, 6_040, 3_706),
    "1e7": SyntheticSpec(10_000_000, 69_878, 10_677),
    "2.5e7": SyntheticSpec(25_000_000, 162_541, 59_047),
}


@dataclass(frozen=True)
class PlantedTruth:
    """The parameters the ratings were drawn from."""

    global_mean: float
    user_bias: np.ndarray  # (n_users,) float32
    item_bias: np.ndarray  # (n_items,) float32
    user_factors: np.ndarray  # (n_users, rank) float32
    item_factors: np.ndarray  # (n_items, rank) float32
    scale: tuple[float, float]

    def expected(self, users: np.ndarray, items: np.ndarray) -> np.ndarray:
        """Noise-free ratings ``clip(mu + b_u + b_i + p_u . q_i)`` of index pairs, float32, in chunks."""
        out = np.empty(len(users), dtype=np.float32)
        for start in range(0, len(users), _CHUNK):
            u, i = users[start : start + _CHUNK], items[start : start + _CHUNK]
            out[start : start + _CHUNK] = self._raw(u, i)
        clipped: np.ndarray = np.clip(out, *self.scale)
        return clipped

    def _raw(self, users: np.ndarray, items: np.ndarray) -> np.ndarray:
        interaction: np.ndarray = np.einsum("nk,nk->n", self.user_factors[users], self.item_factors[items])
        raw: np.ndarray = self.user_bias[users] + self.item_bias[items] + interaction + self.global_mean
        return raw


@dataclass(frozen=True)
class Synthetic:
    """Synthetic ratings and the truth they were drawn from."""

    ratings: Ratings
    truth: PlantedTruth


def planted_ratings(spec: SyntheticSpec, seed: int = 0) -> Synthetic:
    """Draw ``spec.n_ratings`` distinct (user, item) ratings from the planted model; deterministic in ``seed``."""
    rng = np.random.default_rng(seed)
    truth = _draw_truth(spec, rng)
    total, share = spec.n_ratings, spec.max_share
    user_weights = capped_power_law(spec.n_users, spec.user_exponent, total, share * spec.n_items, rng)
    item_weights = capped_power_law(spec.n_items, spec.item_exponent, total, share * spec.n_users, rng)
    users, items = _distinct_pairs(user_weights, item_weights, spec.n_ratings, rng)
    ratings = _raw_chunked(truth, users, items)
    for start in range(0, len(ratings), _CHUNK):
        block = ratings[start : start + _CHUNK]
        block += spec.noise * rng.standard_normal(len(block), dtype=np.float32)
    np.clip(ratings, *spec.scale, out=ratings)
    table = Ratings(
        users=users,
        items=items,
        ratings=ratings.astype(np.float32, copy=False),
        user_ids=IdMap(tuple(str(u) for u in range(spec.n_users)), kind="user"),
        item_ids=IdMap(tuple(str(i) for i in range(spec.n_items)), kind="item"),
        scale=spec.scale,
        name=f"synthetic-{spec.n_ratings}",
    )
    return Synthetic(table, truth)


def capped_power_law(n: int, exponent: float, total: int, cap: float, rng: np.random.Generator) -> np.ndarray:
    """Sampling probabilities ``~ rank^-exponent`` over a random order of ``n`` indices.

    Capped so that no index expects more than ``cap`` of ``total`` draws: the excess of capped
    indices is spread over the others in proportion to their weight (water filling).
    """
    weights = np.arange(1, n + 1, dtype=np.float64) ** -exponent
    weights /= weights.sum()
    limit = min(cap / total, 1.0)
    if limit * n < 1.0:
        raise ValueError("the cap leaves too little room for the requested number of ratings")
    for _ in range(100):
        over = weights > limit * (1 + 1e-9)
        if not over.any():
            break
        free = ~over & (weights < limit)
        excess = (weights[over] - limit).sum()
        weights[over] = limit
        weights[free] += excess * weights[free] / weights[free].sum()
    return weights[rng.permutation(n)]


def _draw_truth(spec: SyntheticSpec, rng: np.random.Generator) -> PlantedTruth:
    factor_std = (spec.signal**2 / spec.rank) ** 0.25
    return PlantedTruth(
        global_mean=spec.global_mean,
        user_bias=(spec.user_bias_std * rng.standard_normal(spec.n_users)).astype(np.float32),
        item_bias=(spec.item_bias_std * rng.standard_normal(spec.n_items)).astype(np.float32),
        user_factors=(factor_std * rng.standard_normal((spec.n_users, spec.rank))).astype(np.float32),
        item_factors=(factor_std * rng.standard_normal((spec.n_items, spec.rank))).astype(np.float32),
        scale=spec.scale,
    )


def _raw_chunked(truth: PlantedTruth, users: np.ndarray, items: np.ndarray) -> np.ndarray:
    out = np.empty(len(users), dtype=np.float32)
    for start in range(0, len(users), _CHUNK):
        out[start : start + _CHUNK] = truth._raw(users[start : start + _CHUNK], items[start : start + _CHUNK])
    return out


def _distinct_pairs(
    user_weights: np.ndarray, item_weights: np.ndarray, n: int, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """``n`` distinct (user, item) pairs drawn from the product law, in random order (int32 arrays)."""
    n_items = len(item_weights)
    user_cdf, item_cdf = np.cumsum(user_weights), np.cumsum(item_weights)
    keys = np.empty(0, dtype=np.int64)
    while len(keys) < n:
        draw = int((n - len(keys)) * 1.1) + 16
        users = np.searchsorted(user_cdf, rng.random(draw) * user_cdf[-1], side="right")
        items = np.searchsorted(item_cdf, rng.random(draw) * item_cdf[-1], side="right")
        users = np.minimum(users, len(user_weights) - 1)
        items = np.minimum(items, n_items - 1)
        new = users.astype(np.int64) * n_items + items
        new = new[np.sort(np.unique(new, return_index=True)[1])]  # first draw of each key, in draw order
        new = new[~np.isin(new, keys, assume_unique=True)]
        keys = np.concatenate([keys, new[: n - len(keys)]])
    keys = keys[rng.permutation(len(keys))]
    return (keys // n_items).astype(np.int32), (keys % n_items).astype(np.int32)
