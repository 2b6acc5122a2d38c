"""Where given items land in users' rankings: ranks among unseen items, hit ratio of one target."""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
import torch

from embrec.recommend.ranking import exclude
from embrec.recommend.recommender import Recommender

_CHUNK = 256


def item_ranks(recommender: Recommender, users: np.ndarray, items: np.ndarray) -> np.ndarray:
    """Rank of each of ``items`` in each user's list of unseen items: (len(users), len(items)), float.

    Rank 1 is the top; ties count against the item (``1 + #items scored strictly higher``).
    An item the user rated in training has no rank (``nan``).
    """
    users = np.asarray(users, dtype=np.int64)
    items = np.asarray(items, dtype=np.int64)
    out = np.full((len(users), len(items)), np.nan)
    for start in range(0, len(users), _CHUNK):
        block = users[start : start + _CHUNK]
        scores = exclude(recommender.score_users(block), block, recommender.seen)  # (batch, n_items)
        picked = scores[:, torch.from_numpy(items)]  # (batch, m)
        higher = (scores[:, None, :] > picked[:, :, None]).sum(dim=2)  # (batch, m)
        ranks = (higher + 1).double().numpy()
        ranks[~np.isfinite(picked.numpy())] = np.nan
        out[start : start + len(block)] = ranks
    return out


@dataclass(frozen=True)
class TargetReach:
    """How far one item reaches into the lists of users who have not rated it.

    ``hit_ratio``: share of those users with the item in their top ``k``; ``mean_rank`` and
    ``median_rank``: its rank among their unseen items (1 = top).
    """

    item: int
    k: int
    users: int
    hit_ratio: float
    mean_rank: float
    median_rank: float

    def to_json(self) -> dict[str, float | int]:
        return asdict(self)


def target_reach(recommender: Recommender, item: int, users: np.ndarray, k: int = 10) -> TargetReach:
    """:class:`TargetReach` of ``item`` over ``users``, skipping those who rated it in training."""
    ranks = item_ranks(recommender, users, np.array([item]))[:, 0]
    ranks = ranks[np.isfinite(ranks)]
    if len(ranks) == 0:
        return TargetReach(item, k, 0, 0.0, float("nan"), float("nan"))
    return TargetReach(item, k, len(ranks), float((ranks <= k).mean()), float(ranks.mean()), float(np.median(ranks)))
