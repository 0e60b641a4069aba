"""Prometheus metrics at /metrics: request counts and latencies by route, never by caller.

Each app gets its own registry, so several apps in one process (tests) do not collide.

/metrics needs an administrator's or an auditor's bearer token (a scraper is configured
with one): the counts over time show when envelopes were released, batches uploaded and
runs started, which is the project's business, not the network's. Like /docs it is not
part of /v1 and not audited (a scraper calls it every few seconds).
"""

import time
from typing import Any

from fastapi import Depends, FastAPI, Response
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram
from prometheus_client.exposition import generate_latest
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from service.auth import Role
from service.deps import require_role

_LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 10.0, 60.0)


class _Measure:
    """Pure ASGI middleware (no body buffering, so streamed uploads stay streamed)."""

    def __init__(self, app: ASGIApp, registry: CollectorRegistry) -> None:
        self.app = app
        self.requests = Counter(
            "fieldlink_requests", "HTTP requests answered", ["route", "status"], registry=registry
        )
        self.latency = Histogram(
            "fieldlink_request_seconds",
            "Time to answer a request",
            ["route"],
            buckets=_LATENCY_BUCKETS,
            registry=registry,
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started, status = time.perf_counter(), 500

        async def send_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, send_status)
        finally:
            route = _route_label(scope)
            self.latency.labels(route).observe(time.perf_counter() - started)
            self.requests.labels(route, str(status)).inc()


def install_metrics(app: FastAPI) -> None:
    """Count and time every request; serve the registry at /metrics (outside the API)."""
    registry = CollectorRegistry()
    app.add_middleware(_Measure, registry=registry)

    reader = Depends(require_role(Role.ADMINISTRATOR, Role.AUDITOR))

    @app.get("/metrics", include_in_schema=False, tags=["metrics"], dependencies=[reader])
    def metrics() -> Response:
        return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)


def _route_label(scope: dict[str, Any] | Scope) -> str:
    # The route template (/v1/projects/{project_id}), never the concrete path with its ids.
    route = scope.get("route")
    return str(getattr(route, "path", "unmatched"))
