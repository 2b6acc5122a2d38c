"""Per-user weights change each user's total weight as documented; flagged profiles can be dropped."""

from __future__ import annotations

import numpy as np
import pytest

from embrec.data.ids import IdMap
from embrec.data.ratings import Ratings
from embrec.influence.attacks import AttackSpec, inject
from embrec.influence.mitigation import Mitigation, apply_mitigation, drop_users, total_weight, user_weights


@pytest.fixture
def uneven() -> Ratings:
    """Users with 1, 4, 9 and 16 ratings."""
    counts = [1, 4, 9, 16]
    users = np.repeat(np.arange(4), counts).astype(np.int32)
    items = np.concatenate([np.arange(n) for n in counts]).astype(np.int32)
    return Ratings(
        users, items, np.full(len(users), 3.0, dtype=np.float32), IdMap(tuple("abcd")),
        IdMap(tuple(str(i) for i in range(16))), (1.0, 5.0),
    )  # fmt: skip


def test_weights_have_mean_one(uneven: Ratings) -> None:
    for scheme in ("none", "inverse_sqrt", "cap"):
        weights = user_weights(uneven, scheme)
        assert weights.dtype == np.float32 and len(weights) == len(uneven)
        assert weights.mean() == pytest.approx(1.0)
    np.testing.assert_allclose(user_weights(uneven, "none"), 1.0)


def test_inverse_sqrt_gives_each_user_the_root_of_their_count(uneven: Ratings) -> None:
    totals = total_weight(uneven, user_weights(uneven, "inverse_sqrt"))
    np.testing.assert_allclose(totals / totals[0], [1, 2, 3, 4], rtol=1e-6)


def test_cap_caps_each_users_total_weight(uneven: Ratings) -> None:
    weights = user_weights(uneven, "cap", cap=4)
    totals = total_weight(uneven, weights)
    np.testing.assert_allclose(totals / totals[0], [1, 4, 4, 4], rtol=1e-6)  # min(n_u, 4)
    per_rating = weights / weights[0]  # the one-rating user keeps weight 1 per rating
    assert per_rating.max() == pytest.approx(1.0)
    with pytest.raises(ValueError):
        user_weights(uneven, "cap", cap=0)
    with pytest.raises(ValueError):
        user_weights(uneven, "loudest")  # type: ignore[arg-type]


def test_mitigations_parse_from_the_command_line_spelling() -> None:
    assert Mitigation.parse("none") == Mitigation()
    both = Mitigation.parse("drop_flagged+cap", cap=50)
    assert both.drop_flagged and both.weighting == "cap" and both.cap == 50
    assert both.name == "drop_flagged+cap"
    assert Mitigation.parse("inverse_sqrt,drop_flagged").name == "drop_flagged+inverse_sqrt"
    for bad in ("cap+inverse_sqrt", "shout"):
        with pytest.raises(ValueError):
            Mitigation.parse(bad)


def test_dropping_flagged_profiles_removes_the_fakes(population: Ratings) -> None:
    attack = inject(population, AttackSpec("random", int(np.argmin(population.item_counts())), 0.05, 0.1, seed=3))
    mitigated = apply_mitigation(attack.ratings, Mitigation(weighting="inverse_sqrt", drop_flagged=True))
    assert mitigated.detection is not None and mitigated.weights is not None
    assert len(mitigated.weights) == len(mitigated.train)
    kept_users = np.unique(mitigated.train.users)
    assert not np.isin(kept_users, mitigated.detection.flagged_users).any()
    assert mitigated.train.n_users == attack.ratings.n_users  # the catalog keeps the dropped users


def test_drop_users_keeps_everyone_elses_ratings(uneven: Ratings) -> None:
    kept = drop_users(uneven, np.array([False, True, False, True]))
    assert len(kept) == 10 and set(kept.users) == {0, 2}
