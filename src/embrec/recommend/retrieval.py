"""Top-N retrieval over a factor model: exact, or approximate for large catalogs.

For the dot model, a user's ranking of items is the ranking of ``p_u . q_i + b_i`` (the global
offset and ``b_u`` are constant per user and the output squashing is monotone); the same holds
for ``bmf``, the dot model's tables with a clip in place of the squashing. Folding the item
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

from embrec.models.dot import BiasedFactors

APPROXIMATE_FROM_ITEMS = 100_000  # below this many items exact search is fast enough


def supports_mips(model: nn.Module) -> bool:
    """Whether the model ranks a user's items by ``p_u . q_i + b_i``: ``dot`` and ``bmf``. (Other
    models have factor tables too, e.g. the MLP's, but do not score by their inner product.)"""
    return isinstance(model, BiasedFactors)


def mips_vectors(model: nn.Module) -> tuple[np.ndarray, np.ndarray]:
    """(queries (n_users, f + 1), items (n_items, f + 1)) whose inner products rank like the model.

    Only for the dot-shaped models (:func:`supports_mips`).
    """
    return mips_queries(model, np.arange(_table(model, "user_factors").num_embeddings)), mips_items(model)


def mips_items(model: nn.Module) -> np.ndarray:
    """``[q_i, b_i]`` for every item: (n_items, f + 1) float32."""
    items, item_bias = (_table(model, name).weight.detach().numpy() for name in ("item_factors", "item_bias"))
    return np.hstack([items, item_bias.reshape(-1, 1)]).astype(np.float32)


def mips_queries(model: nn.Module, users: np.ndarray) -> np.ndarray:
    """``[p_u, 1]`` for the given user indices: (len(users), f + 1) float32."""
    rows = _table(model, "user_factors").weight.detach().numpy()[np.asarray(users, dtype=np.int64)]
    return np.hstack([rows, np.ones((len(rows), 1), dtype=np.float32)]).astype(np.float32)


def _table(model: nn.Module, name: str) -> nn.Embedding:
    if not supports_mips(model):
        raise ValueError(f"MIPS retrieval needs a dot model, not {type(model).__name__}")
    table = getattr(model, name)
    assert isinstance(table, nn.Embedding)
    return table


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
        if self.index.nprobe != self.nprobe:
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
    """Train and fill an IVF index; ``n_lists`` defaults to ``4 * sqrt(n_items)`` (at most one list
    per 39 items, the fewest points per centroid faiss's k-means accepts without a warning).

    ``nprobe`` (lists scanned per query) trades speed for recall; the default, ``n_lists / 32``,
    gave recall@10 >= 0.95 on clustered factor data (``benchmarks/retrieval.py``); :func:`tune_nprobe`
    chooses it from sample queries instead.
    """
    faiss = import_faiss()
    items = np.ascontiguousarray(items, dtype=np.float32)
    n_lists = n_lists or max(1, min(int(4 * np.sqrt(len(items))), len(items) // 39))
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


def tune_nprobe(
    index: ApproximateIndex,
    queries: np.ndarray,
    items: np.ndarray,
    target: float = 0.97,
    k: int = 10,
    excluded: sparse.csr_matrix | None = None,
) -> int:
    """Set ``index.nprobe`` to the smallest of 1, 2, 3, 4, 6, 8, 12, ... (steps of about 1.5x) whose
    recall@``k`` on ``queries`` against exact search reaches ``target`` (all lists, an exact scan,
    if none does); returns it.

    With ``excluded`` (len(queries), n_items), both searches leave out each row's items, as top-N
    of unseen items does: the true top-k then lies deeper in the ranking, where recall is lower.
    """
    if excluded is None:
        excluded = sparse.csr_matrix((len(queries), len(items)), dtype=bool)
    longest = int(np.diff(excluded.indptr).max(initial=0))
    deep, _ = exact_search(queries, items, min(k + longest, len(items)))
    exact = np.array([_without(row, excluded, r)[:k] for r, row in enumerate(deep)])
    n_lists = int(index.index.nlist)
    grid = sorted({2**e for e in range(11)} | {3 * 2**e for e in range(10)})
    for nprobe in [p for p in grid if p < n_lists] + [n_lists]:
        index.nprobe = nprobe
        if recall_at_k(top_n_with_index(index, queries, excluded, k)[0], exact) >= target:
            break
    return index.nprobe


def _without(found: np.ndarray, excluded: sparse.csr_matrix, row: int) -> np.ndarray:
    skip = excluded.indices[excluded.indptr[row] : excluded.indptr[row + 1]]
    kept: np.ndarray = found[(found >= 0) & ~np.isin(found, skip)]
    return kept


def recall_at_k(found: np.ndarray, exact: np.ndarray) -> float:
    """Mean share of each row of ``exact`` (the true top-k) that appears in the same row of ``found``."""
    hits = [len(np.intersect1d(f, e)) / exact.shape[1] for f, e in zip(found, exact, strict=True)]
    return float(np.mean(hits)) if hits else 1.0


def import_faiss() -> Any:
    """The faiss module (an optional dependency), or an ImportError that names the extra to install."""
    try:
        import faiss
    except ImportError:
        raise ImportError("approximate retrieval needs faiss: pip install 'embrec[ann]'") from None
    return faiss


def top_n_with_index(
    index: ApproximateIndex, queries: np.ndarray, excluded: sparse.csr_matrix, k: int
) -> tuple[np.ndarray, np.ndarray]:
    """Approximate top-``k`` per query without the items of the same row of ``excluded``
    (n_queries, n_items): (indices, inner products), each (n_queries, min(k, n_items)), best
    first, -1 where the index found no more. Over-fetches by the longest exclusion, then filters.
    """
    width = min(k, index.n_items)
    fetch = width + int(np.diff(excluded.indptr).max(initial=0))
    indices, scores = index.search(queries, min(fetch, index.n_items))
    out_i = np.full((len(queries), width), -1, dtype=np.int64)
    out_s = np.full((len(queries), width), -np.inf, dtype=np.float32)
    for row in range(len(queries)):
        skip = excluded.indices[excluded.indptr[row] : excluded.indptr[row + 1]]
        keep = (indices[row] >= 0) & ~np.isin(indices[row], skip)
        chosen_i, chosen_s = indices[row][keep][:width], scores[row][keep][:width]
        out_i[row, : len(chosen_i)], out_s[row, : len(chosen_s)] = chosen_i, chosen_s
    return out_i, out_s
