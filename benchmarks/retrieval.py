"""Approximate vs exact top-10 retrieval on a large synthetic catalog, raw and through the Recommender.

Run: ``.venv/bin/python benchmarks/retrieval.py [--items 1000000] [--factors 64] [--queries 1000]``
(needs the ``ann`` extra: faiss-cpu). A dot model gets factors clustered like learned embeddings
(a mixture of Gaussian taste clusters, varying norms) and spread item biases; each user has rated
50 items, 10 of them among their true top 30. The Recommender builds its index the way
``embrec recommend`` does (``nprobe`` tuned on 256 other users), then the same test users are
served exactly and approximately. Prints the build time, the index's size and the process's peak
memory, recall@10 against exact search and queries per second of both, all from one run; exits
non-zero when recall@10 < 0.95 or the index is not faster.
"""

from __future__ import annotations

import argparse
import resource
import sys
import time
from collections.abc import Callable
from typing import TypeVar

import numpy as np
import torch
from rich.console import Console
from rich.table import Table

from embrec.data.ids import IdMap
from embrec.models import ModelConfig
from embrec.models.dot import DotProductBias
from embrec.recommend.approximate import TUNE_USERS, Retrieval, tuning_users
from embrec.recommend.ranking import seen_matrix
from embrec.recommend.recommender import Recommender
from embrec.recommend.retrieval import exact_search, import_faiss, mips_items, mips_queries, recall_at_k

SEEN, SEEN_FROM_TOP = 50, 10
T = TypeVar("T")


def synthetic_model(n_users: int, n_items: int, factors: int, seed: int) -> DotProductBias:
    """A dot model whose factors cluster like learned ones, with spread item biases."""
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(256, factors))
    norms = rng.lognormal(0.0, 0.3, size=(n_items, 1))
    items = (centres[rng.integers(0, 256, n_items)] + rng.normal(size=(n_items, factors))) * norms / np.sqrt(factors)
    users = (centres[rng.integers(0, 256, n_users)] + rng.normal(size=(n_users, factors))) / np.sqrt(factors)
    model = DotProductBias(n_users, n_items, factors, (0.5, 5.5))
    with torch.no_grad():
        model.user_factors.weight.copy_(torch.from_numpy(users.astype(np.float32)))
        model.item_factors.weight.copy_(torch.from_numpy(items.astype(np.float32)))
        model.item_bias.weight.copy_(torch.from_numpy(rng.normal(0.0, 0.5, size=(n_items, 1)).astype(np.float32)))
    return model.eval()


def synthetic_recommender(n_users: int, n_items: int, factors: int, seed: int) -> Recommender:
    model = synthetic_model(n_users, n_items, factors, seed)
    rng = np.random.default_rng(seed + 1)
    queries = mips_queries(model, np.arange(n_users))
    best, _ = exact_search(queries, mips_items(model), 30)
    seen_items = [
        np.union1d(rng.choice(best[u], SEEN_FROM_TOP, replace=False), rng.choice(n_items, SEEN - SEEN_FROM_TOP))
        for u in range(n_users)
    ]
    seen_users = np.repeat(np.arange(n_users), [len(s) for s in seen_items])
    seen = seen_matrix(seen_users, np.concatenate(seen_items), n_users, n_items)
    return Recommender(
        model=model,
        model_config=ModelConfig(kind="dot", factors=factors, y_range=(0.5, 5.5)),
        user_ids=IdMap(tuple(str(u) for u in range(n_users)), "user"),
        item_ids=IdMap(tuple(str(i) for i in range(n_items)), "item"),
        seen=seen,
        item_popularity=np.asarray(seen.sum(axis=0)).ravel().astype(np.int64),
        scale=(1.0, 5.0),
    )


def timed(call: Callable[[], T]) -> tuple[T, float]:
    start = time.perf_counter()
    result = call()
    return result, time.perf_counter() - start


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--items", type=int, default=1_000_000)
    parser.add_argument("--factors", type=int, default=64)
    parser.add_argument("--queries", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    n_users = args.queries + TUNE_USERS
    recommender = synthetic_recommender(n_users, args.items, args.factors, args.seed)
    recommender.retrieval = Retrieval(seed=args.seed)
    test = np.setdiff1d(np.arange(n_users), tuning_users(n_users, args.seed))  # never the users nprobe was tuned on
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**10

    index, build_s = timed(lambda: recommender.retrieval.index(recommender.model, recommender.seen))
    index_mb = len(import_faiss().serialize_index(index.index)) / 2**20
    queries = mips_queries(recommender.model, test)
    items = mips_items(recommender.model)
    (raw_exact, _), raw_exact_s = timed(lambda: exact_search(queries, items, 10))
    (raw_found, _), raw_found_s = timed(lambda: index.search(queries, 10))
    (lists_exact, _), exact_s = timed(lambda: recommender.top_n(test, 10, exact=True))
    (lists_found, _), found_s = timed(lambda: recommender.top_n(test, 10, exact=False))
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**10

    raw_recall, recall = recall_at_k(raw_found, raw_exact), recall_at_k(lists_found, lists_exact)
    qps = {name: len(test) / s for name, s in [("raw exact", raw_exact_s), ("raw index", raw_found_s),
                                              ("exact", exact_s), ("index", found_s)]}  # fmt: skip
    title = f"top-10 retrieval, {args.items:,} items x {args.factors} factors, {len(test)} test users"
    table = Table(title=title)
    for column in ("path", "method", "recall@10", "queries/s", "speed-up"):
        table.add_column(column, justify="right")
    nlist, nprobe = index.index.nlist, index.nprobe
    ivf = f"IVF-flat, {nlist} lists, nprobe {nprobe}"
    table.add_row("vectors", "exact (matrix product + top-k)", "1.000", f"{qps['raw exact']:,.0f}", "1.0")
    table.add_row("vectors", ivf, f"{raw_recall:.3f}", f"{qps['raw index']:,.0f}",
                  f"{qps['raw index'] / qps['raw exact']:.1f}")  # fmt: skip
    table.add_row("Recommender.top_n", "exact (seen excluded)", "1.000", f"{qps['exact']:,.0f}", "1.0")
    table.add_row("Recommender.top_n", ivf + " (seen excluded)", f"{recall:.3f}", f"{qps['index']:,.0f}",
                  f"{qps['index'] / qps['exact']:.1f}")  # fmt: skip
    console = Console()
    console.print(table)
    console.print(
        f"index build {build_s:.1f} s (k-means, adding {args.items:,} items, tuning nprobe on {TUNE_USERS} users); "
        f"index {index_mb:.0f} MB; process peak memory {peak_mb:,.0f} MB ({rss_before:,.0f} MB before the index)"
    )
    ok = min(raw_recall, recall) >= 0.95 and qps["index"] > qps["exact"] and qps["raw index"] > qps["raw exact"]
    print("targets: recall@10 >= 0.95 and faster than exact:", "met" if ok else "MISSED")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
