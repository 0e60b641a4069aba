"""Logs: one JSON object per line; no SQL parameters, query strings, bodies or tokens.

The access log replaces uvicorn's (which prints the full URL): a line per request with
method, route template, status, duration and request id. An exception no handler took is
logged by type, causes and frames with the request id, and answered as a bare 500; it
never reaches the server, whose traceback would print its message.
"""

import json
import logging
import subprocess
import sys
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text
from sqlalchemy.exc import StatementError
from sqlalchemy.orm import Session

from service.config import Settings
from service.db import make_engine
from service.deps import SessionDep
from service.logs import JsonFormatter
from service.main import create_app
from service.models import utcnow
from service.request_ids import is_request_id
from service.store.audit import EntryDraft
from tests.service.factories import bearer

MARKER = "Jan-de-Vries-1987-06-05"  # a value (a note, a token) that must never be logged


def formatted(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [JsonFormatter().format(record) for record in caplog.records]


def access_lines(caplog: pytest.LogCaptureFixture) -> list[dict[str, object]]:
    lines = [json.loads(line) for line in formatted(caplog)]
    return [line for line in lines if line["logger"] == "service.access"]


def test_each_request_is_one_access_line_without_path_values_or_query(
    client: TestClient, admin_token: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="service")
    project = "00000000-0000-4000-8000-000000000001"

    response = client.get(
        f"/v1/projects/{project}?token={MARKER}",
        headers={**bearer(admin_token), "X-Request-ID": "req-0001-abcd"},
    )
    client.post("/v1/agencies", json={"name": MARKER}, headers=bearer(admin_token))

    first, second = access_lines(caplog)
    assert response.status_code == 404
    assert first == first | {
        "message": "request",
        "method": "GET",
        "route": "/v1/projects/{project_id}",
        "status": 404,
        "request_id": "req-0001-abcd",
    }
    assert isinstance(first["duration_ms"], float)
    assert (second["route"], second["status"]) == ("/v1/agencies", 201)
    assert is_request_id(str(second["request_id"]))
    everything = "\n".join(formatted(caplog))
    assert MARKER not in everything and project not in everything
    assert admin_token not in everything


def test_an_unmatched_path_is_logged_as_unmatched(
    client: TestClient, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="service")

    client.get(f"/v1/{MARKER}")

    (line,) = access_lines(caplog)
    assert (line["route"], line["status"]) == ("unmatched", 404)
    assert MARKER not in "\n".join(formatted(caplog))


def test_pages_and_assets_are_logged_by_their_route_too(
    client: TestClient, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="service")

    client.get("/docs")
    client.get("/static/docs/swagger-ui.css")

    assert [line["route"] for line in access_lines(caplog)] == ["/docs", "/static/{path}"]


def test_an_unhandled_database_error_logs_its_type_and_request_id_only(
    settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    app = create_app(settings)

    @app.get("/v1/boom", tags=["test"])
    def boom(session: SessionDep) -> None:
        session.execute(text("SELECT * FROM no_such_table WHERE note = :note"), {"note": MARKER})

    caplog.set_level(logging.INFO, logger="service")
    with TestClient(app) as client:  # raise_server_exceptions: nothing reaches the server
        response = client.get("/v1/boom", headers={"X-Request-ID": "boom-request-1"})

    lines = [json.loads(line) for line in formatted(caplog)]
    (error,) = [line for line in lines if line.get("exception")]
    assert response.status_code == 500
    assert response.json()["code"] == "internal-error"
    assert response.headers["x-request-id"] == "boom-request-1"
    assert error["exception"] == "OperationalError"
    assert error["request_id"] == "boom-request-1"
    assert any("boom" in frame for frame in error["frames"])
    assert MARKER not in "\n".join(formatted(caplog)) + response.text
    assert [line["status"] for line in lines if line["logger"] == "service.access"] == [500]


def test_the_engine_keeps_sql_parameters_out_of_error_messages(settings: Settings) -> None:
    engine = make_engine(settings)

    with Session(engine) as session, pytest.raises(StatementError) as failed:
        session.execute(text("SELECT * FROM no_such_table WHERE note = :note"), {"note": MARKER})

    engine.dispose()
    assert MARKER not in str(failed.value)
    assert "hidden" in str(failed.value)


def test_an_exception_is_logged_without_its_message() -> None:
    logger = logging.getLogger("service.test")
    try:
        raise ValueError(MARKER) from KeyError(MARKER)
    except ValueError:
        record = logger.makeRecord("service.test", logging.ERROR, __file__, 1, "failed", (), None)
        record.exc_info = sys.exc_info()

    line = json.loads(JsonFormatter().format(record))

    assert (line["message"], line["exception"], line["causes"]) == (
        "failed",
        "ValueError",
        ["KeyError"],
    )
    assert MARKER not in json.dumps(line)


def test_the_served_hub_logs_json_lines(tmp_path: Path) -> None:
    script = (
        "import logging, logging.config\n"
        "from service.logs import log_config\n"
        "logging.config.dictConfig(log_config('INFO'))\n"
        "logging.getLogger('service.jobs').info('run %s done', 'r1')\n"
        "logging.getLogger('uvicorn.error').info('Started server process')\n"
        "logging.getLogger('uvicorn.access').info('GET /v1/x?token=secret 200')\n"
    )
    done = subprocess.run(  # noqa: S603 - our own interpreter and script
        [sys.executable, "-c", script], capture_output=True, text=True, check=True, timeout=60
    )

    lines = [json.loads(line) for line in done.stderr.splitlines()]
    assert [(line["logger"], line["message"]) for line in lines] == [
        ("service.jobs", "run r1 done"),
        ("uvicorn.error", "Started server process"),
    ]


def test_an_audit_entry_takes_only_a_request_id_of_the_accepted_format() -> None:
    def draft(request_id: str) -> EntryDraft:
        return EntryDraft(
            at=utcnow(),
            request_id=request_id,
            principal_id=None,
            agency_id=None,
            role=None,
            action="a",
            method="GET",
            project_id=None,
            resource=None,
            outcome=200,
            records=None,
        )

    assert draft("0123456789abcdef").request_id == "0123456789abcdef"
    for bad in ("short", "has space x", "dots.are.out", "x" * 65, f"<{MARKER}>"):
        with pytest.raises(ValueError, match="request id"):
            draft(bad)
