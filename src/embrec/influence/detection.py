"""Flag anomalous profiles: per-profile statistics, target-item analysis, near-duplicate clusters.

Three steps, each with a reason:

1. **Profile statistics** (Chirita et al. 2005; Williams et al. 2007). For every user with
   ratings: ``log_popularity`` = mean ``log(1 + n_i)`` of the items rated below the top of the
   scale (``n_i`` the item's rating count: filler drawn from the catalog at random is far more
   obscure than what people actually watch; the top-rated items are left out because they are
   what an attack pushes or, in a bandwagon attack, the crowd favourites it hides behind; a
   profile with only top ratings uses them all), ``rdma`` = mean ``|r_ui - mean_i| / n_i``
   (rating deviation from the item means, weighted towards little-rated items: fakes disagree
   where few voices are heard) and ``top_share`` = share of ratings at the top of the scale.
   Each statistic becomes a robust z score ``(x - median) / (1.4826 * MAD)`` over all
   profiles; a profile's ``suspicion`` is its largest z in the suspicious direction (low
   popularity, high deviation, many top ratings). Profiles with ``suspicion >= threshold`` are
   *candidates*.
2. **Target-item analysis** (after Zhou et al. 2016, SVM-TIA). A push attack needs many
   profiles giving one item the top rating. With ``C`` candidates among ``U`` active users and
   ``t_i`` users top-rating item ``i``, chance alone would have ``lambda_i = C * t_i / U``
   candidates among them; the item is a *target* when the observed count ``c_i`` is at least
   ``min_group``, a burst beyond chance: ``P(Poisson(lambda_i) >= c_i) < target_alpha / n_items``
   (a Bonferroni bound over the catalog), and candidates make at least ``target_share`` of the
   item's top raters (so that the crowd favourites a bandwagon attack rides along with are not
   taken for targets). Candidates that top-rate a target are flagged; a lone odd user is not an
   attack and stays unflagged. A push on an item that many real users already top-rate is not
   seen by this step.
3. **Near-duplicate clusters.** Profiles are compared as sets of (item, rating) pairs (ratings
   rounded to the scale's step): ``similarity = |A & B| / sqrt(|A| |B|)`` (cosine of the binary
   vectors, 1 for identical profiles). A profile with at least ``min_group - 1`` others at
   ``similarity >= duplicate_similarity`` belongs to a tight cluster and is flagged.

Cost: linear in the ratings for steps 1-2; step 3 multiplies sparse matrices in blocks of users
(``O(n_users * ratings per item)``), fine up to a few hundred thousand profiles.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import sparse, stats

from embrec.data.ratings import Ratings
from embrec.influence.attacks import item_moments, rating_step

STATISTICS = ("log_popularity", "rdma", "top_share")
_DIRECTION = {"log_popularity": -1.0, "rdma": 1.0, "top_share": 1.0}
_BLOCK = 2048


@dataclass(frozen=True)
class DetectionConfig:
    """Thresholds of :func:`detect` (see the module docstring)."""

    threshold: float = 3.5
    min_group: int = 3
    target_alpha: float = 0.01
    target_share: float = 0.5
    duplicate_similarity: float = 0.9

    def __post_init__(self) -> None:
        if self.min_group < 2:
            raise ValueError("min_group must be at least 2: a group has several profiles")
        if not 0.0 < self.target_alpha < 1.0:
            raise ValueError("target_alpha must be in (0, 1)")
        if not 0.0 < self.target_share <= 1.0 or not 0.0 < self.duplicate_similarity <= 1.0:
            raise ValueError("target_share and duplicate_similarity must be in (0, 1]")


@dataclass(frozen=True)
class Detection:
    """Per-user results (arrays over the data's user indices) and the suspected targets."""

    statistics: pd.DataFrame
    suspicion: np.ndarray
    candidates: np.ndarray
    duplicates: np.ndarray
    flagged: np.ndarray
    targets: np.ndarray

    @property
    def flagged_users(self) -> np.ndarray:
        return np.flatnonzero(self.flagged)


def detect(ratings: Ratings, config: DetectionConfig | None = None) -> Detection:
    """Run the three steps on ``ratings`` (users without ratings are never flagged)."""
    config = config or DetectionConfig()
    stats = profile_statistics(ratings)
    active = ratings.user_counts() > 0
    suspicion = np.zeros(ratings.n_users)
    for name in STATISTICS:
        z = robust_z(stats[name].to_numpy(), active)
        suspicion = np.maximum(suspicion, _DIRECTION[name] * z)
    suspicion[~active] = 0.0
    candidates = active & (suspicion >= config.threshold)
    targets = target_items(ratings, candidates, config)
    top = ratings.ratings >= ratings.scale[1]
    on_target = np.zeros(ratings.n_users, dtype=bool)
    on_target[ratings.users[top & np.isin(ratings.items, targets)]] = True
    duplicates = near_duplicate_counts(ratings, config.duplicate_similarity) >= config.min_group - 1
    flagged = (candidates & on_target) | duplicates
    return Detection(stats, suspicion, candidates, duplicates, flagged, targets)


def profile_statistics(ratings: Ratings) -> pd.DataFrame:
    """One row per user index: ``n_ratings`` and the :data:`STATISTICS` (0 for users without ratings)."""
    counts = ratings.item_counts()
    per_user = ratings.user_counts()
    safe = np.maximum(per_user, 1)
    means, _ = item_moments(ratings)
    deviation = np.abs(ratings.ratings - means[ratings.items]) / np.maximum(counts[ratings.items], 1)

    def user_mean(values: np.ndarray) -> np.ndarray:
        sums: np.ndarray = np.bincount(ratings.users, weights=values, minlength=ratings.n_users)
        averaged: np.ndarray = sums / safe
        return averaged

    return pd.DataFrame(
        {
            "n_ratings": per_user,
            "log_popularity": _filler_mean(ratings, np.log1p(counts[ratings.items])),
            "rdma": user_mean(deviation),
            "top_share": user_mean((ratings.ratings >= ratings.scale[1]).astype(np.float64)),
        }
    )


def _filler_mean(ratings: Ratings, values: np.ndarray) -> np.ndarray:
    """Each user's mean of ``values`` (one per rating) over the ratings below the top of the scale,
    or over all their ratings when every one is at the top (0 for users without ratings)."""
    below = ratings.ratings < ratings.scale[1]
    n_below = np.bincount(ratings.users[below], minlength=ratings.n_users)
    n_all = np.bincount(ratings.users, minlength=ratings.n_users)
    sum_below = np.bincount(ratings.users[below], weights=values[below], minlength=ratings.n_users)
    sum_all = np.bincount(ratings.users, weights=values, minlength=ratings.n_users)
    averaged: np.ndarray = np.where(n_below > 0, sum_below / np.maximum(n_below, 1), sum_all / np.maximum(n_all, 1))
    return averaged


def robust_z(values: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """``(x - median) / (1.4826 * MAD)`` with the median and MAD taken over ``values[mask]``.

    A MAD of zero (more than half the values equal) falls back to the standard deviation, and
    to 1 when that is zero too, so the scores stay finite.
    """
    reference = values[mask]
    if len(reference) == 0:
        return np.zeros_like(values, dtype=np.float64)
    median = float(np.median(reference))
    scale = 1.4826 * float(np.median(np.abs(reference - median)))
    if scale <= 0:
        scale = float(reference.std()) or 1.0
    return (values - median) / scale


def target_items(ratings: Ratings, candidates: np.ndarray, config: DetectionConfig) -> np.ndarray:
    """Items top-rated by a burst of candidates: at least ``min_group``, beyond chance (Poisson tail),
    and at least ``target_share`` of the item's top raters."""
    top = ratings.ratings >= ratings.scale[1]
    all_top = np.bincount(ratings.items[top], minlength=ratings.n_items)
    by_candidates = np.bincount(ratings.items[top & candidates[ratings.users]], minlength=ratings.n_items)
    active = max(int((ratings.user_counts() > 0).sum()), 1)
    expected = int(candidates.sum()) * all_top / active
    tail = stats.poisson.sf(by_candidates - 1, np.maximum(expected, 1e-12))  # P(X >= observed)
    burst = tail < config.target_alpha / max(ratings.n_items, 1)
    share = by_candidates / np.maximum(all_top, 1)
    return np.flatnonzero((by_candidates >= config.min_group) & burst & (share >= config.target_share))


def near_duplicate_counts(ratings: Ratings, similarity: float) -> np.ndarray:
    """For each user, how many other users' (item, rating) sets have cosine >= ``similarity`` with theirs."""
    levels = _rating_levels(ratings)
    n_levels = int(levels.max()) + 1 if len(levels) else 1
    columns = ratings.items.astype(np.int64) * n_levels + levels
    pairs = sparse.csr_matrix(
        (np.ones(len(ratings), dtype=np.float64), (ratings.users, columns)),
        shape=(ratings.n_users, ratings.n_items * n_levels),
    )
    pairs.data[:] = 1.0  # a repeated (user, item, rating) counts once
    sizes = np.asarray(pairs.sum(axis=1)).ravel()
    transposed = pairs.T.tocsr()
    counts = np.zeros(ratings.n_users, dtype=np.int64)
    for start in range(0, ratings.n_users, _BLOCK):
        overlap = (pairs[start : start + _BLOCK] @ transposed).tocoo()  # (block, n_users), sparse
        rows = overlap.row + start
        cosine = overlap.data / np.sqrt(np.maximum(sizes[rows] * sizes[overlap.col], 1e-12))
        close = (cosine >= similarity) & (rows != overlap.col)
        counts += np.bincount(rows[close], minlength=ratings.n_users)
    return counts


def _rating_levels(ratings: Ratings) -> np.ndarray:
    """Each rating as an integer level on the data's grid (ten levels over the scale when continuous)."""
    lo, hi = ratings.scale
    step = rating_step(ratings.ratings) or (hi - lo) / 9 or 1.0
    return np.round((ratings.ratings - lo) / step).astype(np.int64)


def precision_recall(flagged: np.ndarray, fake: np.ndarray) -> tuple[float, float]:
    """Precision and recall of boolean ``flagged`` against boolean ``fake`` (both over users).

    Precision is 1 when nothing is flagged (no false alarm), recall 1 when nothing is fake.
    """
    true_positive = int((flagged & fake).sum())
    precision = true_positive / int(flagged.sum()) if flagged.any() else 1.0
    recall = true_positive / int(fake.sum()) if fake.any() else 1.0
    return precision, recall
