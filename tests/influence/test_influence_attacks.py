"""Injected profiles have the declared shape; the niche group rates its items highly."""

from __future__ import annotations

import numpy as np
import pytest

from embrec.data.ids import UnknownIdError
from embrec.data.ratings import Ratings
from embrec.influence.attacks import ATTACK_KINDS, AttackKind, AttackSpec, inject, inject_niche_group, item_index


def _profiles(ratings: Ratings, users: np.ndarray) -> list[tuple[np.ndarray, np.ndarray]]:
    return [(ratings.items[ratings.users == u], ratings.ratings[ratings.users == u]) for u in users]


@pytest.mark.parametrize("kind", ATTACK_KINDS)
def test_attack_profiles_have_the_declared_shape(small: Ratings, kind: AttackKind) -> None:
    target = int(np.argmin(small.item_counts()))
    attack = inject(small, AttackSpec(kind, target, profiles=0.1, filler=0.25, popular=3, seed=4))
    attacked = attack.ratings
    assert len(attack.fake_users) == 6  # round(0.1 * 60)
    np.testing.assert_array_equal(attack.fake_users, np.arange(60, 66))
    assert attacked.n_users == 66 and attacked.user_ids.ids[:60] == small.user_ids.ids
    assert all(attacked.user_ids.raw(int(u)).startswith("shill-") for u in attack.fake_users)
    assert attacked.user_table is not None and len(attacked.user_table) == 66
    assert attack.is_fake.sum() == 6 and attack.is_fake[60:].all()
    np.testing.assert_array_equal(attacked.ratings[: len(small)], small.ratings)  # real ratings untouched
    for items, values in _profiles(attacked, attack.fake_users):
        assert len(items) == 1 + 10 and len(np.unique(items)) == 11  # target + round(0.25 * 40) filler
        assert items[0] == target and values[0] == 5.0  # the target gets the top of the scale
        assert np.all(values == np.round(values)) and values.min() >= 1 and values.max() <= 5
        assert small.item_counts()[items[1:]].min() > 0  # filler from the rated catalog


def test_bandwagon_rates_the_most_popular_items_top(small: Ratings) -> None:
    popular = np.argsort(-small.item_counts(), kind="stable")[:3]
    attack = inject(small, AttackSpec("bandwagon", 39, profiles=0.05, filler=0.2, popular=3, seed=0))
    for items, values in _profiles(attack.ratings, attack.fake_users):
        assert set(popular) <= set(items)
        assert np.all(values[np.isin(items, popular)] == 5.0)


def test_average_attack_filler_follows_item_means(population: Ratings) -> None:
    attack = inject(population, AttackSpec("average", 299, profiles=0.1, filler=0.2, seed=0))
    fake = attack.is_fake[attack.ratings.users] & (attack.ratings.items != 299)
    sums = np.bincount(population.items, weights=population.ratings, minlength=population.n_items)
    means = sums / np.maximum(population.item_counts(), 1)
    correlation = np.corrcoef(attack.ratings.ratings[fake], means[attack.ratings.items[fake]])[0, 1]
    assert correlation > 0.3


def test_injection_is_seeded(small: Ratings) -> None:
    first = inject(small, AttackSpec("random", 0, seed=1)).ratings
    again = inject(small, AttackSpec("random", 0, seed=1)).ratings
    other = inject(small, AttackSpec("random", 0, seed=2)).ratings
    np.testing.assert_array_equal(first.items, again.items)
    np.testing.assert_array_equal(first.ratings, again.ratings)
    assert not np.array_equal(first.items, other.items)


def test_bad_specs_are_refused(small: Ratings) -> None:
    with pytest.raises(ValueError):
        AttackSpec("sneaky", 0)  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        AttackSpec("random", 0, profiles=3.0)  # 3 means 300%, not 3%
    with pytest.raises(ValueError):
        inject(small, AttackSpec("random", 40))


def test_niche_group_rates_only_its_items_highly(small: Ratings) -> None:
    group = inject_niche_group(small, np.array([3, 5, 7, 9]), members=0.05, seed=0)
    assert len(group.members) == 3 and group.ratings.n_users == 63
    for items, values in _profiles(group.ratings, group.members):
        assert sorted(items) == [3, 5, 7, 9] and set(values) <= {4.0, 5.0}


def test_items_are_found_by_id_or_title(small: Ratings) -> None:
    assert item_index(small, "7") == 6
    assert item_index(small, "Item 12") == 11
    with pytest.raises(UnknownIdError, match="Item 12"):
        item_index(small, "Itme 12")
