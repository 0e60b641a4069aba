"""What the hub tells its operators: Prometheus metrics, OpenTelemetry spans, JSON logs.

One journey (uploads, a repeated upload, a run, hit pages, an envelope release, refused
and rate-limited requests) is watched three ways. The figures must add up, the spans
must show each request and each stage of the run, and none of the three may carry a
token, a reference, a record value or a path's ids.
"""

import json
import logging
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from service.config import Settings
from service.deps import get_session
from service.logs import JsonFormatter
from service.main import create_app
from service.store.audit import chain_head
from service.tracing import Tracing, configured_tracing
from tests.service.batch_files import ARROW, as_file
from tests.service.conftest import SessionFactory
from tests.service.factories import bearer
from tests.service.test_disclosure import (
    Scene,
    details,
    finished_run,
    hits_of,
    make_disclosure_scene,
    release,
)

RATE = 40  # requests per minute and principal, so that the test can run into the limit


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return settings.model_copy(update={"rate_per_principal": RATE})


@pytest.fixture
def spans() -> InMemorySpanExporter:
    return InMemorySpanExporter()


@pytest.fixture
def client(
    engine: Engine, session_factory: SessionFactory, settings: Settings, spans: InMemorySpanExporter
) -> Iterator[TestClient]:
    """The conftest's client, with tracing into memory (set before the app starts)."""
    app = create_app(settings, engine=engine)
    app.state.tracing = Tracing(spans, batch=False)
    if engine.dialect.name != "sqlite":

        def joined() -> Iterator[Session]:
            with session_factory() as session:
                yield session

        app.dependency_overrides[get_session] = joined
        app.state.sessions = session_factory
    with TestClient(app) as client:
        yield client


class Journey:
    """The scene and what the journey did."""

    def __init__(self, client: TestClient, scene: Scene) -> None:
        self.client, self.scene = client, scene
        self.run_id = finished_run(client, scene)
        self.hits = hits_of(client, scene, self.run_id)
        self.released = release(client, scene, self.run_id, self.hits[0]["number"]).json()
        self.again = client.post(
            f"/v1/projects/{scene.project_id}/uploads",
            content=as_file(scene.batches["FIU"]),
            headers=bearer(scene.tokens["FIU"]) | ARROW,
        )
        self.unauthenticated = client.get("/v1/projects")
        self.forbidden = release(client, scene, self.run_id, 1, who="auditor")
        self.limited = [
            client.get(f"/v1/projects/{scene.project_id}", headers=bearer(scene.tokens["FIU"]))
            for _ in range(RATE + 1)
        ]

    def secrets(self) -> list[str]:
        """What must never appear: tokens, references, record values, ids in paths."""
        references = [ref for batch in self.scene.batches.values() for ref in batch.references]
        values = [value for ref in references[:20] for value in details(ref).values()]
        return [*self.scene.tokens.values(), *references, *values, str(self.scene.project_id)]


@pytest.fixture
def journey(client: TestClient, session: Session, admin_token: str) -> Journey:
    scene = make_disclosure_scene(client, session)
    scene.tokens["admin"] = admin_token
    return Journey(client, scene)


def scrape(journey: Journey) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    answer = journey.client.get("/metrics", headers=bearer(journey.scene.tokens["admin"]))
    assert answer.status_code == 200, answer.text
    assert not [secret for secret in journey.secrets() if secret in answer.text]
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(answer.text)
        for sample in family.samples
    }


def test_metrics_count_uploads_runs_hits_refusals_and_the_audit_chain(
    journey: Journey, session: Session
) -> None:
    metrics = scrape(journey)
    head, _ = chain_head(session)

    def value(name: str, **labels: str) -> float:
        return metrics.get((name, tuple(sorted(labels.items()))), 0.0)

    assert journey.again.status_code == 200 and journey.limited[-1].status_code == 429
    assert value("fieldlink_uploads_total", outcome="stored") == 3
    assert value("fieldlink_uploads_total", outcome="unchanged") == 1
    assert value("fieldlink_upload_records_total") == 3 * 120
    assert value("fieldlink_runs_total", outcome="succeeded") == 1
    assert value("fieldlink_run_seconds_count") == 1
    stages = {
        dict(labels)["stage"] for name, labels in metrics if name.endswith("stage_seconds_count")
    }
    assert {"reading uploads", "comparing", "grouping", "storing hits"} <= stages
    assert value("fieldlink_hits_served_total") == len(journey.hits)
    assert value("fieldlink_envelopes_released_total") == len(journey.released["envelopes"]) > 0
    route = "/v1/projects/{project_id}/runs/{run_id}/hits/{number}/envelopes"
    assert value("fieldlink_denied_requests_total", route="/v1/projects", status="401") == 1
    assert value("fieldlink_denied_requests_total", route=route, status="403") == 1
    assert value("fieldlink_rate_limited_requests_total", route="/v1/projects/{project_id}") >= 1
    assert value("fieldlink_audit_chain_length") == head > 0


def test_spans_show_each_request_and_each_stage_of_a_run_and_nothing_personal(
    journey: Journey, spans: InMemorySpanExporter
) -> None:
    finished = spans.get_finished_spans()
    by_name: dict[str, list[ReadableSpan]] = {}
    for span in finished:
        by_name.setdefault(span.name, []).append(span)
    (run,) = by_name["run"]
    (started,) = by_name["POST /v1/projects/{project_id}/runs"]
    stages = [span for span in finished if span.name.startswith("run stage: ")]

    assert len(by_name["POST /v1/projects/{project_id}/uploads"]) == 4
    assert dict(started.attributes or {}) == {
        "http.request.method": "POST",
        "http.route": "/v1/projects/{project_id}/runs",
        "http.response.status_code": 202,
        "fieldlink.request_id": started.attributes["fieldlink.request_id"],  # type: ignore[index]
    }
    assert run.parent is not None and run.parent.span_id == started.context.span_id  # inline run
    assert run.attributes == {
        "fieldlink.run_id": journey.run_id,
        "fieldlink.attempt": 1,
        "fieldlink.outcome": "succeeded",
    }
    assert {"reading uploads", "comparing", "storing hits"} <= {
        span.attributes["fieldlink.stage"]  # type: ignore[index]
        for span in stages
    }
    assert all(span.parent.span_id == run.context.span_id for span in stages)  # type: ignore[union-attr]
    shown = json.dumps([[span.name, dict(span.attributes or {})] for span in finished])
    assert not [secret for secret in journey.secrets() if secret in shown]
    keys = {key for span in finished for key in (span.attributes or {})}
    assert keys <= {
        "http.request.method",
        "http.route",
        "http.response.status_code",
        "fieldlink.request_id",
        "fieldlink.run_id",
        "fieldlink.attempt",
        "fieldlink.outcome",
        "fieldlink.stage",
    }


def test_log_lines_are_json_and_hold_nothing_personal(
    client: TestClient, session: Session, admin_token: str, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.DEBUG, logger="service"):
        scene = make_disclosure_scene(client, session)
        scene.tokens["admin"] = admin_token
        journey = Journey(client, scene)

    lines = [JsonFormatter().format(record) for record in caplog.records]
    parsed: list[dict[str, Any]] = [json.loads(line) for line in lines]
    assert {"service.access", "service.jobs"} <= {line["logger"] for line in parsed}
    assert not [secret for secret in journey.secrets() if any(secret in line for line in lines)]


def test_tracing_is_off_unless_an_exporter_is_named(settings: Settings) -> None:
    chosen = {
        name: configured_tracing(settings.model_copy(update={"traces_exporter": name}))
        for name in ("", "console", "otlp")
    }

    assert {name: tracing.enabled for name, tracing in chosen.items()} == {
        "": False,
        "console": True,
        "otlp": True,
    }
    for tracing in chosen.values():
        tracing.shutdown()
