"""When a Recommender searches an approximate index instead of scoring every item, and that index.

:class:`Retrieval` decides per call (exact below ``from_items`` items, approximate from there for
dot models when faiss is installed, or as the caller overrides), builds the index lazily on first
use and keeps it. :class:`IndexFile` keeps a built index next to the model directory's weights:
``retrieval.faiss`` (faiss's own binary format, no pickle) and ``retrieval.json``, which names the
SHA-256 of the weights it was built from and of the index file itself. A file that names other
weights, or whose bytes changed, is stale: it is rebuilt, never searched.
"""

from __future__ import annotations

import json
import logging
import os
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from scipy import sparse
from torch import nn

from embrec.data.files import sha256_file, temp_path
from embrec.recommend.retrieval import (
    APPROXIMATE_FROM_ITEMS,
    ApproximateIndex,
    build_index,
    import_faiss,
    mips_items,
    mips_queries,
    supports_mips,
    tune_nprobe,
)

log = logging.getLogger(__name__)

INDEX_FILE = "retrieval.faiss"
SIDECAR = "retrieval.json"
SIDECAR_FORMAT = 1
TUNE_USERS = 256  # users whose exact top-10 sets nprobe when an index is built
TARGET_RECALL = 0.97  # on those users; the bar is 0.95 on held-out queries


@dataclass(frozen=True)
class IndexFile:
    """The saved index of one model directory's weights (``weights_sha256``, from its manifest)."""

    directory: Path
    weights_sha256: str

    def read(self, n_items: int) -> ApproximateIndex | None:
        """The saved index if it was built from these weights over ``n_items`` items and its bytes
        are intact; None (with the reason logged) when missing, stale or unreadable."""
        sidecar, path = self.directory / SIDECAR, self.directory / INDEX_FILE
        if not sidecar.is_file() or not path.is_file():
            return None
        try:
            meta = json.loads(sidecar.read_text(encoding="utf-8"))
            problem = self._problem(meta, path, n_items)
            if problem is None:
                index = import_faiss().read_index(str(path))
                return ApproximateIndex(index, float(meta["max_norm"]), int(meta["nprobe"]))
        except (OSError, ValueError, KeyError, TypeError, RuntimeError) as exc:  # faiss raises RuntimeError
            problem = f"unreadable ({exc})"
        log.info("%s: %s is %s; rebuilding it", self.directory, INDEX_FILE, problem)
        return None

    def _problem(self, meta: dict[str, Any], path: Path, n_items: int) -> str | None:
        if meta.get("format") != SIDECAR_FORMAT or meta.get("weights_sha256") != self.weights_sha256:
            return "stale (built from other weights)"
        if meta.get("n_items") != n_items:
            return f"stale (built over {meta.get('n_items')} items, the model has {n_items})"
        if meta.get("index_sha256") != sha256_file(path):
            return "corrupt (its bytes do not match retrieval.json)"
        return None

    def write(self, index: ApproximateIndex) -> None:
        """Write the index and its sidecar, each replaced atomically (index first, so a reader
        between the two sees a sidecar that does not match and rebuilds)."""
        faiss = import_faiss()
        index_tmp = temp_path(self.directory, INDEX_FILE)
        sidecar_tmp = index_tmp.with_name(f".{SIDECAR}.{index_tmp.name}")
        try:
            faiss.write_index(index.index, str(index_tmp))
            meta = {
                "format": SIDECAR_FORMAT,
                "weights_sha256": self.weights_sha256,
                "index_sha256": sha256_file(index_tmp),
                "n_items": index.n_items,
                "n_lists": int(index.index.nlist),
                "nprobe": index.nprobe,
                "max_norm": index.max_norm,
                "faiss": str(faiss.__version__),
            }
            sidecar_tmp.write_text(json.dumps(meta, indent=1) + "\n", encoding="utf-8")
            os.replace(index_tmp, self.directory / INDEX_FILE)
            os.replace(sidecar_tmp, self.directory / SIDECAR)
        finally:
            index_tmp.unlink(missing_ok=True)
            sidecar_tmp.unlink(missing_ok=True)


@dataclass
class Retrieval:
    """Exact or approximate top-N for one model, and the approximate index once built.

    ``from_items``: catalogs this large search the index unless told otherwise. ``index_file``:
    where a saved index is read from (and written to when ``save``). The index is built for the
    model it is first asked for and kept; a model changed in place afterwards needs a fresh
    ``Retrieval``.
    """

    from_items: int = APPROXIMATE_FROM_ITEMS
    index_file: IndexFile | None = None
    save: bool = False
    seed: int = 0
    _index: ApproximateIndex | None = field(default=None, init=False, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, init=False, repr=False)
    _warned: bool = field(default=False, init=False, repr=False)

    def use_index(self, model: nn.Module, n_items: int, exact: bool | None = None) -> bool:
        """Whether top-N searches the index: ``exact`` True/False forces exact/approximate
        (approximate refused with the reason when impossible); None decides by catalog size,
        falling back to exact, with one warning, for models or installs that cannot."""
        if exact is not None:
            if not exact:
                self._check_possible(model)
            return not exact
        if n_items < self.from_items:
            return False
        try:
            self._check_possible(model)
        except ValueError as exc:
            if not self._warned:
                log.warning("%s; scoring all %d items exactly", exc, n_items)
                self._warned = True
            return False
        return True

    @staticmethod
    def _check_possible(model: nn.Module) -> None:
        if not supports_mips(model):
            raise ValueError(
                f"approximate retrieval needs a dot model (inner-product scores), not {type(model).__name__}"
            )
        try:
            import_faiss()
        except ImportError as exc:
            raise ValueError(str(exc)) from None

    @property
    def built(self) -> bool:
        """Whether an index is held (built or read)."""
        return self._index is not None

    def index(self, model: nn.Module, seen: sparse.csr_matrix | None = None) -> ApproximateIndex:
        """The model's index: kept, else read from ``index_file`` when current, else built (and
        saved); a new index's ``nprobe`` is tuned on sample users without their ``seen`` items."""
        with self._lock:
            if self._index is None:
                n_items = _table_rows(model, "item_factors")
                saved = self.index_file.read(n_items) if self.index_file is not None else None
                self._index = saved or self._build(model, seen)
            return self._index

    def _build(self, model: nn.Module, seen: sparse.csr_matrix | None) -> ApproximateIndex:
        start = time.perf_counter()
        items = mips_items(model)
        index = build_index(items, seed=self.seed)
        sample = tuning_users(_table_rows(model, "user_factors"), self.seed)
        excluded = seen[sample] if seen is not None else None
        tune_nprobe(index, mips_queries(model, sample), items, TARGET_RECALL, excluded=excluded)
        seconds = time.perf_counter() - start
        log.info("built an index of %d items in %.1f s (nprobe %d)", len(items), seconds, index.nprobe)
        if self.save and self.index_file is not None:
            try:
                self.index_file.write(index)
            except OSError as exc:
                log.warning("could not save the index next to the model: %s", exc)
        return index


def tuning_users(n_users: int, seed: int) -> np.ndarray:
    """The (sorted) users whose lists tune a new index's ``nprobe``: ``TUNE_USERS`` at random."""
    return np.sort(np.random.default_rng(seed).permutation(n_users)[:TUNE_USERS])


def _table_rows(model: nn.Module, name: str) -> int:
    table = getattr(model, name)
    assert isinstance(table, nn.Embedding)
    return int(table.num_embeddings)
