"""Attack and niche-group simulations: inject, retrain, measure, with and without mitigations.

Every model is trained with the caller's ``ModelConfig``/``TrainConfig`` (the same for all
variants) and evaluated on the split's test part, which holds real users only. Lists exclude the
items each user rated in the data the variant saw, including ratings a mitigation dropped from
training: dropping a profile removes it from the training signal, not from the catalog.

- :func:`simulate_attack`: ``before`` (clean data), ``after`` (attacked), and one variant per
  mitigation of the attacked data. For each: the target's :class:`TargetReach` among real users
  who have not rated it, RMSE and NDCG@k on the test part, and how many profiles the mitigation
  dropped. Detection precision and recall on the fake profiles are reported for the attacked
  data whatever the mitigations.
- :func:`simulate_niche`: the share of real users' top-``k`` slots taken by the niche items,
  without and with the group, each with no mitigation and with every mitigation given.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from embrec.data.ratings import Ratings
from embrec.data.splits import Split
from embrec.evaluation.protocol import evaluate
from embrec.influence.attacks import AttackSpec, NicheGroup, inject
from embrec.influence.concentration import slot_share
from embrec.influence.detection import DetectionConfig, detect, precision_recall
from embrec.influence.exposure import TargetReach, target_reach
from embrec.influence.mitigation import Mitigated, Mitigation, apply_mitigation
from embrec.models import ModelConfig
from embrec.recommend.recommender import Recommender
from embrec.training.config import TrainConfig
from embrec.training.loop import train_model

Step = Callable[[str], None]


@dataclass(frozen=True)
class Variant:
    """One trained variant: its name, the target's reach, test accuracy, profiles dropped."""

    name: str
    reach: TargetReach
    rmse: float
    ndcg: float | None
    dropped: int | None = None

    def to_json(self) -> dict[str, Any]:
        return asdict(self) | {"reach": self.reach.to_json()}


@dataclass(frozen=True)
class AttackReport:
    """The attack's declared shape, detection quality on it, and every variant's figures."""

    spec: AttackSpec
    profiles: int
    filler: int
    target_ratings: int
    precision: float
    recall: float
    flagged: int
    before: Variant
    after: Variant
    mitigated: list[Variant]

    def to_json(self) -> dict[str, Any]:
        return {
            "spec": asdict(self.spec), "profiles": self.profiles, "filler": self.filler,
            "target_ratings": self.target_ratings, "precision": self.precision, "recall": self.recall,
            "flagged": self.flagged, "before": self.before.to_json(),
            "after": self.after.to_json(), "mitigated": [v.to_json() for v in self.mitigated],
        }  # fmt: skip


def simulate_attack(
    split: Split,
    spec: AttackSpec,
    model_config: ModelConfig,
    config: TrainConfig,
    mitigations: Sequence[Mitigation] = (),
    k: int = 10,
    on_step: Step | None = None,
    clean: Recommender | None = None,
    detection: DetectionConfig | None = None,
) -> AttackReport:
    """Train on the clean and the attacked data (and each mitigation of it); see the module docstring.

    ``clean``, when given, is the model trained on the clean data with these configs (to share
    it between several attacks); otherwise it is trained here.
    """
    step = on_step or (lambda _label: None)
    real = np.flatnonzero(split.train.user_counts() > 0)
    attack = inject(split.train, spec)

    def variant(name: str, data: Ratings, mitigation: Mitigation | None) -> Variant:
        mitigated = apply_mitigation(data, mitigation or Mitigation())
        if clean is not None and data is split.train and mitigation is None:
            recommender = clean
        else:
            step(name)
            recommender = train_variant(mitigated, data, model_config, config)
        metrics = evaluate(recommender, split.test, k)
        dropped = None if mitigated.detection is None else int(mitigated.detection.flagged.sum())
        reach = target_reach(recommender, spec.target, real, k)
        return Variant(name, reach, metrics["rmse"], metrics[f"ndcg@{k}"], dropped)

    n_profiles, n_filler = spec.counts(split.train.n_users, split.train.n_items)
    flagged = detect(attack.ratings, detection).flagged
    precision, recall = precision_recall(flagged, attack.is_fake)
    return AttackReport(
        spec=spec,
        profiles=n_profiles,
        filler=n_filler,
        target_ratings=int(split.train.item_counts()[spec.target]),
        precision=precision,
        recall=recall,
        flagged=int(flagged.sum()),
        before=variant("clean", split.train, None),
        after=variant(f"{spec.kind} attack", attack.ratings, None),
        mitigated=[variant(f"attack + {m.name}", attack.ratings, m) for m in mitigations],
    )


def train_variant(
    mitigated: Mitigated, seen_from: Ratings, model_config: ModelConfig, config: TrainConfig
) -> Recommender:
    """A model trained on the mitigated ratings and weights; its lists exclude what ``seen_from`` rated."""
    model, resolved, _ = train_model(mitigated.train, model_config, config, weights=mitigated.weights)
    return Recommender.from_training(model, resolved, seen_from, config)


@dataclass(frozen=True)
class NicheReport:
    """Share of real users' top-``k`` slots taken by the niche items, per (data, mitigation)."""

    members: int
    items: int
    k: int
    shares: dict[str, dict[str, float]]
    rmse: dict[str, dict[str, float]]

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def simulate_niche(
    split: Split,
    group: NicheGroup,
    model_config: ModelConfig,
    config: TrainConfig,
    mitigations: Sequence[Mitigation] = (),
    k: int = 10,
    on_step: Step | None = None,
) -> NicheReport:
    """Niche-item share of real users' slots without/with ``group``, for no mitigation and each given."""
    step = on_step or (lambda _label: None)
    real = np.flatnonzero(split.train.user_counts() > 0)
    niche = np.zeros(split.train.n_items, dtype=bool)
    niche[group.items] = True
    shares: dict[str, dict[str, float]] = {}
    rmses: dict[str, dict[str, float]] = {}
    for mitigation in [Mitigation(), *mitigations]:
        for label, data in (("without group", split.train), ("with group", group.ratings)):
            step(f"{label}, {mitigation.name}")
            recommender = train_variant(apply_mitigation(data, mitigation), data, model_config, config)
            shares.setdefault(mitigation.name, {})[label] = slot_share(recommender.top_n(real, k, exact=True)[0], niche)
            rmses.setdefault(mitigation.name, {})[label] = float(evaluate(recommender, split.test, k)["rmse"])
    return NicheReport(len(group.members), len(group.items), k, shares, rmses)
