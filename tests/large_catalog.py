"""A synthetic dot model over a catalog large enough for an approximate index (20,000 items).

Item and user factors are drawn around shared taste clusters, like learned embeddings, and scaled
so logits stay within a few units (the output sigmoid does not saturate, so predictions keep the
order of the inner products). Every user has rated ``SEEN_PER_USER`` items, among them the best
few by the model, so excluding them changes the lists.
"""

from __future__ import annotations

import numpy as np
import torch
from scipy import sparse

from embrec.data.ids import IdMap
from embrec.models import ModelConfig
from embrec.models.dot import DotProductBias
from embrec.recommend.ranking import seen_matrix
from embrec.recommend.recommender import Recommender

N_USERS, N_ITEMS, FACTORS, CLUSTERS = 400, 20_000, 16, 64
SEEN_PER_USER = 30
Y_RANGE = (0.5, 5.5)


def clustered_dot_model(seed: int = 0) -> DotProductBias:
    """A :class:`DotProductBias` with clustered factors and spread item biases."""
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(CLUSTERS, FACTORS))
    items = centres[rng.integers(0, CLUSTERS, N_ITEMS)] + 0.7 * rng.normal(size=(N_ITEMS, FACTORS))
    items *= rng.lognormal(0.0, 0.3, size=(N_ITEMS, 1)) / np.sqrt(FACTORS)
    users = (centres[rng.integers(0, CLUSTERS, N_USERS)] + 0.7 * rng.normal(size=(N_USERS, FACTORS))) / np.sqrt(FACTORS)
    model = DotProductBias(N_USERS, N_ITEMS, FACTORS, Y_RANGE)
    with torch.no_grad():
        model.user_factors.weight.copy_(torch.from_numpy(users))
        model.item_factors.weight.copy_(torch.from_numpy(items))
        model.user_bias.weight.copy_(torch.from_numpy(rng.normal(0.0, 0.3, size=(N_USERS, 1))))
        model.item_bias.weight.copy_(torch.from_numpy(rng.normal(0.0, 0.5, size=(N_ITEMS, 1))))
        model.global_bias.fill_(0.2)
    return model.eval()


def large_recommender(seed: int = 0) -> Recommender:
    """A Recommender over the clustered model; each user has seen 10 of their best 20 items and 20 at random."""
    model = clustered_dot_model(seed)
    rng = np.random.default_rng(seed + 1)
    with torch.inference_mode():
        best = torch.topk(model.score_all(torch.arange(N_USERS)), 20, dim=1).indices.numpy()
    users, items = [], []
    for user in range(N_USERS):
        chosen = np.union1d(best[user, ::2], rng.choice(N_ITEMS, SEEN_PER_USER - 10, replace=False))
        users += [user] * len(chosen)
        items += chosen.tolist()
    seen: sparse.csr_matrix = seen_matrix(np.array(users), np.array(items), N_USERS, N_ITEMS)
    return Recommender(
        model=model,
        model_config=ModelConfig(kind="dot", factors=FACTORS, y_range=Y_RANGE),
        user_ids=IdMap(tuple(f"u{u}" for u in range(N_USERS)), "user"),
        item_ids=IdMap(tuple(f"i{i}" for i in range(N_ITEMS)), "item"),
        seen=seen,
        item_popularity=np.asarray(seen.sum(axis=0)).ravel().astype(np.int64),
        scale=(1.0, 5.0),
    )
