"""Resource limits: bodies read only from live tokens and only so far, rates, backoff, run cap."""

import io
import time
import uuid
from collections.abc import Iterator

import pyarrow as pa
import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from service.config import Settings
from service.limits import Limits
from tests.service.batch_files import ARROW, as_file, make_batch
from tests.service.factories import bearer
from tests.service.matching_data import make_scene

MIB = 1024 * 1024


@pytest.fixture
def settings(settings: Settings, request: pytest.FixtureRequest) -> Settings:
    """The hub's test settings, with the limits a test names (indirect parametrisation)."""
    return settings.model_copy(update=getattr(request, "param", {}))


def limited(**changes: object) -> pytest.MarkDecorator:
    return pytest.mark.parametrize("settings", [changes], indirect=True, ids=["limited"])


class Body:
    """A request body that counts how much of it the hub pulled."""

    def __init__(self, size_bytes: int, chunk_bytes: int = MIB) -> None:
        self.size_bytes, self.chunk_bytes, self.sent_bytes = size_bytes, chunk_bytes, 0

    def __iter__(self) -> Iterator[bytes]:
        while self.sent_bytes < self.size_bytes:
            self.sent_bytes += self.chunk_bytes
            yield b" " * self.chunk_bytes


def post_big(client: TestClient, headers: dict[str, str], body: Body) -> tuple[int, str, float]:
    started = time.perf_counter()
    response = client.post(
        "/v1/agencies",
        content=iter(body),
        headers=headers
        | {"content-type": "application/json", "content-length": str(body.size_bytes)},
    )
    return response.status_code, response.json()["code"], time.perf_counter() - started


@pytest.mark.parametrize("token", [None, "not-a-token"], ids=["none", "unknown"])
def test_a_200_mb_body_without_a_live_token_is_refused_unread(
    client: TestClient, token: str | None
) -> None:
    body = Body(200 * MIB)

    status, code, seconds = post_big(client, bearer(token) if token else {}, body)

    assert (status, code) == (401, "unauthenticated")
    assert body.sent_bytes == 0
    assert seconds < 1.0


def test_a_200_mb_body_from_an_administrator_is_refused_unread(
    client: TestClient, admin_token: str
) -> None:
    body = Body(200 * MIB)

    status, code, seconds = post_big(client, bearer(admin_token), body)

    assert (status, code) == (413, "payload-too-large")
    assert body.sent_bytes == 0
    assert seconds < 1.0


@limited(max_json_bytes=1000)
def test_a_streamed_body_past_the_limit_is_refused(client: TestClient, admin_token: str) -> None:
    chunks = iter([b'{"name": "', b"x" * 2000, b'"}'])  # no Content-Length: chunked

    response = client.post("/v1/agencies", content=chunks, headers=bearer(admin_token))
    small = client.post("/v1/agencies", json={"name": "FIOD"}, headers=bearer(admin_token))

    assert response.status_code == 413
    assert response.headers["content-type"] == "application/problem+json"
    assert "1000 bytes" in response.json()["detail"]
    assert small.status_code == 201


def test_a_compressed_batch_is_refused_as_invalid(
    client: TestClient, session: Session, settings: Settings
) -> None:
    scene = make_scene(session, settings)
    batch = make_batch(agency="Politie Carousel", records=50)
    table = pa.ipc.open_file(pa.py_buffer(as_file(batch))).read_all()
    sink = io.BytesIO()
    options = pa.ipc.IpcWriteOptions(compression="zstd")
    with pa.ipc.new_file(sink, table.schema, options=options) as writer:
        writer.write_table(table)

    response = client.post(
        f"/v1/projects/{scene.project.id}/uploads",
        content=sink.getvalue(),
        headers=bearer(scene.tokens["officer:Politie"]) | ARROW,
    )

    assert response.status_code == 422
    assert response.json()["code"] == "invalid-batch"
    assert "compressed" in response.json()["detail"]


@limited(rate_per_address=5)
def test_an_address_past_its_rate_is_told_when_to_come_back(
    client: TestClient, admin_token: str
) -> None:
    answers = [client.get("/v1/health") for _ in range(6)]

    assert [answer.status_code for answer in answers] == [200] * 5 + [429]
    assert answers[-1].json()["code"] == "rate-limited"
    assert int(answers[-1].headers["retry-after"]) >= 1


@limited(rate_per_principal=3)
def test_a_principal_past_its_rate_is_refused_and_others_are_not(
    client: TestClient, session: Session, settings: Settings
) -> None:
    scene = make_scene(session, settings)
    url = f"/v1/projects/{scene.project.id}"

    mine = [client.get(url, headers=bearer(scene.tokens["analyst"])) for _ in range(4)]
    other = client.get(url, headers=bearer(scene.tokens["auditor"]))

    assert [answer.status_code for answer in mine] == [200, 200, 200, 429]
    assert "retry-after" in mine[-1].headers
    assert other.status_code == 200


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@limited(auth_failures_allowed=3, auth_backoff_max_s=8.0)
def test_failed_authentication_backs_off_doubling(
    client: TestClient, admin_token: str, settings: Settings
) -> None:
    clock = Clock()
    client.app.state.limits = Limits(settings, clock=clock)  # type: ignore[attr-defined]
    bad = bearer("guessed-" + uuid.uuid4().hex)

    first = [client.get("/v1/agencies", headers=bad).status_code for _ in range(4)]
    blocked = client.get("/v1/agencies", headers=bearer(admin_token))
    clock.now += 1.5
    after_wait = client.get("/v1/agencies", headers=bad)
    again = client.get("/v1/agencies", headers=bad)

    assert first == [401, 401, 401, 401]
    assert (blocked.status_code, blocked.headers["retry-after"]) == (429, "1")
    assert after_wait.status_code == 401  # the fifth failure: now 2 s
    assert (again.status_code, again.headers["retry-after"]) == (429, "2")


@limited(max_active_runs_per_project=1, run_inline=False)
def test_a_project_with_a_full_run_queue_refuses_another_run(
    client: TestClient, session: Session, settings: Settings
) -> None:
    scene = make_scene(session, settings)
    runs = f"/v1/projects/{scene.project.id}/runs"
    analyst = bearer(scene.tokens["analyst"])

    first = client.post(runs, json={}, headers=analyst)
    second = client.post(runs, json={}, headers=analyst)

    assert first.status_code == 202
    assert (second.status_code, second.json()["code"]) == (429, "run-queue-full")
    assert second.headers["retry-after"] == "60"
