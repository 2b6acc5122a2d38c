"""Ranking objectives (BPR, softmax): planted tastes are recovered, negatives are never rated
items, the objective is kept in the model directory, and the CLI flag trains one."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import torch
from typer.testing import CliRunner

from embrec.artifacts.model_dir import load, save
from embrec.cli.main import app
from embrec.data.ratings import Ratings
from embrec.evaluation.protocol import evaluate
from embrec.recommend.recommender import Recommender
from embrec.training.config import TrainConfig
from embrec.training.ranking import Negatives, positive_threshold
from tiny_ratings import Row, fixed_recommender, ratings, train_tiny

RANKING = TrainConfig(epochs=40, lr=0.05, batch_size=32, weight_decay=0.001, seed=0, objective="softmax")


def planted(seed: int = 0) -> tuple[Ratings, Ratings]:
    """Two tastes: users of group g rate 5 a random 60% of group g's 15 items and 2 a few of the
    other group's. Returns (train, held out): the held-out part is the rest of each user's liked group."""
    rng = np.random.default_rng(seed)
    train: list[Row] = []
    held: list[Row] = []
    for u in range(40):
        group = u % 2
        for j in range(30):
            liked = j // 15 == group
            if liked:
                (train if rng.random() < 0.6 else held).append((f"u{u}", f"i{j}", 5.0))
            elif rng.random() < 0.15:
                train.append((f"u{u}", f"i{j}", 2.0))
    everything = ratings(train + held, scale=(1.0, 5.0))
    n_train = len(train)
    return everything.subset(np.arange(n_train)), everything.subset(np.arange(n_train, len(everything)))


def held_out_auc(recommender: Recommender, train: Ratings, held: Ratings) -> float:
    """Share of (held-out positive, unrated item of the other taste) pairs ordered correctly."""
    scores = recommender.score_users(np.arange(train.n_users)).numpy()
    group_of_item = np.array([int(raw[1:]) // 15 for raw in train.item_ids.raws(np.arange(train.n_items))])
    right, total = 0, 0
    for u in range(train.n_users):
        group = int(train.user_ids.raw(u)[1:]) % 2
        positives = held.items[held.users == u]
        others = np.setdiff1d(np.flatnonzero(group_of_item != group), train.items[train.users == u])
        right += int((scores[u, positives][:, None] > scores[u, others][None, :]).sum())
        total += len(positives) * len(others)
    return right / total


@pytest.mark.parametrize(
    "objective,negatives,sampling",
    [("softmax", None, "uniform"), ("bpr", None, "uniform"), ("softmax", 8, "popularity"), ("bpr", 4, "uniform")],
)
def test_ranking_training_puts_held_out_positives_above_the_other_taste(
    objective: str, negatives: int | None, sampling: str
) -> None:
    train, held = planted()
    config = replace(RANKING, objective=objective, negatives=negatives, sampling=sampling)  # type: ignore[arg-type]
    recommender = train_tiny(train, "dot", config)
    assert held_out_auc(recommender, train, held) > 0.95


def test_sampled_negatives_are_never_rated_items() -> None:
    train, _ = planted()
    for sampling in ("uniform", "popularity"):
        config = replace(RANKING, negatives=16, sampling=sampling)  # type: ignore[arg-type]
        negatives = Negatives(train, config, torch.bincount(torch.from_numpy(train.items), minlength=train.n_items))
        users = torch.arange(train.n_users).repeat(20)
        drawn, valid = negatives.draw(users, 16, torch.Generator().manual_seed(0))
        rated = {(u, i) for u, i in zip(train.users.tolist(), train.items.tolist(), strict=True)}
        pairs = zip(users[:, None].expand_as(drawn)[valid].tolist(), drawn[valid].tolist(), strict=True)
        assert not any(pair in rated for pair in pairs)
        assert valid.float().mean() > 0.95  # redraws keep almost every draw
        assert torch.equal(negatives.rated(users[:, None], drawn), ~valid)


def test_full_negatives_mask_exactly_the_rated_items() -> None:
    train, _ = planted()
    negatives = Negatives(train, RANKING, torch.ones(train.n_items))
    mask = negatives.mask(torch.arange(train.n_users)).numpy()
    expected = np.zeros((train.n_users, train.n_items), dtype=bool)
    expected[train.users, train.items] = True
    assert np.array_equal(mask, expected)


def test_positives_default_to_the_protocols_relevance() -> None:
    assert positive_threshold(RANKING, (1.0, 5.0)) == 4.0
    assert positive_threshold(replace(RANKING, positive_threshold=3.0), (1.0, 5.0)) == 3.0


def test_ranking_configs_refuse_early_stopping_and_bad_negatives() -> None:
    with pytest.raises(ValueError, match="patience"):
        TrainConfig(objective="bpr", patience=2)
    with pytest.raises(ValueError, match="negatives"):
        TrainConfig(objective="bpr", negatives=0)
    assert TrainConfig.from_json(RANKING.to_json()) == RANKING


def test_the_objective_round_trips_and_scores_are_not_ratings(tmp_path: Path) -> None:
    train, held = planted()
    recommender = train_tiny(train, "dot", replace(RANKING, epochs=3))
    loaded = load(save(recommender, tmp_path / "softmax"))
    assert loaded.train_config is not None and loaded.train_config.objective == "softmax"
    assert not loaded.predicts_ratings
    assert np.array_equal(loaded.top_n(np.arange(4))[0], recommender.top_n(np.arange(4))[0])
    with pytest.raises(ValueError, match="ranks items"):
        loaded.predict("u0", "i0")
    report = evaluate(loaded, held)
    assert report["rmse"] is None and report["ndcg@10"] is not None


def test_popularity_boost_moves_popular_items_up() -> None:
    rows: list[Row] = [("u0", "a", 5.0), ("u1", "b", 5.0), ("u2", "b", 4.0), ("u3", "b", 4.0), ("u4", "c", 3.0)]
    train = ratings(rows, scale=(1.0, 5.0))
    scores = np.tile(np.array([4.6, 4.5, 1.0], dtype=np.float32), (train.n_users, 1))  # a, b, c
    recommender = fixed_recommender(train, scores)
    user = np.array([train.user_ids.index("u4")])
    plain, _ = recommender.top_n(user, 2)
    boosted, boosted_scores = recommender.top_n(user, 2, popularity_boost=0.5)
    assert plain[0].tolist() == [0, 1] and boosted[0].tolist() == [1, 0]
    assert boosted_scores[0, 0] == pytest.approx(4.5 + 0.5 * np.log(4.0))
    assert [s.item for s in recommender.recommend("u4", 1, popularity_boost=0.5)] == ["b"]


def test_cli_trains_a_ranking_model(tmp_path: Path, movielens_dir: Path) -> None:
    runner = CliRunner(env={"COLUMNS": "400"})
    out = tmp_path / "bpr"
    args = ["train", "--data", str(movielens_dir), "--epochs", "1", "--factors", "4", "--objective", "bpr"]
    result = runner.invoke(app, [*args, "--negatives", "2", "--out", str(out), "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["metrics"]["rmse"] is None
    assert json.loads((out / "manifest.json").read_text())["train_config"]["objective"] == "bpr"
    listed = runner.invoke(app, ["recommend", str(out), "--user", "1", "-k", "2"])
    assert listed.exit_code == 0 and "score" in listed.output and "predicted" not in listed.output
    refused = runner.invoke(app, [*args[:-1], "listwise", "--out", str(tmp_path / "x")])
    assert refused.exit_code == 2 and "--objective must be one of" in refused.output
