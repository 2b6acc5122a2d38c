"""A careful rollout: propose a candidate, compare it, approve a share of users, promote or roll back.

Assignment is stable: user ``u`` sees the candidate when ``bucket(u) < share``, where
``bucket(u)`` is the first 8 bytes of SHA-256(u) read as a fraction of 2**64. The same user
always lands in the same bucket, and raising the share only adds users (the 10% are inside
the 50%).

Every step (``propose``, ``approve``, ``promote``, ``rollback``) is written to the registry's
state with who took it and when.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from typing import Any

import numpy as np

from embrec.data.ratings import Ratings
from embrec.evaluation.protocol import evaluate
from embrec.recommend.recommender import Recommender
from embrec.serving.model_registry import ModelRegistry, RegistryError, RegistryState


def user_bucket(user: str) -> float:
    """A stable pseudo-random number in [0, 1) for a user id."""
    return int.from_bytes(hashlib.sha256(user.encode("utf-8")).digest()[:8], "big") / 2**64


def serves_candidate(user: str, share: float) -> bool:
    """Whether ``user`` is in the ``share`` of users that the candidate serves."""
    return share > 0 and user_bucket(user) < share


# --- the steps --------------------------------------------------------------------------
def propose(registry: ModelRegistry, version: str, who: str) -> RegistryState:
    """Make ``version`` the candidate, serving nobody yet."""
    registry.path(version)
    state = registry.state()
    if version == state.active:
        raise RegistryError(f"{version!r} is already the active version")
    if state.candidate is not None and state.share > 0:
        raise RegistryError(f"candidate {state.candidate!r} serves {state.share:.0%} of users; roll it back first")
    changed = RegistryState(state.active or version, version if state.active else None, 0.0, state.log)
    return registry.write_state(changed.logged("propose", version, 0.0, who))


def approve(registry: ModelRegistry, share: float, who: str) -> RegistryState:
    """Serve the candidate to ``share`` of users; ``share == 1`` promotes it to active."""
    if not 0.0 < share <= 1.0:
        raise RegistryError(f"share must be in (0, 1], got {share}")
    state = registry.state()
    if state.candidate is None:
        raise RegistryError("there is no candidate to approve; propose one first")
    if share >= 1.0:
        promoted = RegistryState(state.candidate, None, 0.0, state.log)
        return registry.write_state(promoted.logged("promote", state.candidate, 1.0, who, previous=state.active))
    changed = RegistryState(state.active, state.candidate, share, state.log)
    return registry.write_state(changed.logged("approve", state.candidate, share, who))


def rollback(registry: ModelRegistry, who: str) -> RegistryState:
    """Withdraw the candidate; with none, return to the version active before the last promotion."""
    state = registry.state()
    if state.candidate is not None:
        withdrawn = RegistryState(state.active, None, 0.0, state.log)
        return registry.write_state(withdrawn.logged("rollback", state.candidate, 0.0, who))
    promotions = [e for e in state.log if e.action == "promote" and e.version == state.active and e.previous]
    if not promotions or promotions[-1].previous is None:
        raise RegistryError("nothing to roll back: no candidate and no earlier active version")
    previous = promotions[-1].previous
    registry.path(previous)
    restored = RegistryState(previous, None, 0.0, state.log)
    return registry.write_state(restored.logged("rollback", previous, 1.0, who, previous=state.active))


# --- the comparison ---------------------------------------------------------------------
def compare(
    active: Recommender,
    candidate: Recommender,
    users: Sequence[str],
    held_out: Ratings | None = None,
    k: int = 10,
    most_changed: int = 10,
) -> dict[str, Any]:
    """The candidate against the active model: held-out accuracy and how users' lists change.

    ``held_out`` ratings (raw ids; pairs a model does not know are dropped for that model) give
    RMSE and NDCG@k of each. For ``users`` known to both models: the mean overlap of the top-k
    lists (|A and B| / k), the mean popularity of the listed items (training counts of the
    active model, so both lists are measured with one ruler) and its shift, and the users whose
    lists change most, with the titles that enter and leave.
    """
    report: dict[str, Any] = {"k": k, "held_out": None}
    if held_out is not None and len(held_out):
        report["held_out"] = {"active": _accuracy(active, held_out, k), "candidate": _accuracy(candidate, held_out, k)}
    report["lists"] = _list_changes(active, candidate, users, k, most_changed)
    return report


def _accuracy(recommender: Recommender, held_out: Ratings, k: int) -> dict[str, Any]:
    test = reindex(held_out, recommender)
    if len(test) == 0:
        return {"rmse": None, f"ndcg@{k}": None, "n": 0}
    metrics = evaluate(recommender, test, k)
    return {"rmse": metrics["rmse"], f"ndcg@{k}": metrics[f"ndcg@{k}"], "n": len(test)}


def reindex(ratings: Ratings, recommender: Recommender) -> Ratings:
    """``ratings`` over the recommender's catalog (by raw id), pairs it does not know dropped."""
    users = recommender.user_ids.indices(np.asarray(ratings.user_ids.ids, dtype=object)[ratings.users], "missing")
    items = recommender.item_ids.indices(np.asarray(ratings.item_ids.ids, dtype=object)[ratings.items], "missing")
    keep = (users >= 0) & (items >= 0)
    return Ratings(
        users[keep], items[keep], ratings.ratings[keep], recommender.user_ids, recommender.item_ids,
        ratings.scale, None if ratings.timestamps is None else ratings.timestamps[keep], name=ratings.name,
    )  # fmt: skip


def _list_changes(
    active: Recommender, candidate: Recommender, users: Sequence[str], k: int, most_changed: int
) -> dict[str, Any]:
    known = [u for u in dict.fromkeys(users) if u in active.user_ids and u in candidate.user_ids]
    if not known:
        return {"users": 0, f"overlap@{k}": None, "popularity_shift": None, "most_changed": []}
    old = _raw_lists(active, known, k)
    new = _raw_lists(candidate, known, k)
    overlap = np.array([len(set(a) & set(b)) / k for a, b in zip(old, new, strict=True)])
    pop_old, pop_new = _mean_popularity(active, old), _mean_popularity(active, new)
    order = np.argsort(overlap, kind="stable")[:most_changed]
    changed = [_change(active, candidate, known[i], old[i], new[i], float(overlap[i])) for i in order]
    return {
        "users": len(known),
        f"overlap@{k}": float(overlap.mean()),
        "popularity_active": pop_old,
        "popularity_candidate": pop_new,
        "popularity_shift": pop_new - pop_old,
        "most_changed": changed,
    }


def _raw_lists(recommender: Recommender, users: list[str], k: int) -> list[list[str]]:
    items, _ = recommender.top_n(recommender.user_ids.indices(users), k)
    return [[recommender.item_ids.raw(int(i)) for i in row if i >= 0] for row in items]


def _mean_popularity(reference: Recommender, lists: list[list[str]]) -> float:
    flat = [item for row in lists for item in row]
    if not flat:
        return 0.0
    index = reference.item_ids.indices(flat, "missing")
    counts = np.where(index >= 0, reference.item_popularity[np.maximum(index, 0)], 0)
    return float(counts.mean())


def _change(
    active: Recommender, candidate: Recommender, user: str, old: list[str], new: list[str], overlap: float
) -> dict[str, Any]:
    added = [candidate.title(candidate.item_ids.index(i)) for i in new if i not in old]
    removed = [active.title(active.item_ids.index(i)) for i in old if i not in new]
    return {"user": user, "overlap": overlap, "added": added, "removed": removed}
