"""The harness's ranking rows: one per training objective, and the NDCG target over all folds."""

from __future__ import annotations

import pytest

from harness.embrec_runs import RANKING_GRID, objective_rows
from harness.report import FOLDS, Row, checks


def test_objective_rows_train_dot_with_each_ranking_objective() -> None:
    rows = objective_rows()
    assert set(rows) == {"embrec dot (bpr)", "embrec dot (softmax)"}
    assert {row.train.objective for row in rows.values()} == {"bpr", "softmax"}
    assert all(overrides["objective"] in ("bpr", "softmax") for overrides in RANKING_GRID)


def test_the_ndcg_target_over_all_folds_compares_means() -> None:
    def fold(ndcg: float) -> dict[str, object]:
        return {"rmse": None, "ndcg@10": ndcg, "fit_seconds": 1.0, "params": {}}

    rows = [
        Row("implicit-als", "ALS", "implicit", {f: fold(0.40) for f in FOLDS}),
        Row("implicit-bpr", "BPR", "implicit", {f: fold(0.30) for f in FOLDS}),
        Row("embrec-dot-ranking", "embrec ranking", "embrec", {f: fold(0.44) for f in FOLDS}),
        Row("embrec-dot-softmax", "embrec u1 only", "embrec", {"u1": fold(0.50)}),
    ]
    results = {c.name: c for c in checks(rows)}
    mean = results["best embrec NDCG@10 / best of implicit ALS, BPR (mean u1..u5)"]
    assert mean.value == pytest.approx(0.44 / 0.40) and mean.ok and "embrec ranking vs ALS" in mean.detail
    assert results["best embrec NDCG@10 / best of implicit ALS, BPR (u1)"].value == pytest.approx(0.50 / 0.40)
