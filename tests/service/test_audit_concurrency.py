import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from fastapi.testclient import TestClient

from linkage.audit import verify_export
from tests.service.audit_world import Hub, hub, hub_client, hub_engine
from tests.service.factories import bearer

__all__ = ["hub", "hub_client", "hub_engine"]  # fixtures, imported for pytest

ROOT = Path(__file__).resolve().parents[2]


def verify_stored_chain(client: TestClient, hub: Hub) -> dict[str, object]:
    response = client.get("/v1/audit/verify", headers=bearer(hub.tokens["auditor"]))
    return dict(response.json())


def test_concurrent_requests_keep_one_linear_chain(hub_client: TestClient, hub: Hub) -> None:
    analyst = bearer(hub.tokens["analyst"])

    def calls(worker: int) -> list[int]:
        headers = analyst if worker % 2 else {}
        return [hub_client.get("/v1/projects", headers=headers).status_code for _ in range(10)]

    with ThreadPoolExecutor(8) as pool:
        statuses = [status for batch in pool.map(calls, range(8)) for status in batch]

    entries = hub.entries()
    assert sorted(statuses) == [200] * 40 + [401] * 40
    assert [entry.sequence for entry in entries] == list(range(1, 81))
    assert len({entry.request_id for entry in entries}) == 80
    assert verify_stored_chain(hub_client, hub)["ok"] is True


def test_two_hub_processes_appending_at_once_keep_one_chain(
    hub_client: TestClient, hub: Hub, tmp_path: Path
) -> None:
    stop = tmp_path / "stop"
    command = [sys.executable, "-m", "tests.service.audit_appender", hub.url]
    other = subprocess.Popen([*command, str(tmp_path / "hub-data"), str(stop)], cwd=ROOT)  # noqa: S603
    try:
        wait_for_first_entry(hub, other)
        with ThreadPoolExecutor(4) as pool:
            list(pool.map(lambda _: hub_client.get("/v1/projects"), range(120)))
    finally:
        stop.touch()
    assert other.wait(timeout=120) == 0

    entries = hub.entries()
    origins = "".join("o" if entry.request_id.startswith("appender-") else "h" for entry in entries)
    auditor = bearer(hub.tokens["auditor"])
    document = hub_client.get("/v1/audit/export", headers=auditor).json()
    pinned = hub_client.get("/v1/audit/keys").json()["public_keys"].values()
    assert [entry.sequence for entry in entries] == list(range(1, len(entries) + 1))
    assert origins.count("h") == 120
    assert "oh" in origins and "ho" in origins  # the two processes really took turns
    assert verify_export(document, trusted_keys=list(pinned)).ok
    assert verify_stored_chain(hub_client, hub)["ok"] is True


def wait_for_first_entry(hub: Hub, process: "subprocess.Popen[bytes]") -> None:
    deadline = time.monotonic() + 60
    while not hub.entries():
        assert process.poll() is None, "the other hub process ended before appending"
        assert time.monotonic() < deadline, "the other hub process never appended"
        time.sleep(0.02)
