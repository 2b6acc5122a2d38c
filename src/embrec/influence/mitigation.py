"""Mitigations: per-user weights in the loss, and dropping flagged profiles from training.

The training loop minimises the weighted mean squared error
``sum_r w_r (y_r - r)^2 / sum_r w_r`` (``training.loop.fit``), so a user's *total weight*
``W_u = sum of w_r over u's ratings`` is how loud that user's voice is. With ``n_u`` ratings:

- ``none``: ``w_r = 1``, ``W_u = n_u`` (every rating counts once: the heaviest users dominate).
- ``inverse_sqrt``: ``w_r = 1 / sqrt(n_u)``, ``W_u = sqrt(n_u)`` (a user with 100 ratings
  counts 10 times a one-rating user, not 100 times).
- ``cap``: ``w_r = min(1, cap / n_u)``, ``W_u = min(n_u, cap)`` (nobody counts more than
  ``cap`` ratings' worth; ``cap`` defaults to :data:`DEFAULT_CAP`).

Weights are rescaled to mean 1 over the ratings, which leaves the weighted loss unchanged (it
divides by the weights' sum) and keeps them readable. Dropping flagged profiles removes their
ratings from training; the users stay in the catalog and get the mean trained vector.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

import numpy as np

from embrec.data.ratings import Ratings
from embrec.influence.detection import Detection, DetectionConfig, detect

UserWeighting = Literal["none", "inverse_sqrt", "cap"]
USER_WEIGHTINGS: tuple[UserWeighting, ...] = ("none", "inverse_sqrt", "cap")
DEFAULT_CAP = 100


def user_weights(train: Ratings, scheme: UserWeighting, cap: float = DEFAULT_CAP) -> np.ndarray:
    """One weight per rating of ``train`` (float32, mean 1) under ``scheme`` (see the module docstring)."""
    if scheme not in USER_WEIGHTINGS:
        raise ValueError(f"unknown user weighting {scheme!r}; choose one of {', '.join(USER_WEIGHTINGS)}")
    if cap <= 0:
        raise ValueError("cap must be positive")
    counts = np.maximum(train.user_counts(), 1).astype(np.float64)
    if scheme == "none":
        per_user = np.ones_like(counts)
    elif scheme == "inverse_sqrt":
        per_user = 1.0 / np.sqrt(counts)
    else:
        per_user = np.minimum(1.0, cap / counts)
    weights: np.ndarray = per_user[train.users]
    if len(weights):
        weights *= len(weights) / weights.sum()
    return weights.astype(np.float32)


def total_weight(train: Ratings, weights: np.ndarray) -> np.ndarray:
    """``W_u``: the sum of each user's rating weights (float64, one per user index)."""
    return np.bincount(train.users, weights=weights.astype(np.float64), minlength=train.n_users)


@dataclass(frozen=True)
class Mitigation:
    """A combination: drop flagged profiles (detected with ``detection``) and/or weight users."""

    weighting: UserWeighting = "none"
    cap: float = DEFAULT_CAP
    drop_flagged: bool = False
    detection: DetectionConfig = field(default_factory=DetectionConfig)

    @property
    def name(self) -> str:
        parts = (["drop_flagged"] if self.drop_flagged else []) + ([self.weighting] if self.weighting != "none" else [])
        return "+".join(parts) or "none"

    @classmethod
    def parse(cls, text: str, cap: float = DEFAULT_CAP) -> Mitigation:
        """From ``none``, ``inverse_sqrt``, ``cap``, ``drop_flagged`` or a ``+``/``,`` combination."""
        parts = {p.strip() for p in text.replace(",", "+").split("+") if p.strip()} - {"none"}
        weightings = parts & {"inverse_sqrt", "cap"}
        unknown = parts - {"inverse_sqrt", "cap", "drop_flagged"}
        if unknown or len(weightings) > 1:
            raise ValueError(f"bad mitigation {text!r}: combine drop_flagged with at most one of inverse_sqrt, cap")
        weighting: UserWeighting = "cap" if "cap" in weightings else "inverse_sqrt" if weightings else "none"
        return cls(weighting=weighting, cap=cap, drop_flagged="drop_flagged" in parts)


@dataclass(frozen=True)
class Mitigated:
    """The training ratings and weights after a mitigation, and the detection when one ran."""

    train: Ratings
    weights: np.ndarray | None
    detection: Detection | None


def apply_mitigation(train: Ratings, mitigation: Mitigation) -> Mitigated:
    """Drop flagged profiles (when asked), then weight the remaining ratings (when asked)."""
    detection = detect(train, mitigation.detection) if mitigation.drop_flagged else None
    kept = train if detection is None else drop_users(train, detection.flagged)
    weights = None if mitigation.weighting == "none" else user_weights(kept, mitigation.weighting, mitigation.cap)
    return Mitigated(kept, weights, detection)


def drop_users(train: Ratings, users: np.ndarray) -> Ratings:
    """``train`` without the ratings of the users in boolean mask ``users`` (the catalog unchanged)."""
    return train.subset(~users[train.users], name=train.name)
