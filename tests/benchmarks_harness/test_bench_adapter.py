"""The harness's metric adapter gives exactly the foundation protocol's numbers."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from embrec.data.ids import IdMap
from embrec.data.ratings import Ratings
from embrec.evaluation.protocol import evaluate
from embrec.models import ModelConfig
from embrec.recommend.recommender import Recommender
from embrec.training.config import TrainConfig
from embrec.training.loop import train_model
from harness.adapter import ScoreTable, evaluate_scores, popularity_scores
from harness.report import Row, checks, table_rows


def _ratings(users: list[int], items: list[int], values: list[float]) -> Ratings:
    return Ratings(
        users=np.array(users, dtype=np.int32),
        items=np.array(items, dtype=np.int32),
        ratings=np.array(values, dtype=np.float32),
        user_ids=IdMap(("a", "b", "c"), kind="user"),
        item_ids=IdMap(("w", "x", "y", "z"), kind="item"),
        scale=(1.0, 5.0),
    )


def test_tiny_case_with_known_answer() -> None:
    train = _ratings([0, 0, 1, 2], [0, 1, 0, 3], [5, 3, 4, 2])
    test = _ratings([0, 1, 2], [2, 3, 1], [5, 4, 1])  # relevant: (a, y) and (b, z)
    ranking = np.array([[9, 9, 2, 1], [9, 0, 1, 3], [0, 0, 0, 9]], dtype=np.float32)  # seen items score 9
    ratings = np.full((3, 4), 4.0, dtype=np.float32)
    report = evaluate_scores(train, test, ratings, ranking, "table", k=1)
    # a: y is the best unseen item -> hit; b: z beats y -> hit. c has no relevant item: not ranked.
    assert report["precision@1"] == 1.0 and report["ndcg@1"] == 1.0 and report["ranked_users"] == 2
    assert report["rmse"] == pytest.approx(np.sqrt((1 + 0 + 9) / 3))
    assert report["mae"] == pytest.approx((1 + 0 + 3) / 3)


def test_matches_the_protocol_on_an_embrec_model(u1) -> None:  # type: ignore[no-untyped-def]
    model, config, _ = train_model(u1.train, ModelConfig(kind="bias"), TrainConfig())
    recommender = Recommender.from_training(model, config, u1.train)
    with torch.inference_mode():
        scores = model.score_all(torch.arange(u1.train.n_users)).numpy()
    direct = evaluate(recommender, u1.test)
    adapted = evaluate_scores(u1.train, u1.test, scores, scores, "bias")
    for key, value in direct.items():
        assert adapted[key] == pytest.approx(value, rel=1e-6), key


def test_ranking_only_scores_have_no_rmse(u1) -> None:  # type: ignore[no-untyped-def]
    scores = popularity_scores(u1.train, 4.0)
    report = evaluate_scores(u1.train, u1.test, None, scores, "popularity")
    assert np.isnan(report["rmse"]) and 0.15 < report["ndcg@10"] < 0.4


def test_table_shape_is_checked(u1) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ValueError, match="n_users, n_items"):
        evaluate_scores(u1.train, u1.test, None, np.zeros((3, 3), dtype=np.float32), "bad")
    with pytest.raises(ValueError, match="shape"):
        ScoreTable(np.zeros((2, 2)), np.zeros((2, 3)))


def test_targets_and_ratios_from_rows() -> None:
    def fold(rmse: float, ndcg: float, fit: float) -> dict[str, object]:
        return {"rmse": rmse, "mae": 0.7, "ndcg@10": ndcg, "fit_seconds": fit, "params": {}}

    folds = ("u1", "u2", "u3", "u4", "u5")
    rows = [
        Row("surprise-svd", "Surprise SVD", "surprise", {"u1": fold(0.95, 0.14, 0.4)}),
        Row("fastai-dot", "fastai", "fastai", {"u1": fold(0.93, 0.1, 130.0)}),
        Row("implicit-als", "ALS", "implicit", {"u1": fold(float("nan"), 0.40, 0.3)}),
        Row("embrec-dot", "embrec dot", "embrec", {f: fold(0.90, 0.43, 0.2) for f in folds}),
    ]
    results = {c.name: c for c in checks(rows)}
    assert results["embrec dot: RMSE u1"].ok
    assert results["embrec dot fit s / Surprise SVD fit s (u1)"].value == pytest.approx(0.5)
    assert results["fastai book fit s / embrec dot fit s (u1)"].value == pytest.approx(650)
    assert results["best embrec NDCG@10 / best of implicit ALS, BPR (u1)"].value == pytest.approx(0.43 / 0.40)
    assert not results["best embrec rating model: RMSE mean u1..u5"].ok  # 0.90 > 0.885
    cells = table_rows(rows)[-1]
    assert cells[2] == "0.9000 (0.0000)" and cells[-2] == "0.50x"
