"""Audit entries about hits name the run and hit(s), where the request's path does not."""

import uuid

from fastapi.testclient import TestClient
from sqlalchemy import select

from service.models import Agency, Project
from tests.service.audit_world import Hub, hub, hub_client, hub_engine
from tests.service.factories import bearer
from tests.service.matching_data import make_finished_run

__all__ = ["hub", "hub_client", "hub_engine"]  # fixtures, imported for pytest


def finished_run(hub: Hub) -> tuple[uuid.UUID, list[uuid.UUID]]:
    with hub.session() as session:
        project = session.get_one(Project, hub.ids["project"])
        politie, kmar = (
            session.scalars(select(Agency).where(Agency.name == name)).one()
            for name in ("Politie", "KMar")
        )
        members = [[(politie, f"p-{n}"), (kmar, f"k-{n}")] for n in (1, 2, 3)]
        run, hits = make_finished_run(session, project, hub.ids["analyst"], members)
        return run.id, [hit.id for hit in hits]


def test_suspect_entries_name_the_run_and_hit(hub_client: TestClient, hub: Hub) -> None:
    run_id, hit_ids = finished_run(hub)
    analyst = bearer(hub.tokens["analyst"])
    url = f"/v1/projects/{hub.ids['project']}/suspects"

    created = hub_client.post(url, json={"hit_id": str(hit_ids[1])}, headers=analyst)
    suspect = created.json()["id"]
    hub_client.patch(f"{url}/{suspect}", json={"status": "confirmed"}, headers=analyst)
    hub_client.delete(f"{url}/{suspect}", headers=analyst)

    resources = [entry.resource for entry in hub.entries()]
    assert resources == [
        f"{url}?run={run_id}&hit=2",
        f"{url}/{suspect}?run={run_id}&hit=2",
        f"{url}/{suspect}?run={run_id}&hit=2",
    ]


def test_envelope_releases_name_the_hits_asked_for_even_when_refused(
    hub_client: TestClient, hub: Hub
) -> None:
    run_id, _ = finished_run(hub)
    analyst = bearer(hub.tokens["analyst"])
    url = f"/v1/projects/{hub.ids['project']}/runs/{run_id}/envelopes"

    absent = hub_client.post(url, json={"hits": [9, 7, 8, 11]}, headers=analyst)
    many = hub_client.post(url, json={"hits": list(range(1001, 2000, 2))}, headers=analyst)

    assert (absent.status_code, many.status_code) == (404, 404)
    few, long = (entry.resource or "" for entry in hub.entries())
    assert few == f"{url}?hits=7-9,11"
    assert len(long) <= 200 and long.startswith(f"{url}?hits=1001,1003,")
    assert long.endswith(",...")  # whole numbers only, and it says the list goes on
