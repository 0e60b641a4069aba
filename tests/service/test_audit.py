import json
import uuid
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import delete, update

from linkage.audit import signature_is_valid, verify_export
from linkage.cli import main
from service.deps import PrincipalDep
from service.hub_keys import rotate
from service.models import AuditEntry
from tests.service.audit_world import Hub, hub, hub_app, hub_client, hub_engine
from tests.service.factories import bearer

__all__ = ["hub", "hub_client", "hub_engine"]  # fixtures, imported for pytest

MARKER = "Jansen-1987-private-marker"


def export(client: TestClient, hub: Hub, query: str = "") -> dict[str, Any]:
    response = client.get(f"/v1/audit/export{query}", headers=bearer(hub.tokens["auditor"]))
    assert response.status_code == 200, response.text
    return dict(response.json())


def run_cli(tmp_path: Path, document: dict[str, Any], *options: str) -> int:
    path = tmp_path / "audit-export.json"
    path.write_text(json.dumps(document), encoding="utf-8")
    return main(["audit", "verify", str(path), *options])


def test_every_request_appends_an_entry_denied_ones_too(hub_client: TestClient, hub: Hub) -> None:
    analyst = bearer(hub.tokens["analyst"])
    calls = [
        ("GET", "/v1/projects", {}, 401),
        ("POST", "/v1/agencies", analyst, 403),
        ("GET", f"/v1/projects/{uuid.uuid4()}", analyst, 404),
        ("GET", "/v1/nowhere", analyst, 404),
        ("POST", "/v1/agencies", bearer(hub.tokens["administrator"]), 422),
        ("GET", f"/v1/projects/{hub.ids['project']}", analyst, 200),
    ]

    responses = [client_call(hub_client, *call[:3]) for call in calls]

    entries = hub.entries()
    assert [response.status_code for response in responses] == [call[3] for call in calls]
    assert [entry.outcome for entry in entries] == [call[3] for call in calls]
    assert [entry.action for entry in entries] == [
        "projects-list_projects",
        "agencies-create_agency",
        "projects-get_project",
        "unmatched",
        "agencies-create_agency",
        "projects-get_project",
    ]
    assert [entry.request_id for entry in entries] == [r.headers["x-request-id"] for r in responses]


def client_call(client: TestClient, method: str, path: str, headers: dict[str, str]) -> Any:
    return client.request(method, path, headers=headers, json={} if method == "POST" else None)


def test_entries_name_the_caller_and_the_resource(hub_client: TestClient, hub: Hub) -> None:
    project = hub.ids["project"]
    hub_client.get("/v1/projects")
    hub_client.get(f"/v1/projects/{project}/members", headers=bearer(hub.tokens["analyst"]))

    anonymous, analyst = hub.entries()

    assert (anonymous.principal_id, anonymous.agency_id, anonymous.role) == (None, None, None)
    assert (analyst.principal_id, analyst.agency_id) == (hub.ids["analyst"], hub.ids["politie"])
    assert analyst.role == "analyst"
    assert analyst.method == "GET"
    assert analyst.project_id == project
    assert analyst.resource == f"/v1/projects/{project}/members"


def test_only_a_safe_client_request_id_is_kept(hub_client: TestClient, hub: Hub) -> None:
    kept = hub_client.get("/v1/audit/keys", headers={"X-Request-ID": "client-req-42"})
    refused = ["client-req.42", "short", "a" * 65, "Jan:de:Vries", f"<{MARKER}> x" * 9]
    replaced = [hub_client.get("/v1/audit/keys", headers={"X-Request-ID": r}) for r in refused]

    first, *others = hub.entries()

    assert kept.headers["x-request-id"] == first.request_id == "client-req-42"
    for sent, response, entry in zip(refused, replaced, others, strict=True):
        assert response.headers["x-request-id"] == entry.request_id != sent
        assert len(entry.request_id) == 32 and MARKER not in entry.request_id


def test_no_token_body_or_query_reaches_the_log(hub_client: TestClient, hub: Hub) -> None:
    admin = hub.tokens["administrator"]
    hub_client.post("/v1/agencies", json={"name": MARKER}, headers=bearer(admin))
    hub_client.post(f"/v1/agencies?name={MARKER}", json={"name": 7}, headers=bearer(admin))
    hub_client.get(f"/v1/projects/{MARKER}", headers=bearer(admin))
    hub_client.get(f"/v1/{MARKER}", headers=bearer(MARKER))

    stored = json.dumps(export(hub_client, hub)["entries"])

    assert len(hub.entries()) == 5
    assert admin not in stored
    assert MARKER not in stored
    assert "/v1/projects/{project_id}" in stored  # the path value stays a placeholder


def test_health_probes_and_metrics_are_not_audited(hub_client: TestClient, hub: Hub) -> None:
    for path in ("/v1/health", "/v1/ready"):
        assert hub_client.get(path).status_code == 200
    assert hub_client.get("/metrics", headers=bearer(hub.tokens["auditor"])).status_code == 200

    assert hub.entries() == []


def test_an_export_verifies_offline(
    hub_client: TestClient, hub: Hub, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    for _ in range(3):
        hub_client.get("/v1/projects", headers=bearer(hub.tokens["analyst"]))
    key = hub_client.get("/v1/audit/keys").json()
    document = export(hub_client, hub)

    status = run_cli(tmp_path, document, "--public-key", key["public_keys"][key["active_key_id"]])

    assert status == 0
    assert capsys.readouterr().out.startswith("ok: 4 entries, 1 signed checkpoints")
    assert document["checkpoints"][-1]["sequence"] == document["to_sequence"] == 4


def tamper_altered(entries: list[dict[str, Any]]) -> None:
    entries[2]["outcome"] = 200 if entries[2]["outcome"] != 200 else 403


def tamper_removed(entries: list[dict[str, Any]]) -> None:
    del entries[1]


def tamper_reordered(entries: list[dict[str, Any]]) -> None:
    entries[2], entries[3] = entries[3], entries[2]


@pytest.mark.parametrize(
    ("tamper", "problem"),
    [
        (tamper_altered, "entry 3 was altered"),
        (tamper_removed, "entry 2 is missing"),
        (tamper_reordered, "entries 3 and 4 are out of order"),
    ],
    ids=["altered", "removed", "reordered"],
)
def test_a_tampered_export_fails_offline_naming_the_entry(
    hub_client: TestClient,
    hub: Hub,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    tamper: Any,
    problem: str,
) -> None:
    for path in ("/v1/projects", "/v1/agencies", "/v1/principals", "/v1/projects"):
        hub_client.get(path, headers=bearer(hub.tokens["analyst"]))
    document = export(hub_client, hub)
    tamper(document["entries"])

    status = run_cli(tmp_path, document)

    assert status == 1
    assert capsys.readouterr().out.strip() == f"audit log does not verify: {problem}"


def test_a_pinned_foreign_key_fails_offline(
    hub_client: TestClient, hub: Hub, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    hub_client.get("/v1/projects")
    document = export(hub_client, hub)

    status = run_cli(tmp_path, document, "--public-key", "ab" * 32)

    assert status == 1
    assert "which is not pinned" in capsys.readouterr().out


def test_checkpoints_are_signed_every_n_entries(hub: Hub, tmp_path: Path) -> None:
    with TestClient(hub_app(hub, tmp_path, checkpoint_every=5)) as client:
        for _ in range(12):
            client.get("/v1/projects")
        keys = client.get("/v1/audit/keys").json()["public_keys"]

    checkpoints, entries = hub.checkpoints(), hub.entries()

    assert [checkpoint.sequence for checkpoint in checkpoints] == [5, 10]
    for checkpoint in checkpoints:
        assert checkpoint.entry_hash == entries[checkpoint.sequence - 1].entry_hash
        assert signature_is_valid(
            keys[checkpoint.key_id],
            checkpoint.sequence,
            checkpoint.entry_hash,
            checkpoint.signature,
        )


def test_a_crashing_route_is_logged_as_a_500(hub: Hub, tmp_path: Path) -> None:
    app = hub_app(hub, tmp_path)

    @app.get("/v1/boom", tags=["test"])
    def boom(caller: PrincipalDep) -> None:
        raise RuntimeError(MARKER)

    with TestClient(app, raise_server_exceptions=False) as client:
        response = client.get("/v1/boom", headers=bearer(hub.tokens["analyst"]))

    (entry,) = hub.entries()
    assert response.status_code == 500
    assert (entry.action, entry.outcome, entry.role) == ("test-boom", 500, "analyst")


def test_an_answer_is_refused_when_its_entry_cannot_be_stored(
    hub_client: TestClient, hub: Hub
) -> None:
    hub_client.app.state.audit_writer.close()  # type: ignore[attr-defined]

    response = hub_client.get("/v1/projects", headers=bearer(hub.tokens["analyst"]))

    assert response.status_code == 503
    assert response.json()["code"] == "unavailable"
    assert "items" not in response.text
    assert hub.entries() == []


def test_entries_are_filtered_and_paged(hub_client: TestClient, hub: Hub) -> None:
    analyst, auditor = bearer(hub.tokens["analyst"]), bearer(hub.tokens["auditor"])
    for _ in range(3):
        hub_client.get("/v1/projects")
        hub_client.get(f"/v1/projects/{hub.ids['project']}", headers=analyst)

    denied = hub_client.get("/v1/audit/entries?outcome=401", headers=auditor).json()
    mine = hub_client.get(
        f"/v1/audit/entries?principal_id={hub.ids['analyst']}&limit=2", headers=auditor
    ).json()
    rest = hub_client.get(
        f"/v1/audit/entries?principal_id={hub.ids['analyst']}&after={mine['next_after']}",
        headers=auditor,
    ).json()
    project = hub_client.get(
        f"/v1/audit/entries?project_id={hub.ids['project']}&action=projects-get_project",
        headers=auditor,
    ).json()

    assert [item["sequence"] for item in denied["items"]] == [1, 3, 5]
    assert [item["sequence"] for item in mine["items"]] == [2, 4]
    assert [item["sequence"] for item in rest["items"]] == [6]
    assert rest["next_after"] is None
    assert len(project["items"]) == 3


def test_server_side_verify_finds_altered_and_deleted_rows(
    hub_client: TestClient, hub: Hub
) -> None:
    auditor = bearer(hub.tokens["auditor"])
    for _ in range(4):
        hub_client.get("/v1/projects")
    sound = hub_client.get("/v1/audit/verify", headers=auditor).json()

    with hub.session() as session:
        session.execute(update(AuditEntry).where(AuditEntry.sequence == 2).values(outcome=200))
        session.commit()
    altered = hub_client.get("/v1/audit/verify", headers=auditor).json()
    with hub.session() as session:
        session.execute(delete(AuditEntry).where(AuditEntry.sequence == 2))
        session.commit()
    deleted = hub_client.get("/v1/audit/verify", headers=auditor).json()

    assert sound == {
        "ok": True,
        "entries_checked": 4,
        "checkpoints_checked": 0,
        "first_bad_sequence": None,
        "problem": None,
    }
    assert (altered["ok"], altered["problem"]) == (False, "entry 2 was altered")
    assert (deleted["first_bad_sequence"], deleted["problem"]) == (2, "entry 2 is missing")


def test_a_partial_export_verifies(hub_client: TestClient, hub: Hub) -> None:
    for _ in range(6):
        hub_client.get("/v1/projects")

    document = export(hub_client, hub, "?from=3&to=5")
    result = verify_export(document)

    assert [entry["sequence"] for entry in document["entries"]] == [3, 4, 5]
    assert (document["from_sequence"], document["to_sequence"]) == (3, 5)
    assert (result.ok, result.entries_checked, result.checkpoints_checked) == (True, 3, 1)


def test_the_signing_keys_are_public(hub_client: TestClient) -> None:
    response = hub_client.get("/v1/audit/keys")

    keys = response.json()
    assert response.status_code == 200
    assert keys["active_key_id"] in keys["public_keys"]
    assert hub_client.app.state.hub_keys.public_keys() == keys["public_keys"]  # type: ignore[attr-defined]


def test_routes_report_record_counts(hub_client: TestClient, hub: Hub) -> None:
    auditor = bearer(hub.tokens["auditor"])
    for _ in range(3):
        hub_client.get("/v1/projects")

    page = hub_client.get("/v1/audit/entries?limit=2", headers=auditor)

    assert len(page.json()["items"]) == 2
    assert hub.entries()[-1].records == 2
    assert hub.entries()[0].records is None


def test_entries_are_filtered_by_time(hub_client: TestClient, hub: Hub) -> None:
    auditor = bearer(hub.tokens["auditor"])
    hub_client.get("/v1/projects")
    middle = hub.entries()[-1].at
    hub_client.get("/v1/projects")

    since = hub_client.get(
        "/v1/audit/entries", params={"since": middle.isoformat()}, headers=auditor
    )
    until = hub_client.get(
        "/v1/audit/entries", params={"until": middle.isoformat()}, headers=auditor
    )

    assert [item["sequence"] for item in since.json()["items"]][:2] == [1, 2]
    assert [item["sequence"] for item in until.json()["items"]] == []


def test_checkpoints_signed_before_a_key_rotation_still_verify(
    hub: Hub, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with TestClient(hub_app(hub, tmp_path, checkpoint_every=2)) as client:
        client.get("/v1/projects")
        client.get("/v1/projects")
        old = client.get("/v1/audit/keys").json()
    rotate(tmp_path / "hub-data", "signing")
    with TestClient(hub_app(hub, tmp_path, checkpoint_every=2)) as client:
        client.get("/v1/projects")
        keys = client.get("/v1/audit/keys").json()
        document = export(client, hub)
    new_key = keys["public_keys"][keys["active_key_id"]]
    old_key = old["public_keys"][old["active_key_id"]]

    both = run_cli(tmp_path, document, "--public-key", old_key, "--public-key", new_key)
    only_new = run_cli(tmp_path, document, "--public-key", new_key)

    assert keys["active_key_id"] != old["active_key_id"]
    assert (both, only_new) == (0, 1)
    assert "checkpoint at 2 is signed by key" in capsys.readouterr().out


def test_the_log_recovers_after_a_failed_append(hub_client: TestClient, hub: Hub) -> None:
    analyst = bearer(hub.tokens["analyst"])
    hub_client.get("/v1/projects", headers=analyst)
    rename(hub, "audit_entries", "audit_entries_away")

    refused = hub_client.get("/v1/projects", headers=analyst)
    rename(hub, "audit_entries_away", "audit_entries")
    answered = hub_client.get("/v1/projects", headers=analyst)

    assert (refused.status_code, answered.status_code) == (503, 200)
    assert [entry.outcome for entry in hub.entries()] == [200, 200]
    assert verify_export(export(hub_client, hub)).ok


def rename(hub: Hub, table: str, new_name: str) -> None:
    with hub.engine.begin() as connection:
        connection.exec_driver_sql(f"ALTER TABLE {table} RENAME TO {new_name}")
