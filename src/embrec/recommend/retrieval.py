"""Top-N retrieval over a factor model: exact, or approximate for large catalogs.

For the dot model, a user's ranking of items is the ranking of ``p_u . q_i + b_i`` (the global
offset and ``b_u`` are constant per user and the output squashing is monotone). Folding the item
bias into the vectors, ``[p_u, 1] . [q_i, b_i]``, makes top-N a maximum-inner-product search (MIPS).
The approximate index turns MIPS into nearest-neighbour search (Bachrach et al. 2014): items get an
extra coordinate ``sqrt(M^2 - |x_i|^2)`` and queries a 0, so the smallest Euclidean distance is the
largest inner product; an inverted-file index (faiss ``IndexIVFFlat``) then scans only the
``nprobe`` closest of ``n_lists`` clusters.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from scipy import sparse
from torch import nn

APPROXIMATE_FROM_ITEMS = 100_000  # below this many items exact search is fast enough


def mips_vectors(model: nn.Module) -> tuple[np.ndarray, np.ndarray]:
    """(queries (n_users, f + 1), items (n_items, f + 1)) whose inner products rank like the model.

    Only for models with ``user_factors``/``item_factors`` tables and an ``item_bias`` (``dot``).
    """
    tables = [getattr(model, name, None) for name in ("user_factors", "item_factors", "item_bias")]
    if not all(isinstance(t, nn.Embedding) for t in tables):
        raise ValueError("MIPS retrieval needs a model with user/item factors and item biases (dot)")
    users, items, item_bias = (t.weight.detach().numpy().astype(np.float32) for t in tables)  # type: ignore[union-attr]
    queries = np.hstack([users, np.ones((len(users), 1), dtype=np.float32)])
    return queries, np.hstack([items, item_bias.reshape(-1, 1)])


def exact_search(queries: np.ndarray, items: np.ndarray, k: int, chunk: int = 256) -> tuple[np.ndarray, np.ndarray]:
    """Exact top-``k`` by inner product: (indices, scores), each (n_queries, k), best first."""
    item_t = torch.from_numpy(np.ascontiguousarray(items, dtype=np.float32))
    out_i, out_s = [], []
    with torch.inference_mode():
        for start in range(0, len(queries), chunk):
            block = torch.from_numpy(np.ascontiguousarray(queries[start : start + chunk], dtype=np.float32))
            scores, idx = torch.topk(block @ item_t.T, min(k, len(items)), dim=1)
            out_i.append(idx.numpy())
            out_s.append(scores.numpy())
    return np.concatenate(out_i), np.concatenate(out_s)


@dataclass
class ApproximateIndex:
    """A faiss inverted-file index over MIPS-augmented item vectors."""

    index: Any  # faiss.IndexIVFFlat; faiss ships no type information
    max_norm: float
    nprobe: int

    def search(self, queries: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """Approximate top-``k`` by inner product: (indices, inner products), -1 where none found."""
        self.index.nprobe = self.nprobe
        augmented = np.hstack([queries, np.zeros((len(queries), 1), dtype=np.float32)]).astype(np.float32)
        distances, indices = self.index.search(np.ascontiguousarray(augmented), k)
        query_sq = (queries.astype(np.float64) ** 2).sum(axis=1, keepdims=True)
        # |q - x|^2 = |q|^2 + M^2 - 2 q.x  =>  q.x = (|q|^2 + M^2 - d) / 2
        return indices, ((query_sq + self.max_norm**2 - distances) / 2).astype(np.float32)

    @property
    def n_items(self) -> int:
        return int(self.index.ntotal)


def build_index(
    items: np.ndarray, n_lists: int | None = None, nprobe: int | None = None, seed: int = 0
) -> ApproximateIndex:
    """Train and fill an IVF index; ``n_lists`` defaults to ``4 * sqrt(n_items)``.

    ``nprobe`` (lists scanned per query) trades speed for recall; the default, ``n_lists / 32``,
    gave recall@10 >= 0.95 on clustered factor data (``benchmarks/retrieval.py``).
    """
    import faiss  # optional dependency: the `ann` extra

    items = np.ascontiguousarray(items, dtype=np.float32)
    n_lists = n_lists or max(1, int(4 * np.sqrt(len(items))))
    norms_sq = (items.astype(np.float64) ** 2).sum(axis=1)
    max_norm = float(np.sqrt(norms_sq.max()))
    extra = np.sqrt(np.maximum(max_norm**2 - norms_sq, 0.0)).astype(np.float32)[:, None]
    augmented = np.ascontiguousarray(np.hstack([items, extra]))
    quantizer = faiss.IndexFlatL2(augmented.shape[1])
    index = faiss.IndexIVFFlat(quantizer, augmented.shape[1], n_lists, faiss.METRIC_L2)
    # k-means on a sample (64 points per list, 10 iterations) keeps the build in minutes at 1e7 items
    sample = np.random.default_rng(seed).permutation(len(augmented))[: min(len(augmented), 64 * n_lists)]
    index.cp.seed = seed
    index.cp.niter = 10
    index.train(augmented[sample])
    index.add(augmented)
    return ApproximateIndex(index, max_norm, nprobe or max(1, n_lists // 32))


def top_n_with_index(
    index: ApproximateIndex, queries: np.ndarray, users: np.ndarray, seen: sparse.csr_matrix, k: int
) -> tuple[np.ndarray, np.ndarray]:
    """Approximate top-``k`` per user with the user's seen items removed (over-fetch, then filter)."""
    seen_rows = seen[users]
    fetch = k + int(np.diff(seen_rows.indptr).max(initial=0))
    indices, scores = index.search(queries[users], min(fetch, index.n_items))
    out_i = np.full((len(users), k), -1, dtype=np.int64)
    out_s = np.full((len(users), k), -np.inf, dtype=np.float32)
    for row in range(len(users)):
        seen_items = seen_rows.indices[seen_rows.indptr[row] : seen_rows.indptr[row + 1]]
        keep = (indices[row] >= 0) & ~np.isin(indices[row], seen_items)
        chosen_i, chosen_s = indices[row][keep][:k], scores[row][keep][:k]
        out_i[row, : len(chosen_i)], out_s[row, : len(chosen_s)] = chosen_i, chosen_s
    return out_i, out_s
