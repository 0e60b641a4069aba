"""Prometheus metrics at /metrics: requests, uploads, runs, hits, refusals, the audit chain.

Each app gets its own registry, so several apps in one process (tests) do not collide.
Labels are route templates, outcomes, statuses and stage names, never a caller, an id or
a value:

- `fieldlink_requests_total{route,status}`, `fieldlink_request_seconds{route}`;
- `fieldlink_denied_requests_total{route,status}`: 401 and 403 answers;
- `fieldlink_rate_limited_requests_total{route}`: 429 answers (address and principal
  rates, authentication back-off, a full run queue; `route` is "unmatched" for those the
  address limit refused before routing);
- `fieldlink_uploads_total{outcome}` (stored, unchanged, replaced, deleted, refused) and
  `fieldlink_upload_records_total`;
- `fieldlink_hits_served_total` (hits in pages and exports), `fieldlink_envelopes_released_total`;
- `fieldlink_runs_total{outcome}`, `fieldlink_run_seconds`, `fieldlink_run_stage_seconds{stage}`
  (observed by `service.run_clock`);
- `fieldlink_audit_chain_length`: the audit chain's head sequence, read at each scrape.

The request-side counts come from what a route already notes for the audit log
(`request.state.audit_records`) and from the answer's status, in one middleware.

/metrics needs an administrator's or an auditor's bearer token (a scraper is configured
with one): the counts over time show when envelopes were released, batches uploaded and
runs started, which is the project's business, not the network's. Like /docs it is not
part of /v1 and not audited (a scraper calls it every few seconds).
"""

import logging
import time
from collections.abc import Iterator
from typing import Any

from fastapi import Depends, FastAPI, Response
from fastapi.routing import APIRoute
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.exposition import generate_latest
from prometheus_client.registry import Collector
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from service.auth import Role
from service.deps import require_role
from service.request_log import route_template
from service.store.audit import chain_head

logger = logging.getLogger(__name__)

_LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 10.0, 60.0)
_RUN_BUCKETS = (0.1, 0.5, 1.0, 5.0, 15.0, 30.0, 60.0, 120.0, 300.0, 600.0, 1800.0, 3600.0)
_UPLOAD_OUTCOMES = {("POST", 201): "stored", ("POST", 200): "unchanged", ("PUT", 200): "replaced"}


class HubMetrics:
    """The hub's metrics, registered in one app's registry."""

    def __init__(self, registry: CollectorRegistry) -> None:
        def counter(name: str, text: str, labels: tuple[str, ...] = ()) -> Counter:
            return Counter(name, text, labels, registry=registry)

        self.requests = counter("fieldlink_requests", "HTTP requests answered", ("route", "status"))
        self.latency = Histogram(
            "fieldlink_request_seconds",
            "Time to answer a request",
            ["route"],
            buckets=_LATENCY_BUCKETS,
            registry=registry,
        )
        self.denied = counter(
            "fieldlink_denied_requests", "Requests refused with 401 or 403", ("route", "status")
        )
        self.rate_limited = counter(
            "fieldlink_rate_limited_requests", "Requests refused with 429", ("route",)
        )
        self.uploads = counter(
            "fieldlink_uploads", "Batch upload requests by outcome", ("outcome",)
        )
        self.upload_records = counter("fieldlink_upload_records", "Records in batches stored")
        self.hits_served = counter("fieldlink_hits_served", "Hits served in pages and exports")
        self.envelopes_released = counter(
            "fieldlink_envelopes_released", "Sealed disclosure envelopes released"
        )
        self.runs = counter("fieldlink_runs", "Run executions finished by outcome", ("outcome",))
        self.run_seconds = Histogram(
            "fieldlink_run_seconds",
            "Time to execute a run",
            buckets=_RUN_BUCKETS,
            registry=registry,
        )
        self.stage_seconds = Histogram(
            "fieldlink_run_stage_seconds",
            "Time a run spent in each stage",
            ["stage"],
            buckets=_RUN_BUCKETS,
            registry=registry,
        )

    def answered(self, scope: Scope, status: int, seconds: float) -> None:
        """Count one answered request (called by the middleware)."""
        route = route_label(scope)
        self.latency.labels(route).observe(seconds)
        self.requests.labels(route, str(status)).inc()
        if status in (401, 403):
            self.denied.labels(route, str(status)).inc()
        elif status == 429:
            self.rate_limited.labels(route).inc()
        matched = scope.get("route")
        if isinstance(matched, APIRoute) and matched.tags:
            records = scope.get("state", {}).get("audit_records")
            self._count_records(matched, scope["method"], status, records)

    def _count_records(self, route: APIRoute, method: str, status: int, records: Any) -> None:
        counted = records if isinstance(records, int) and status < 400 else 0
        tag = route.tags[0]
        if tag == "uploads" and method != "GET":
            outcome = "deleted" if status == 204 else _UPLOAD_OUTCOMES.get((method, status))
            if outcome is None and status >= 400:
                outcome = "refused"
            if outcome is not None:
                self.uploads.labels(outcome).inc()
            if outcome in ("stored", "replaced"):
                self.upload_records.inc(counted)
        elif tag == "hits":
            self.hits_served.inc(counted)
        elif tag == "disclosure" and route.name.startswith("release_"):
            self.envelopes_released.inc(counted)


class _AuditChain(Collector):
    """The audit chain's length, read from the database at each scrape (all processes')."""

    def __init__(self, app: FastAPI) -> None:
        self.app = app

    def describe(self) -> Iterator[GaugeMetricFamily]:
        yield self._family()

    def collect(self) -> Iterator[GaugeMetricFamily]:
        try:
            with self.app.state.sessions() as session:
                length, _ = chain_head(session)
        except Exception as exc:  # the database is away: the scrape goes on without it
            logger.warning("audit chain length not read: %s", type(exc).__name__)
            return
        family = self._family()
        family.add_metric([], float(length))
        yield family

    @staticmethod
    def _family() -> GaugeMetricFamily:
        return GaugeMetricFamily(
            "fieldlink_audit_chain_length", "Entries in the audit chain (its head's sequence)"
        )


class _Measure:
    """Pure ASGI middleware (no body buffering, so streamed uploads stay streamed)."""

    def __init__(self, app: ASGIApp, metrics: HubMetrics) -> None:
        self.app = app
        self.metrics = metrics

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
            self.metrics.answered(scope, status, time.perf_counter() - started)


def install_metrics(app: FastAPI) -> HubMetrics:
    """Count and time every request; serve the registry at /metrics (outside the API).

    The metrics are also on `app.state.metrics`, for the run workers (`service.jobs`).
    """
    registry = CollectorRegistry()
    hub_metrics = HubMetrics(registry)
    registry.register(_AuditChain(app))
    app.state.metrics = hub_metrics
    app.add_middleware(_Measure, metrics=hub_metrics)

    reader = Depends(require_role(Role.ADMINISTRATOR, Role.AUDITOR))

    @app.get("/metrics", include_in_schema=False, tags=["metrics"], dependencies=[reader])
    def metrics() -> Response:
        return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)

    return hub_metrics


def route_label(scope: Scope) -> str:
    """The route template (/v1/projects/{project_id}), never the concrete path with its ids."""
    return route_template(scope)  # with the router prefixes, as the access log shows it
