"""The service's state: the registry's versions loaded, the store, and what users rated through it.

The store is the source of truth for everything that arrived through the service: at start
the service reads every stored rating and new user back, and places each new user in every
loaded version. A :class:`Snapshot` (active model, candidate, share) is replaced whole, never
changed in place: a request that picked one up keeps a consistent view while the registry
state changes, so swapping versions under load drops nothing.
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from embrec.artifacts.model_dir import load
from embrec.data.ids import UnknownIdError
from embrec.data.ratings import Ratings
from embrec.serving.live_model import LiveModel
from embrec.serving.model_registry import ModelRegistry, RegistryError, RegistryState
from embrec.serving.newcomers import place_user
from embrec.serving.ratings_store import RatingsStore, StoredRating
from embrec.serving.rollout import serves_candidate

log = logging.getLogger(__name__)
KEPT_VERSIONS = 3  # versions kept in memory: swapping back (a rollback) needs no reload


@dataclass(frozen=True)
class Settings:
    """How the service runs.

    ``admin_token_env`` names the environment variable holding the admin token (admin
    endpoints are refused while it is unset); ``reload_seconds`` is how often the registry's
    state file is checked for changes made elsewhere (``embrec rollout ...``); ``held_out``
    ratings, when given, add held-out accuracy to the rollout comparison; ``list_cache_mb``
    bounds the lists kept for repeated ``/recommendations`` requests (MiB; 0 keeps none, see
    :mod:`embrec.serving.fast_path`).
    """

    max_body_bytes: int = 1 << 20
    admin_token_env: str = "EMBREC_ADMIN_TOKEN"
    reload_seconds: float = 1.0
    held_out: Ratings | None = None
    list_cache_mb: float = 64.0  # ~45,000 lists of 10


@dataclass(frozen=True)
class Snapshot:
    active: LiveModel
    candidate: LiveModel | None
    share: float
    state: RegistryState

    def model_for(self, user: str) -> LiveModel:
        """The candidate for users in its share who it knows, else the active model."""
        if self.candidate is not None and serves_candidate(user, self.share) and self.candidate.knows(user):
            return self.candidate
        return self.active


@dataclass
class Service:
    registry: ModelRegistry
    store: RatingsStore
    settings: Settings
    snapshot: Snapshot = field(init=False)
    rated: dict[str, dict[str, float]] = field(default_factory=dict)  # user -> item -> latest rating
    profiles: dict[str, dict[str, Any]] = field(default_factory=dict)  # new users -> onboarding answers
    _models: dict[str, LiveModel] = field(default_factory=dict)  # loaded versions, oldest first
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _stamp: tuple[int, int, int] = (0, 0, 0)
    _checked: float = 0.0

    def __post_init__(self) -> None:
        for user in self.store.users():
            self.profiles[user.user] = user.profile
        self._remember(self.store.ratings())
        self.reload(force=True)

    # --- versions ---------------------------------------------------------------------
    def current(self) -> Snapshot:
        """The snapshot to answer with; picks up registry changes at most every ``reload_seconds``."""
        now = time.monotonic()
        if now - self._checked >= self.settings.reload_seconds:
            self._checked = now
            if self.registry.state_stamp() != self._stamp and not self._lock.locked():
                threading.Thread(target=self.reload, daemon=True).start()
        return self.snapshot

    def reload(self, force: bool = False) -> Snapshot:
        """Load the versions the registry's state names (reusing those already loaded)."""
        with self._lock:
            stamp, state = self.registry.state_stamp(), self.registry.state()
            if not force and state == self.snapshot.state:
                self._stamp = stamp
                return self.snapshot
            if state.active is None:
                raise RegistryError(f"{self.registry.root}: no model version to serve")
            if force:
                self._models.clear()
            active = self._models.get(state.active) or self._load(state.active)
            candidate = None
            if state.candidate is not None:
                candidate = self._models.get(state.candidate) or self._load(state.candidate)
            self.snapshot = Snapshot(active, candidate, state.share, state)
            self._evict({active.version} | ({candidate.version} if candidate else set()))
            self._stamp = stamp
            log.info("serving %s (candidate %s at %.0f%%)", state.active, state.candidate, 100 * state.share)
            return self.snapshot

    def _loaded(self) -> list[LiveModel]:
        """Every version in memory: the snapshot's and a few recent ones (new users are placed in all)."""
        return list(self._models.values())

    def _load(self, version: str) -> LiveModel:
        model = LiveModel.build(version, load(self.registry.path(version)))
        for user in self.profiles:
            self._place(model, user)
        self._models[version] = model
        return model

    def _evict(self, serving: set[str]) -> None:
        """Keep the serving versions and the most recently loaded others, ``KEPT_VERSIONS`` in all."""
        spare = [v for v in self._models if v not in serving]
        for version in spare[: max(len(self._models) - KEPT_VERSIONS, 0)]:
            del self._models[version]

    # --- users and ratings ------------------------------------------------------------
    def is_new_user(self, user: str) -> bool:
        return user in self.profiles

    def check_user(self, user: str) -> None:
        """Raise :class:`UnknownIdError` unless the user is trained in the active model or new."""
        if user not in self.profiles and user not in self.snapshot.active.recommender.user_ids:
            raise UnknownIdError("user", user)

    def new_user_id(self) -> str:
        return f"new-{uuid.uuid4().hex[:12]}"

    def add_user(self, user: str, profile: dict[str, Any], ratings: Sequence[StoredRating]) -> None:
        """Store the user and its ratings (committed), then place it in every loaded version."""
        self.store.add_user(user, profile, ratings)
        with self._lock:
            self.profiles[user] = profile
            self._remember(ratings)
            for model in self._loaded():
                self._place(model, user)

    def add_ratings(self, ratings: Sequence[StoredRating]) -> list[str]:
        """Store the ratings (committed); new users among them are placed again. Returns those users."""
        self.store.add_ratings(ratings)
        with self._lock:
            self._remember(ratings)
            refolded = sorted({r.user for r in ratings if r.user in self.profiles})
            for user in refolded:
                for model in self._loaded():
                    self._place(model, user)
        return refolded

    def _remember(self, ratings: Sequence[StoredRating]) -> None:
        """Copy-on-write: a request reading a user's ratings never sees the dict change under it.

        A changed user gets a new dict (never the old one updated): the list cache relies on it.
        """
        changed: dict[str, dict[str, float]] = {}
        for r in ratings:
            changed.setdefault(r.user, dict(self.rated.get(r.user, {})))[r.item] = r.rating
        self.rated.update(changed)

    def _place(self, model: LiveModel, user: str) -> None:
        rated = self.rated.get(user, {})
        index = model.recommender.item_ids.indices(list(rated), "missing") if rated else np.empty(0, np.int32)
        values = np.asarray(list(rated.values()), dtype=np.float32)
        known = index >= 0
        genres = [str(g) for g in self.profiles.get(user, {}).get("genres", [])]
        placement = place_user(model.recommender, index[known].astype(np.int64), values[known], genres, model.prior)
        model.place(user, placement)
