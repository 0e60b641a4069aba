"""A data officer sees what the own records contributed, and nothing that counts the rest.

Own hits are numbered 1..n in pages, exports, approvals and the CLI (the run's numbers
have gaps where other agencies' hits are, which tell the run's total); the best score and
the agreed comparisons are those of links touching an own record. Analysts' views keep
the run's numbers and everything.
"""

import csv
import io
import json
import uuid
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from linkage.cli import main
from linkage.client import HubClient
from linkage.hits import Group, Link, Member
from service.auth import Role
from service.config import Settings
from service.hit_views import stored_hits
from service.models import Agency, Run
from service.store import hits as hits_store
from tests.service.factories import bearer, make_agency, make_principal, make_project
from tests.service.matching_data import AGENCIES, THRESHOLD, Scene, make_finished_run, make_scene


@pytest.fixture
def scene(session: Session, settings: Settings) -> Scene:
    return make_scene(session, settings)


@pytest.fixture
def hits_url(client: TestClient, scene: Scene) -> str:
    runs = f"/v1/projects/{scene.project.id}/runs"
    started = client.post(
        runs, json={"threshold": THRESHOLD}, headers=bearer(scene.tokens["analyst"])
    )
    return f"{runs}/{started.json()['id']}/hits"


def pages(client: TestClient, url: str, token: str, limit: int = 3) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    after: int | None = 0
    while after is not None:
        page = client.get(url, params={"limit": limit, "after": after}, headers=bearer(token))
        assert page.status_code == 200, page.text
        items.extend(page.json()["items"])
        after = page.json()["next_after"]
    return items


def test_a_data_officer_numbers_the_own_hits_1_to_n_everywhere(
    client: TestClient, scene: Scene, hits_url: str
) -> None:
    every = pages(client, hits_url, scene.tokens["analyst"])
    gaps = 0
    for agency in AGENCIES:
        token = scene.tokens[f"officer:{agency}"]
        own = pages(client, hits_url, token)
        document = client.get(f"{hits_url}/export", headers=bearer(token)).json()
        table = client.get(f"{hits_url}/export", params={"format": "csv"}, headers=bearer(token))
        expected = [hit for hit in every if scene.agencies[agency].name in hit["agencies"]]
        dense = list(range(1, len(expected) + 1))

        assert [hit["id"] for hit in own] == [hit["id"] for hit in expected]  # run order
        assert [hit["number"] for hit in own] == dense
        assert [group["group"] for group in document["groups"]] == dense
        assert {int(row["hit"]) for row in csv.DictReader(io.StringIO(table.text))} == set(dense)
        gaps += len(every) - len(expected)

    assert gaps > 0  # some agency is missing from some hits: the run's numbers have gaps
    assert [hit["number"] for hit in every] == list(range(1, len(every) + 1))


def test_the_cli_writes_own_numbers_for_an_officer_and_run_numbers_for_an_analyst(
    client: TestClient,
    scene: Scene,
    hits_url: str,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    def connect(
        cls: type[HubClient], /, base_url: str, token: str | None, **_: object
    ) -> HubClient:
        return HubClient(TestClient(client.app, headers={"Authorization": f"Bearer {token}"}))

    monkeypatch.setattr(HubClient, "connect", classmethod(connect))
    written = {}
    for caller in ("analyst", "officer:Politie"):
        monkeypatch.setenv("FIELDLINK_TOKEN", scene.tokens[caller])
        out = tmp_path / f"{caller.replace(':', '-')}.json"
        assert main(["hits", "--project", scene.project.name, "--out", str(out)]) == 0
        written[caller] = [group["group"] for group in json.loads(out.read_text())["groups"]]
    own = pages(client, hits_url, scene.tokens["officer:Politie"])

    assert written["officer:Politie"] == list(range(1, len(own) + 1))
    assert written["analyst"] == list(range(1, len(scene.planted.persons) + 1))
    assert len(own) < len(written["analyst"])


def test_an_officer_approves_by_the_own_number(
    client: TestClient, scene: Scene, hits_url: str
) -> None:
    token = scene.tokens["officer:Politie"]
    own = pages(client, hits_url, token)
    last = own[-1]

    approved = client.post(f"{hits_url}/{len(own)}/approvals", headers=bearer(token))
    beyond = client.post(f"{hits_url}/{len(own) + 1}/approvals", headers=bearer(token))
    listed = client.get(hits_url.replace("/hits", "/approvals"), headers=bearer(token)).json()

    assert approved.status_code == 201, approved.text
    assert approved.json()["hit_id"] == last["id"]
    assert approved.json()["hit_number"] == len(own)
    assert beyond.status_code == 404
    assert [item["hit_number"] for item in listed["items"]] == list(range(1, len(own) + 1))


# What an officer's own records contributed


def three_agencies(session: Session) -> dict[str, Agency]:
    return {name: make_agency(session, name) for name in ("FIU", "Gemeente", "Politie")}


def groups(agencies: dict[str, Agency]) -> list[Group]:
    """Hit 1 without the police; hit 2 with all three, its best link between the others."""
    fiu, gemeente, politie = (str(agencies[name].id) for name in ("FIU", "Gemeente", "Politie"))
    return [
        Group(
            members=(Member(fiu, "fiu-1"), Member(gemeente, "gem-1")),
            links=(Link(0, 1, 0.97, ("first_given",)),),
            agreed_fields=("first_given",),
        ),
        Group(
            members=(Member(politie, "pol-2"), Member(fiu, "fiu-2"), Member(gemeente, "gem-2")),
            links=(
                Link(0, 1, 0.91, ("first_given", "date_of_birth")),
                Link(1, 2, 0.99, ("first_given", "phone")),
            ),
            agreed_fields=("first_given", "date_of_birth", "phone"),
        ),
    ]


def store_run(session: Session, agencies: dict[str, Agency]) -> tuple[Run, str, str]:
    """A succeeded run holding `groups`, stored as a run worker stores it; the tokens."""
    _, officer_token = make_principal(session, agencies["Politie"], role=Role.DATA_OFFICER)
    analyst, analyst_token = make_principal(session, agencies["Politie"], name="Analyst")
    project = make_project(session, list(agencies.values()), members=[analyst])
    run, _ = make_finished_run(session, project, analyst.id, [])
    names = {str(agency.id): agency.name for agency in agencies.values()}
    for batch in stored_hits(run.id, groups(agencies), names):
        hits_store.insert_rows(session, batch)
    run.hit_count = 2
    by_agency = {"FIU": 2, "Gemeente": 2, "Politie": 1}
    run.report = (run.report or {}) | {
        "hits_by_agency": {str(agencies[name].id): count for name, count in by_agency.items()}
    }
    session.commit()
    return run, officer_token, analyst_token


def test_an_officer_sees_the_score_and_agreed_fields_of_own_links_only(
    client: TestClient, session: Session
) -> None:
    agencies = three_agencies(session)
    run, officer, analyst = store_run(session, agencies)
    url = f"/v1/projects/{run.project_id}/runs/{run.id}/hits"

    (own,) = pages(client, url, officer)
    document = client.get(f"{url}/export", headers=bearer(officer)).json()
    every = pages(client, url, analyst)

    assert (own["number"], own["best_score"]) == (1, 0.91)
    assert own["agreed_fields"] == ["first_given", "date_of_birth"]  # not the others' phone
    assert [(g["group"], g["best_score"], g["agreed_fields"]) for g in document["groups"]] == [
        (1, 0.91, ["first_given", "date_of_birth"])
    ]
    assert [(hit["number"], hit["best_score"], hit["agreed_fields"]) for hit in every] == [
        (1, 0.97, ["first_given"]),
        (2, 0.99, ["first_given", "date_of_birth", "phone"]),
    ]
    assert json.dumps(every).count("phone") == 1
    assert uuid.UUID(own["id"]) == uuid.UUID(every[1]["id"])
