"""Attack and niche simulations end to end on small synthetic data (few epochs)."""

from __future__ import annotations

import numpy as np

from embrec.data.ratings import Ratings
from embrec.data.splits import split_random
from embrec.influence.attacks import AttackSpec, inject_niche_group
from embrec.influence.mitigation import Mitigation
from embrec.influence.simulation import simulate_attack, simulate_niche
from embrec.models import ModelConfig
from embrec.training.config import TrainConfig

CONFIG = TrainConfig(epochs=4, batch_size=512, lr=5e-2)


def test_an_attack_pushes_its_target_and_dropping_the_fakes_undoes_it(population: Ratings) -> None:
    split = split_random(population, 0.1, seed=0)
    target = int(np.argmin(split.train.item_counts()))
    spec = AttackSpec("average", target, profiles=0.05, filler=0.1, seed=3)
    steps: list[str] = []
    report = simulate_attack(
        split, spec, ModelConfig(factors=8), CONFIG, [Mitigation(drop_flagged=True)], k=10, on_step=steps.append
    )
    assert steps == ["clean", "average attack", "attack + drop_flagged"]
    assert (report.profiles, report.filler) == (20, 30)
    assert report.precision >= 0.9 and report.recall >= 0.9
    (dropped,) = report.mitigated
    assert dropped.dropped == report.flagged
    assert report.after.reach.median_rank < report.before.reach.median_rank
    assert dropped.reach.median_rank > report.after.reach.median_rank
    assert report.to_json()["mitigated"][0]["reach"]["item"] == target


def test_niche_simulation_reports_every_mitigation(small: Ratings) -> None:
    split = split_random(small, 0.1, seed=0)
    group = inject_niche_group(split.train, np.arange(30, 40), members=0.2, seed=0)
    config = TrainConfig(epochs=2, batch_size=64, lr=5e-2)
    report = simulate_niche(split, group, ModelConfig(factors=4), config, [Mitigation(weighting="inverse_sqrt")])
    assert set(report.shares) == {"none", "inverse_sqrt"} and report.members == 12 and report.items == 10
    for shares in report.shares.values():
        assert set(shares) == {"without group", "with group"}
        assert all(0.0 <= v <= 1.0 for v in shares.values())
