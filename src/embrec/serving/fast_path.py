"""The hot path of ``GET /recommendations/{user_id}``: the plain, valid request answered below FastAPI.

FastAPI's routing and parameter solving cost as much CPU per request as the list itself (about
100 us of the ~200 us a list took on the 2-core reference machine). :class:`RecommendationsFastPath`
answers ``GET /recommendations/{user}`` whose query is empty or exactly ``k=<1..100>`` for a user
the serving model knows, with the very bytes the FastAPI route writes (both call
:func:`list_json`). Any other request -- ``explain``, a malformed or out-of-range ``k``, an unknown
user, another method -- goes on to the FastAPI app, which validates and answers as documented in
the OpenAPI description. The response's route is recorded in ``scope["route"]`` so the metrics
middleware labels it like the FastAPI route's.

:class:`ListCache` keeps the answer of each (model version, user, k) until the user's ratings or
placement change: the service replaces a user's rating dict and placement whole on every change
(copy-on-write), so an entry is valid while both are the very objects it was computed from.
"""

from __future__ import annotations

import json
import math
import weakref
from collections.abc import Mapping
from dataclasses import dataclass, field

from starlette.routing import BaseRoute
from starlette.types import ASGIApp, Receive, Scope, Send

from embrec.serving.live_model import Listed, LiveModel
from embrec.serving.metrics import ServiceMetrics
from embrec.serving.newcomers import Placement
from embrec.serving.service import Service

PREFIX = "/recommendations/"
MAX_K = 100  # the route's own bound (app.K)
_NO_BECAUSE = b',"because":null}'
_HEADERS = [(b"content-type", b"application/json")]


def list_json(model: LiveModel, user: str, listed: list[Listed]) -> bytes:
    """The ``RecommendationList`` JSON of ``listed`` (what ``json.dumps`` writes, compact)."""
    head = b'{"user":' + _dumps(user) + b',"model_version":' + _dumps(model.version) + b',"items":['
    items = b",".join(_item_json(model, entry) for entry in listed)
    return head + items + b"]}"


def _item_json(model: LiveModel, entry: Listed) -> bytes:
    score = repr(entry.score).encode() if math.isfinite(entry.score) else _dumps(entry.score)
    because = _NO_BECAUSE if entry.because is None else b',"because":' + _dumps(list(entry.because)) + b"}"
    return model.item_json_prefix(entry.index) + score + because


def _dumps(value: object) -> bytes:
    return json.dumps(value, separators=(",", ":")).encode()


@dataclass(frozen=True)
class _Entry:
    model: weakref.ref[LiveModel]
    rated: Mapping[str, float]
    placed: Placement | None
    body: bytes


@dataclass
class ListCache:
    """Answers of (user, k), ``max_bytes`` of response bodies at most (oldest dropped first); 0 keeps none.

    An entry is served only to the very model, rating dict and placement it was computed from
    (a version swap or a new rating misses, and the entry is replaced).
    """

    max_bytes: int
    _bytes: int = 0
    _entries: dict[tuple[str, int], _Entry] = field(default_factory=dict)

    def get(self, model: LiveModel, user: str, k: int, rated: Mapping[str, float]) -> bytes | None:
        entry = self._entries.get((user, k))
        if entry is None or entry.model() is not model or entry.rated is not rated:
            return None
        return entry.body if entry.placed is model.placed.get(user) else None

    def put(self, model: LiveModel, user: str, k: int, key: tuple[Mapping[str, float], Placement | None],
            body: bytes) -> None:  # fmt: skip
        """Keep ``body``, computed from ``key``: the rating dict and placement read *before* computing it."""
        if len(body) > self.max_bytes:
            return
        self._drop((user, k))  # re-inserted last: the oldest entries go first
        while self._bytes + len(body) > self.max_bytes:
            self._drop(next(iter(self._entries)))
        self._entries[(user, k)] = _Entry(weakref.ref(model), *key, body)
        self._bytes += len(body)

    def _drop(self, key: tuple[str, int]) -> None:
        entry = self._entries.pop(key, None)
        if entry is not None:
            self._bytes -= len(entry.body)

    def __len__(self) -> int:
        return len(self._entries)


class RecommendationsFastPath:
    """ASGI middleware answering the plain ``GET /recommendations/{user}?k=N`` (see the module doc)."""

    def __init__(self, app: ASGIApp, service: Service, route: BaseRoute, cache: ListCache, metrics: ServiceMetrics):
        self.app = app
        self.service = service
        self.route = route
        self.cache = cache
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        body = self._answer(scope) if scope["type"] == "http" and scope["method"] == "GET" else None
        if body is None:
            await self.app(scope, receive, send)
            return
        scope["route"] = self.route
        headers = [*_HEADERS, (b"content-length", str(len(body)).encode())]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": body})

    def _answer(self, scope: Scope) -> bytes | None:
        """The list's bytes, or None when the request is not the plain case."""
        path: str = scope["path"]
        if not path.startswith(PREFIX):
            return None
        user = path[len(PREFIX) :]
        k = _k(scope["query_string"])
        if k is None or not user or "/" in user:
            return None
        model = self.service.current().model_for(user)
        if not model.knows(user):
            return None  # the route falls back to the active model, or answers 404
        rated, placed = self.service.rated.get(user, _EMPTY), model.placed.get(user)
        body = self.cache.get(model, user, k, rated)
        if body is not None:
            self.metrics.list_hits.inc()
            return body
        # Should the placement change while this list is computed, the entry holds the older
        # placement and the next request misses: never a stale list kept.
        body = list_json(model, user, model.recommend(user, k, rated))
        self.cache.put(model, user, k, (rated, placed), body)
        self.metrics.list_misses.inc()
        return body


_EMPTY: Mapping[str, float] = {}


def _k(query: bytes) -> int | None:
    """``k`` from a query that is empty (10) or exactly ``k=<1..100>``; None for anything else."""
    if not query:
        return 10
    if not query.startswith(b"k=") or not 3 <= len(query) <= 5 or not query[2:].isdigit():
        return None
    k = int(query[2:])
    return k if 1 <= k <= MAX_K else None
