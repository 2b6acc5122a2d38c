"""Detection flags obvious fakes and planted near-duplicate profiles, and leaves honest data alone."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from embrec.data.ratings import Ratings
from embrec.influence.attacks import ATTACK_KINDS, AttackKind, AttackSpec, append_profiles, inject
from embrec.influence.detection import (
    DetectionConfig,
    detect,
    near_duplicate_counts,
    precision_recall,
    robust_z,
)


def test_precision_and_recall_by_hand() -> None:
    flagged = np.array([True, True, False, False, True])
    fake = np.array([True, False, True, False, True])
    assert precision_recall(flagged, fake) == pytest.approx((2 / 3, 2 / 3))
    assert precision_recall(np.zeros(3, bool), np.zeros(3, bool)) == (1.0, 1.0)


def test_robust_z_uses_median_and_mad() -> None:
    values = np.array([1.0, 2.0, 3.0, 4.0, 100.0])
    z = robust_z(values, np.ones(5, dtype=bool))  # median 3, MAD 1
    np.testing.assert_allclose(z, (values - 3.0) / 1.4826)
    assert np.isfinite(robust_z(np.ones(4), np.ones(4, dtype=bool))).all()  # MAD 0 does not divide by zero


def test_honest_data_is_not_flagged(population: Ratings) -> None:
    assert not detect(population).flagged.any()


@pytest.mark.parametrize("kind", ATTACK_KINDS)
def test_obvious_fakes_are_flagged(population: Ratings, kind: AttackKind) -> None:
    target = int(np.argmin(population.item_counts()))
    attack = inject(population, AttackSpec(kind, target, profiles=0.05, filler=0.1, seed=3))
    detection = detect(attack.ratings)
    precision, recall = precision_recall(detection.flagged, attack.is_fake)
    assert precision >= 0.9 and recall >= 0.9
    assert target in detection.targets


def test_planted_near_duplicates_are_found(population: Ratings) -> None:
    rng = np.random.default_rng(0)
    template_items = rng.choice(population.n_items, size=30, replace=False)
    template = rng.integers(1, 6, size=30).astype(np.float64)
    copies = []
    for _ in range(6):
        values = template.copy()
        values[rng.integers(30)] = 1 + (values[0] % 5)  # one rating changed per copy
        copies.append((template_items, values))
    planted, users = append_profiles(population, copies, "bot-", "planted")
    assert (near_duplicate_counts(planted, 0.9)[users] >= 5).all()
    detection = detect(planted, DetectionConfig(min_group=4))
    np.testing.assert_array_equal(np.flatnonzero(detection.duplicates), users)
    assert set(users) <= set(detection.flagged_users)
    three = replace(DetectionConfig(), min_group=8)  # a cluster smaller than min_group is no cluster
    assert not detect(planted, three).duplicates.any()
