"""Prometheus metrics of the service, and the ASGI middleware that records them.

- ``embrec_requests_total{method, route, status}``: requests answered;
- ``embrec_request_seconds{route}``: latency histogram;
- ``embrec_errors_total{route, kind}``: answers with status >= 400 (``kind`` = client | server);
- ``embrec_model_info{role, version}``: 1 for the active version and the candidate;
- ``embrec_candidate_share``: the share of users the candidate serves;
- ``embrec_list_cache_total{result}``: plain ``/recommendations`` lists answered from the list
  cache (``hit``) or computed (``miss``).

Routes are labelled by their template (``/recommendations/{user_id}``), never the raw path,
so the number of series stays bounded whatever clients send. Each app gets its own
``CollectorRegistry``: several apps in one process (tests) do not collide.
"""

from __future__ import annotations

import time

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from starlette.types import ASGIApp, Message, Receive, Scope, Send

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 10.0)


class ServiceMetrics:
    """The metric families of one app."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "embrec_requests", "Requests answered.", ("method", "route", "status"), registry=self.registry
        )
        self.latency = Histogram(
            "embrec_request_seconds", "Request latency.", ("route",), buckets=_BUCKETS, registry=self.registry
        )
        self.errors = Counter("embrec_errors", "Answers with status >= 400.", ("route", "kind"), registry=self.registry)
        self.model = Gauge("embrec_model_info", "Model versions served.", ("role", "version"), registry=self.registry)
        self.share = Gauge("embrec_candidate_share", "Share of users served by the candidate.", registry=self.registry)
        lists = Counter(
            "embrec_list_cache", "Plain lists from the cache or computed.", ("result",), registry=self.registry
        )
        self.list_hits, self.list_misses = lists.labels(result="hit"), lists.labels(result="miss")
        # (method, route, status) -> its series: looking labels up costs more than the request's counting
        self._series: dict[tuple[str, str, int], tuple[Counter, Histogram, Counter | None]] = {}

    def set_versions(self, active: str, candidate: str | None, share: float) -> None:
        self.model.clear()
        self.model.labels(role="active", version=active).set(1)
        if candidate is not None:
            self.model.labels(role="candidate", version=candidate).set(1)
        self.share.set(share if candidate is not None else 0.0)

    def observe(self, method: str, route: str, status: int, seconds: float) -> None:
        series = self._series.get((method, route, status))
        if series is None:
            errors: Counter | None = None
            if status >= 400:
                errors = self.errors.labels(route=route, kind="server" if status >= 500 else "client")
            series = (self.requests.labels(method=method, route=route, status=str(status)),
                      self.latency.labels(route=route), errors)  # fmt: skip
            self._series[(method, route, status)] = series
        requests, latency, errors = series
        requests.inc()
        latency.observe(seconds)
        if errors is not None:
            errors.inc()

    def render(self) -> bytes:
        return generate_latest(self.registry)


class MetricsMiddleware:
    """Times every HTTP request and counts its status, labelled by route template."""

    def __init__(self, app: ASGIApp, metrics: ServiceMetrics):
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        status = 500

        async def send_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, send_status)
        finally:
            route = getattr(scope.get("route"), "path", None) or "unmatched"
            self.metrics.observe(scope["method"], route, status, time.perf_counter() - start)


class BodyLimitMiddleware:
    """Refuse request bodies over ``limit`` bytes with 413, by header or while streaming."""

    def __init__(self, app: ASGIApp, limit: int):
        self.app = app
        self.limit = limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope.get("headers", [])).get(b"content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > self.limit):
            await _too_large(send, self.limit)
            return
        if declared is not None:
            await self.app(scope, receive, send)
            return
        # No length announced (chunked): read the body here, up to the limit, then replay it.
        messages: list[Message] = []
        received, more = 0, True
        while more:
            message = await receive()
            messages.append(message)
            received += len(message.get("body", b""))
            more = message["type"] == "http.request" and bool(message.get("more_body", False))
            if received > self.limit:
                await _too_large(send, self.limit)
                return

        async def replay() -> Message:
            return messages.pop(0) if messages else await receive()

        await self.app(scope, replay, send)


async def _too_large(send: Send, limit: int) -> None:
    body = f'{{"detail":"request body over the limit of {limit} bytes"}}'.encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": 413, "headers": headers})
    await send({"type": "http.response.body", "body": body})
