import csv
import io
import json
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from service.auth import Role
from service.models import Hit
from service.routes import suspects as suspects_route
from tests.service.factories import bearer, make_agency, make_principal, make_project
from tests.service.matching_data import make_finished_run


class Team:
    def __init__(self, session: Session) -> None:
        self.politie, self.fiu = make_agency(session, "Politie"), make_agency(session, "FIU")
        self.analyst, self.token = make_principal(session, self.politie)
        _, self.officer_token = make_principal(
            session, self.politie, role=Role.DATA_OFFICER, name="Officer"
        )
        self.project = make_project(session, [self.politie, self.fiu], members=[self.analyst])
        self.run, self.hits = make_finished_run(
            session,
            self.project,
            self.analyst.id,
            [
                [(self.politie, "pol-1"), (self.fiu, "fiu-1")],
                [(self.politie, "pol-2"), (self.politie, "pol-3"), (self.fiu, "=fiu-2")],
            ],
        )
        self.url = f"/v1/projects/{self.project.id}/suspects"

    def add(self, client: TestClient, hit: Hit, **fields: Any) -> dict[str, Any]:
        response = client.post(
            self.url, json={"hit_id": str(hit.id), **fields}, headers=bearer(self.token)
        )
        assert response.status_code == 201, response.text
        result: dict[str, Any] = response.json()
        return result


@pytest.fixture
def team(session: Session) -> Team:
    return Team(session)


def test_an_analyst_shortlists_a_hit_with_its_members(client: TestClient, team: Team) -> None:
    suspect = team.add(client, team.hits[1], note="seen in Breda and Antwerp")

    assert suspect["hit_id"] == str(team.hits[1].id)
    assert suspect["run_id"] == str(team.run.id)
    assert suspect["hit_number"] == 2
    assert suspect["agencies"] == ["FIU", "Politie"]
    assert [m["reference"] for m in suspect["members"]] == ["pol-2", "pol-3", "=fiu-2"]
    assert (suspect["status"], suspect["note"]) == ("new", "seen in Breda and Antwerp")
    assert suspect["created_by"] == str(team.analyst.id)
    assert suspect["created_at"] == suspect["updated_at"]


def test_the_list_is_in_the_order_it_was_drawn_up(client: TestClient, team: Team) -> None:
    second, first = team.add(client, team.hits[1]), team.add(client, team.hits[0])

    listed = client.get(team.url, headers=bearer(team.token)).json()["items"]

    assert [item["id"] for item in listed] == [second["id"], first["id"]]


def test_the_same_hit_twice_is_a_conflict(client: TestClient, team: Team) -> None:
    team.add(client, team.hits[0])

    again = client.post(team.url, json={"hit_id": str(team.hits[0].id)}, headers=bearer(team.token))

    assert again.status_code == 409
    assert again.json()["code"] == "conflict"


def test_a_hit_of_another_project_is_not_found(
    client: TestClient, team: Team, session: Session
) -> None:
    kmar = make_agency(session, "KMar")
    other = make_project(session, [team.politie, kmar], name="Other", members=[team.analyst])
    _, (foreign_hit,) = make_finished_run(
        session, other, team.analyst.id, [[(team.politie, "p"), (kmar, "k")]]
    )

    response = client.post(
        team.url, json={"hit_id": str(foreign_hit.id)}, headers=bearer(team.token)
    )

    assert response.status_code == 404


def test_status_and_note_are_updated(client: TestClient, team: Team) -> None:
    suspect = team.add(client, team.hits[0])

    changed = client.patch(
        f"{team.url}/{suspect['id']}",
        json={"status": "handed_over", "note": "signalled to the RIEC"},
        headers=bearer(team.token),
    ).json()
    only_status = client.patch(
        f"{team.url}/{suspect['id']}", json={"status": "confirmed"}, headers=bearer(team.token)
    ).json()

    assert (changed["status"], changed["note"]) == ("handed_over", "signalled to the RIEC")
    assert (only_status["status"], only_status["note"]) == ("confirmed", "signalled to the RIEC")
    assert only_status["updated_at"] >= changed["updated_at"] > suspect["updated_at"]


def test_a_deleted_suspect_leaves_the_list(client: TestClient, team: Team) -> None:
    suspect = team.add(client, team.hits[0])

    deleted = client.delete(f"{team.url}/{suspect['id']}", headers=bearer(team.token))
    again = client.delete(f"{team.url}/{suspect['id']}", headers=bearer(team.token))

    assert deleted.status_code == 204
    assert again.status_code == 404
    assert client.get(team.url, headers=bearer(team.token)).json()["items"] == []


def test_a_suspect_of_another_project_is_not_found(
    client: TestClient, team: Team, session: Session
) -> None:
    suspect = team.add(client, team.hits[0])
    other = make_project(session, [team.politie, team.fiu], name="Other", members=[team.analyst])

    response = client.patch(
        f"/v1/projects/{other.id}/suspects/{suspect['id']}",
        json={"note": "x"},
        headers=bearer(team.token),
    )

    assert response.status_code == 404


def test_an_invalid_status_is_refused_without_echo(client: TestClient, team: Team) -> None:
    response = client.post(
        team.url,
        json={"hit_id": str(team.hits[0].id), "status": "arrest-immediately"},
        headers=bearer(team.token),
    )

    assert response.status_code == 422
    assert "arrest-immediately" not in response.text


def test_data_officers_have_no_suspect_list(client: TestClient, team: Team) -> None:
    response = client.get(team.url, headers=bearer(team.officer_token))

    assert response.status_code == 403


def test_the_csv_export_has_a_row_per_member_and_no_formula(client: TestClient, team: Team) -> None:
    team.add(client, team.hits[0], status="confirmed", note="+31 in the note")
    team.add(client, team.hits[1])

    response = client.get(
        f"{team.url}/export", params={"format": "csv"}, headers=bearer(team.token)
    )

    rows = list(csv.DictReader(io.StringIO(response.text)))
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    assert [(row["hit"], row["agency"], row["reference"]) for row in rows] == [
        ("1", "Politie", "pol-1"),
        ("1", "FIU", "fiu-1"),
        ("2", "Politie", "pol-2"),
        ("2", "Politie", "pol-3"),
        ("2", "FIU", "'=fiu-2"),
    ]
    assert rows[0]["status"] == "confirmed"
    assert rows[0]["note"] == "'+31 in the note"
    assert rows[0]["agencies"] == "FIU;Politie"


def test_the_json_export_lists_every_suspect(client: TestClient, team: Team) -> None:
    team.add(client, team.hits[0])

    response = client.get(
        f"{team.url}/export", params={"format": "json"}, headers=bearer(team.token)
    )

    document = json.loads(response.content)
    assert document["format"] == "fieldlink-suspects/1"
    assert document["project_id"] == str(team.project.id)
    assert [s["hit_number"] for s in document["suspects"]] == [1]


@pytest.mark.parametrize("listed", [0, 1, 2])
def test_exports_written_a_suspect_at_a_time_are_the_documents_written_at_once(
    client: TestClient, team: Team, monkeypatch: pytest.MonkeyPatch, listed: int
) -> None:
    for hit in team.hits[:listed]:
        team.add(client, hit, note='a\nnote, "quoted"')
    url, headers = f"{team.url}/export", bearer(team.token)
    whole_csv = client.get(url, params={"format": "csv"}, headers=headers).text

    monkeypatch.setattr(suspects_route, "EXPORT_PAGE", 1)
    paged = client.get(url, params={"format": "json"}, headers=headers)
    paged_csv = client.get(url, params={"format": "csv"}, headers=headers).text

    items = client.get(team.url, headers=headers).json()["items"]
    document = json.loads(paged.content)
    head = {k: document[k] for k in ("format", "project_id", "exported_at")}
    assert paged.text == json.dumps(head | {"suspects": items}, indent=2) + "\n"
    assert paged_csv == whole_csv
    assert len(list(csv.DictReader(io.StringIO(paged_csv)))) == [0, 2, 5][listed]
