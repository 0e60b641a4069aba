"""OpenTelemetry traces of requests and run stages, when an exporter is configured.

`FIELDLINK_TRACES_EXPORTER=otlp` sends spans to the collector the standard
`OTEL_EXPORTER_OTLP_*` variables name (`console` prints them); unset, nothing is traced and
OpenTelemetry is not even imported (it comes with the `fieldlink[telemetry]` extra).

Spans carry what the access log carries, no more: a request span is named by method and
route template and holds the status and request id; a run span holds the run id and
attempt, each of its stage spans the stage name (`service.run_clock`). No path value,
query string, header, token, body or record value is ever an attribute.
"""

import os
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from fastapi import FastAPI
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from service.config import Settings
from service.metrics import route_label

if TYPE_CHECKING:
    from opentelemetry.sdk.trace.export import SpanExporter
    from opentelemetry.trace import Span

SERVICE_NAME = "fieldlink-hub"
Attributes = Mapping[str, str | int | float | bool]


class Tracing:
    """Starts and ends spans; every method does nothing when no exporter is given.

    Args:
        exporter: Where finished spans go; None: no tracing.
        batch: Export in the background in batches (deployments); False exports each
            span as it ends (tests).
    """

    def __init__(self, exporter: "SpanExporter | None" = None, *, batch: bool = True) -> None:
        self._provider: Any = None
        if exporter is None:
            return
        from opentelemetry.sdk.resources import Resource
        from opentelemetry.sdk.trace import TracerProvider
        from opentelemetry.sdk.trace.export import BatchSpanProcessor, SimpleSpanProcessor

        name = os.environ.get("OTEL_SERVICE_NAME") or SERVICE_NAME
        self._provider = TracerProvider(resource=Resource.create({"service.name": name}))
        processor = BatchSpanProcessor(exporter) if batch else SimpleSpanProcessor(exporter)
        self._provider.add_span_processor(processor)
        self._tracer = self._provider.get_tracer("fieldlink.hub")

    def __repr__(self) -> str:
        return f"Tracing(enabled={self.enabled})"

    @property
    def enabled(self) -> bool:
        """Whether spans are recorded at all."""
        return self._provider is not None

    def start(
        self, name: str, attributes: Attributes, parent: "Span | None" = None
    ) -> "Span | None":
        """Start a span (a child of `parent`, else of the current span); None when disabled."""
        if self._provider is None:
            return None
        from opentelemetry import trace

        context = trace.set_span_in_context(parent) if parent is not None else None
        span: Span = self._tracer.start_span(name, context=context, attributes=dict(attributes))
        return span

    def end(self, span: "Span | None", attributes: Attributes | None = None) -> None:
        """Add the attributes known at the end and end the span."""
        if span is None:
            return
        if attributes:
            span.set_attributes(dict(attributes))
        span.end()

    @contextmanager
    def current(self, span: "Span | None") -> Iterator[None]:
        """Make `span` the parent of spans started inside the block (this task or thread)."""
        if span is None:
            yield
            return
        from opentelemetry import context, trace

        token = context.attach(trace.set_span_in_context(span))
        try:
            yield
        finally:
            context.detach(token)

    def shutdown(self) -> None:
        """Export what is pending and stop (at the hub's shutdown)."""
        if self._provider is not None:
            self._provider.shutdown()


def configured_tracing(settings: Settings) -> Tracing:
    """Tracing as `FIELDLINK_TRACES_EXPORTER` asks: none, OTLP over HTTP, or the console."""
    if settings.traces_exporter == "otlp":
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

        return Tracing(OTLPSpanExporter())
    if settings.traces_exporter == "console":
        from opentelemetry.sdk.trace.export import ConsoleSpanExporter

        return Tracing(ConsoleSpanExporter())
    return Tracing()


class _Traced:
    """Pure ASGI middleware: one span per HTTP request, when the app's tracing is enabled."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        tracing: Tracing = scope["app"].state.tracing
        if scope["type"] != "http" or not tracing.enabled:
            await self.app(scope, receive, send)
            return
        method, status = str(scope["method"]), 500
        span = tracing.start("HTTP request", {"http.request.method": method})

        async def send_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            with tracing.current(span):
                await self.app(scope, receive, send_status)
        finally:
            route = route_label(scope)
            if span is not None:
                span.update_name(f"{method} {route}")
            request_id = scope.get("state", {}).get("request_id", "")
            tracing.end(
                span,
                {
                    "http.route": route,
                    "http.response.status_code": status,
                    "fieldlink.request_id": str(request_id),
                },
            )


def install_tracing(app: FastAPI, tracing: Tracing) -> None:
    """Trace the app's requests with `tracing`.

    It is kept on `app.state.tracing`, which tests may replace before the app starts; the
    run workers take theirs from there too.
    """
    app.state.tracing = tracing
    app.add_middleware(_Traced)
