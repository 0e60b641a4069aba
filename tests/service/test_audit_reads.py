"""The audit log reads of the auditor's pages, on SQLite and PostgreSQL: newest first, counted.

They filter as GET /v1/audit/entries does (the same `EntryFilter`): the pages' newest-first
keyset pages hold exactly the API's entries, in reverse; the count is the number of them.
"""

import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

from fastapi.testclient import TestClient

from service.store import audit as store
from service.web.auditor_data import activity, kind_of
from tests.service.audit_world import Hub, hub, hub_app, hub_client, hub_engine
from tests.service.factories import bearer

__all__ = ["hub", "hub_client", "hub_engine"]  # fixtures, imported for pytest


def _api_sequences(client: TestClient, hub: Hub, query: str) -> list[int]:
    answer = client.get(
        f"/v1/audit/entries?limit=1000{query}", headers=bearer(hub.tokens["auditor"])
    )
    assert answer.status_code == 200, answer.text
    return [item["sequence"] for item in answer.json()["items"]]


def test_newest_first_pages_hold_the_apis_entries_in_reverse(
    hub_client: TestClient, hub: Hub
) -> None:
    analyst = bearer(hub.tokens["analyst"])
    for _ in range(4):
        hub_client.get("/v1/projects")  # 401: no token
        hub_client.get(f"/v1/projects/{hub.ids['project']}", headers=analyst)
    expected = _api_sequences(hub_client, hub, f"&principal_id={hub.ids['analyst']}")
    where = store.EntryFilter(principal_id=hub.ids["analyst"])

    with hub.session() as session:
        first = store.list_entries_newest_first(session, where, before=None, limit=3)
        rest = store.list_entries_newest_first(session, where, before=first[-1].sequence, limit=9)
        count = store.count_entries(session, where)
        refused = store.count_entries(session, store.EntryFilter(outcome=401))

    assert [e.sequence for e in [*first, *rest]] == list(reversed(expected))
    assert count == len(expected) == 4
    assert refused == 4


def test_the_recorded_actions_and_the_last_checkpoint(hub: Hub, tmp_path: Path) -> None:
    with TestClient(hub_app(hub, tmp_path, checkpoint_every=3)) as client:
        for _ in range(7):
            client.get("/v1/projects", headers=bearer(hub.tokens["analyst"]))

    with hub.session() as session:
        actions = store.recorded_actions(session)
        checkpoint = store.last_checkpoint(session)

    assert actions == ["projects-list_projects"]
    assert checkpoint is not None and checkpoint.sequence == 6


def test_a_time_range_counts_like_the_api(hub_client: TestClient, hub: Hub) -> None:
    hub_client.get("/v1/projects")
    now = datetime.now(UTC)
    since = (now - timedelta(hours=1)).isoformat().replace("+00:00", "Z")
    expected = _api_sequences(hub_client, hub, f"&since={since}")
    where = store.EntryFilter(since=now - timedelta(hours=1), until=now + timedelta(hours=1))

    with hub.session() as session:
        # The listing itself is entered after it answered: one more than it saw.
        assert store.count_entries(session, where) == len(expected) + 1
        later = store.EntryFilter(since=now + timedelta(days=1))
        assert store.count_entries(session, later) == 0
        assert store.list_entries_newest_first(session, later, before=None, limit=5) == []


def test_changes_are_sorted_into_releases_approvals_and_suspect_changes(
    hub_client: TestClient, hub: Hub
) -> None:
    run, hit = uuid.uuid4(), uuid.uuid4()
    project = f"/v1/projects/{hub.ids['project']}"
    assert kind_of("POST", f"{project}/runs/{run}/hits/3/envelopes") == "releases"
    assert kind_of("POST", f"{project}/runs/{run}/envelopes?hits=3,4") == "releases"
    assert kind_of("POST", f"{project}/runs/{run}/hits/3/approvals") == "approvals"
    officer_page = f"/app/officer/projects/{hub.ids['project']}/runs/{run}/hits/3/approve"
    assert kind_of("POST", officer_page) == "approvals"
    assert kind_of("PATCH", f"{project}/suspects/{hit}") == "suspects"
    assert kind_of("POST", f"/app/analyst/projects/{hub.ids['project']}/suspects") == "suspects"
    assert kind_of("GET", f"{project}/suspects") is None  # reading is no change
    assert kind_of("POST", f"{project}/suspects/export") is None
    assert kind_of("POST", f"{project}/uploads") is None

    analyst = bearer(hub.tokens["analyst"])
    hub_client.post(f"{project}/runs/{run}/hits/1/envelopes", headers=analyst)  # 404: no run
    hub_client.post(f"{project}/suspects", json={"hit_id": str(hit)}, headers=analyst)  # 404
    hub_client.get(f"{project}/suspects", headers=analyst)  # a read: not counted
    with hub.session() as session:
        found = activity(session, [hub.ids["project"]])[hub.ids["project"]]

    assert (found["releases"].done, found["releases"].refused) == (0, 1)
    assert (found["suspects"].done, found["suspects"].refused) == (0, 1)
    assert (found["approvals"].done, found["approvals"].refused) == (0, 0)
    assert found["suspects"].last is not None
