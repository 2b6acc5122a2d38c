"""Ranks and reach on a hand-built model; group influence and the audit report on small data."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from embrec.data.ids import IdMap
from embrec.data.ratings import Ratings
from embrec.influence.attacks import inject_niche_group
from embrec.influence.audit import audit, group_influence, list_overlap
from embrec.influence.exposure import item_ranks, target_reach
from embrec.influence.groups import UserGroup, activity_groups
from embrec.influence.report import write_report
from embrec.models import ModelConfig
from embrec.models.dot import DotProductBias
from embrec.recommend.recommender import Recommender
from embrec.training.config import TrainConfig
from embrec.training.loop import train_model

FAST = TrainConfig(epochs=8, batch_size=64, lr=5e-2, seed=0)


@pytest.fixture
def ordered() -> Recommender:
    """Items score 0 > 1 > 2 > 3 > 4 for everyone; user 0 rated item 0, user 1 rated item 4."""
    model = DotProductBias(2, 5, 1, (0.0, 5.5))
    with torch.no_grad():
        model.user_factors.weight.zero_()
        model.item_factors.weight.zero_()
        model.item_bias.weight[:, 0] = torch.tensor([2.0, 1.0, 0.0, -1.0, -2.0])
    train = Ratings(
        np.array([0, 1], dtype=np.int32), np.array([0, 4], dtype=np.int32), np.array([4.0, 2.0], dtype=np.float32),
        IdMap(("u", "v")), IdMap(tuple("abcde")), (1.0, 5.0),
    )  # fmt: skip
    return Recommender.from_training(model, ModelConfig(factors=1, y_range=(0.0, 5.5)), train)


def test_item_ranks_count_only_unseen_items(ordered: Recommender) -> None:
    ranks = item_ranks(ordered, np.array([0, 1]), np.array([0, 2, 4]))
    np.testing.assert_array_equal(ranks, [[np.nan, 2, 4], [1, 3, np.nan]])


def test_target_reach_skips_users_who_rated_it(ordered: Recommender) -> None:
    reach = target_reach(ordered, 2, np.array([0, 1]), k=2)
    assert (reach.users, reach.hit_ratio, reach.mean_rank, reach.median_rank) == (2, 0.5, 2.5, 2.5)
    assert target_reach(ordered, 0, np.array([0, 1]), k=2).users == 1


def test_list_overlap_by_hand() -> None:
    assert list_overlap(np.array([[1, 2], [3, 4]]), np.array([[2, 5], [4, 3]])) == pytest.approx(0.75)
    assert list_overlap(np.array([[1, -1]]), np.array([[1, -1]])) == pytest.approx(0.5)  # empty slots never match


def test_removing_a_loud_niche_group_takes_its_items_out_of_others_lists(small: Ratings) -> None:
    niche_items = np.array([33, 35, 37, 39])  # among the least popular items
    niche = inject_niche_group(small, niche_items, members=0.5, top_share=1.0, seed=0)
    group = UserGroup("niche", "planted", niche.members)
    result = group_influence(niche.ratings, [group], ModelConfig(factors=8), FAST)
    (influence,) = result.groups
    assert sorted(influence.favourites) == sorted(niche_items)
    assert influence.users == 30 and influence.rating_share == pytest.approx(120 / len(niche.ratings))
    assert influence.favourite_share_with > influence.favourite_share_without
    assert influence.rank_shift > influence.rank_noise
    assert 0.0 <= influence.overlap <= 1.0 and 0.0 <= result.noise_overlap <= 1.0
    assert result.epochs == FAST.epochs


def test_audit_and_its_reports(small: Ratings, tmp_path: Path) -> None:
    model, resolved, _ = train_model(small, ModelConfig(factors=8), FAST)
    recommender = Recommender.from_training(model, resolved, small, FAST)
    result = audit(recommender, small, activity_groups(small, (0.1,)), TrainConfig(epochs=1, batch_size=64))
    assert result.lists.users == 60 and result.lists.k == 10 and result.influence is not None
    assert result.to_json()["signal"]["active_users"] == 60
    assert audit(recommender, small).influence is None  # no groups: no retraining
    png = write_report(result, tmp_path / "audit.png")
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    page = write_report(result, tmp_path / "audit.html").read_text()
    assert "Gini of user activity" in page and "top 10% most active" in page and "data:image/png;base64," in page
    with pytest.raises(ValueError, match=r"\.png or \.html"):
        write_report(result, tmp_path / "audit.pdf")
