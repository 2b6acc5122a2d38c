"""Top-N retrieval: MIPS vectors rank like the model, exact search is exact, the approximate index
finds most of the true top 10, seen items never come back, saved indexes are trusted only when
current, and a missing faiss falls back to exact search with one warning."""

from __future__ import annotations

import json
import logging
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import torch
from scipy import sparse

import embrec.recommend.approximate as approximate
from embrec.artifacts.model_dir import load, save
from embrec.models import ModelConfig, build_model
from embrec.models.bayesian import BayesianMF
from embrec.recommend.approximate import INDEX_FILE, SIDECAR, Retrieval
from embrec.recommend.recommender import Recommender
from embrec.recommend.retrieval import (
    build_index,
    exact_search,
    mips_vectors,
    recall_at_k,
    top_n_with_index,
    tune_nprobe,
)
from large_catalog import N_ITEMS, N_USERS, large_recommender
from tiny_ratings import checkerboard

pytest.importorskip("faiss")  # the `dev` extra installs it; the fallback test removes it again


@pytest.fixture(scope="module")
def large() -> Recommender:
    return large_recommender()


def indexed(recommender: Recommender, from_items: int = 1_000) -> Recommender:
    """The recommender with a fresh Retrieval whose threshold this catalog passes."""
    recommender.retrieval = Retrieval(from_items=from_items)
    return recommender


def test_mips_vectors_rank_items_exactly_like_the_models_predictions(large: Recommender) -> None:
    queries, items = mips_vectors(large.model)
    assert queries.shape == (N_USERS, 17) and items.shape == (N_ITEMS, 17)
    users = np.arange(0, N_USERS, 40)
    inner = queries[users].astype(np.float64) @ items.T.astype(np.float64)
    predicted = large.score_users(users).numpy()
    for row in range(len(users)):
        by_inner, by_model = np.argsort(-inner[row])[:50], np.argsort(-predicted[row], kind="stable")[:50]
        assert (by_inner == by_model).all()


def test_bmf_is_searched_like_dot_its_clip_keeping_the_inner_products_order(large: Recommender) -> None:
    bmf = BayesianMF(N_USERS, N_ITEMS, 17 - 1, (0.0, 10.0))
    bmf.load_state_dict(large.model.state_dict())  # the same tables
    with torch.no_grad():
        bmf.global_bias.fill_(5.0)  # predictions well inside the clip
    recommender = indexed(
        replace(large, model=bmf, model_config=ModelConfig(kind="bmf", factors=16, y_range=(0.0, 10.0)))
    )
    assert recommender.searches_index()
    approx_items, approx_scores = recommender.top_n(np.arange(N_USERS), 10)
    exact_items, _ = recommender.top_n(np.arange(N_USERS), 10, exact=True)
    assert recall_at_k(approx_items, exact_items) >= 0.9
    np.testing.assert_allclose(approx_scores[:, 0], recommender.predict_indices(np.arange(N_USERS), approx_items[:, 0]))


def test_exact_search_matches_brute_force_in_chunks(large: Recommender) -> None:
    queries, items = mips_vectors(large.model)
    found, scores = exact_search(queries[:37], items, 10, chunk=8)
    brute = queries[:37] @ items.T
    expected = np.argsort(-brute, axis=1)[:, :10]
    assert (found == expected).all()
    np.testing.assert_allclose(scores, np.take_along_axis(brute, expected, axis=1), rtol=1e-5)


def test_the_index_finds_most_of_the_true_top_10_on_clustered_factors(large: Recommender) -> None:
    queries, items = mips_vectors(large.model)
    index = build_index(items, seed=0)
    tune_nprobe(index, queries[:200], items, target=0.95)  # tuned on other users than it is tested on
    assert index.nprobe < index.index.nlist  # it still scans a part of the catalog
    found, inner = index.search(queries[200:], 10)
    exact, exact_inner = exact_search(queries[200:], items, 10)
    assert recall_at_k(found, exact) >= 0.9
    # the reported inner products are the true ones (recovered from the L2 distances)
    np.testing.assert_allclose(inner[:, 0][found[:, 0] == exact[:, 0]], exact_inner[:, 0][found[:, 0] == exact[:, 0]],
                               rtol=1e-3, atol=1e-3)  # fmt: skip


def test_approximate_top_n_agrees_with_exact_and_scores_are_predictions(large: Recommender) -> None:
    recommender = indexed(large)
    users = np.arange(N_USERS)
    approx_items, approx_scores = recommender.top_n(users, 10)  # chosen by size: 20,000 >= 1,000
    exact_items, _ = recommender.top_n(users, 10, exact=True)
    assert recommender.searches_index() and not recommender.searches_index(exact=True)
    assert recall_at_k(approx_items, exact_items) >= 0.9
    rows = np.repeat(users, 10)
    np.testing.assert_allclose(
        approx_scores.ravel(), recommender.predict_indices(rows, approx_items.ravel()), rtol=1e-6
    )
    assert (np.diff(approx_scores, axis=1) <= 0).all()  # best first


def test_seen_items_never_come_back_from_the_index(large: Recommender) -> None:
    recommender = indexed(large)
    users = np.arange(N_USERS)
    found, _ = recommender.top_n(users, 20, exact=False)
    assert (found >= 0).all()
    for user in users:
        assert not np.intersect1d(found[user], recommender.items_of(f"u{user}")).size
    # ... nor the extra ones a caller excludes (the server's ratings since training)
    unseen_best = found[:, :3]
    rows = np.arange(0, unseen_best.size + 1, 3)
    extra = sparse.csr_matrix((np.ones(unseen_best.size, bool), unseen_best.ravel(), rows), shape=(N_USERS, N_ITEMS))
    again, _ = recommender.top_n_excluding(users, extra + recommender.seen, 20, exact=False)
    assert not any(np.intersect1d(again[u], unseen_best[u]).size for u in users)


def test_top_n_with_index_over_fetches_past_long_exclusions(large: Recommender) -> None:
    queries, items = mips_vectors(large.model)
    index = build_index(items, seed=0)
    index.nprobe = index.index.nlist  # an exact scan: the answer is known
    exact, _ = exact_search(queries[:2], items, 510)
    excluded = sparse.csr_matrix((np.ones(1000, bool), exact[:, :500].ravel(), [0, 500, 1000]), shape=(2, N_ITEMS))
    found, _ = top_n_with_index(index, queries[:2], excluded, 10)
    assert (found == exact[:, 500:510]).all()


def test_a_saved_index_is_reused_and_a_stale_one_rebuilt(
    large: Recommender, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    save(large, tmp_path)
    first = load(tmp_path)
    first.retrieval.from_items, first.retrieval.save = 1_000, True
    expected = first.top_n(np.arange(20), 10)
    meta = json.loads((tmp_path / SIDECAR).read_text())
    manifest = json.loads((tmp_path / "manifest.json").read_text())
    assert meta["n_items"] == N_ITEMS and meta["weights_sha256"] == manifest["weights_sha256"]

    builds: list[int] = []
    real_build = approximate.build_index
    monkeypatch.setattr(
        approximate, "build_index", lambda items, **kw: builds.append(len(items)) or real_build(items, **kw)
    )
    reloaded = load(tmp_path)
    reloaded.retrieval.from_items = 1_000
    again = reloaded.top_n(np.arange(20), 10)
    assert builds == [] and all((a == b).all() for a, b in zip(again, expected, strict=True))  # read, not rebuilt

    with torch.no_grad():  # other weights in the same directory: the index on disk is stale
        large.model.item_bias.weight[:5] += 10.0
    try:
        save(large, tmp_path)
    finally:
        with torch.no_grad():
            large.model.item_bias.weight[:5] -= 10.0
    changed = load(tmp_path)
    changed.retrieval.from_items, changed.retrieval.save = 1_000, True
    lists, _ = changed.top_n(np.arange(20), 10)
    assert builds == [N_ITEMS]
    assert all(np.isin(np.arange(5), row).sum() >= 4 for row in lists)  # the boosted items now lead every list
    assert json.loads((tmp_path / SIDECAR).read_text())["weights_sha256"] != meta["weights_sha256"]


def test_an_index_file_with_changed_bytes_is_not_trusted(
    large: Recommender, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    save(large, tmp_path)
    recommender = load(tmp_path)
    recommender.retrieval.from_items, recommender.retrieval.save = 1_000, True
    recommender.top_n(np.arange(3), 5)
    with (tmp_path / INDEX_FILE).open("r+b") as handle:
        handle.seek(-64, 2)
        handle.write(b"\0" * 64)
    reloaded = load(tmp_path)
    with caplog.at_level(logging.INFO, logger="embrec.recommend.approximate"):
        assert reloaded.retrieval.index(reloaded.model).n_items == N_ITEMS
    assert "corrupt" in caplog.text


def test_without_faiss_large_catalogs_fall_back_to_exact_with_one_warning(
    large: Recommender, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setitem(sys.modules, "faiss", None)  # `import faiss` now raises ImportError
    recommender = indexed(large)
    with caplog.at_level(logging.WARNING):
        lists = [recommender.top_n(np.arange(5), 10) for _ in range(3)]
    exact = recommender.top_n(np.arange(5), 10, exact=True)
    assert all((found == exact[0]).all() for found, _ in lists)
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1 and "embrec[ann]" in warnings[0] and "exactly" in warnings[0]
    with pytest.raises(ValueError, match=r"embrec\[ann\]"):
        recommender.top_n(np.arange(5), 10, exact=False)  # asked for explicitly: refused, not ignored


def test_models_without_factor_tables_stay_exact_or_say_why() -> None:
    data, _ = checkerboard()
    config = ModelConfig(kind="nn", factors=4, layers=(8,), y_range=(0.5, 5.5))  # factor tables, but an MLP scores
    mlp = Recommender.from_training(build_model(data.n_users, data.n_items, config), config, data)
    recommender = indexed(mlp, from_items=1)
    assert not recommender.searches_index()
    with pytest.raises(ValueError, match="needs a dot model"):
        recommender.searches_index(exact=False)


def test_small_catalogs_are_searched_exactly_by_default(large: Recommender) -> None:
    recommender = indexed(large, from_items=N_ITEMS + 1)
    assert not recommender.searches_index()
    assert recommender.searches_index(exact=False)
