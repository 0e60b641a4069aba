"""Suspect notes are sealed at rest like batches, and visible to the team (analysts, auditors)."""

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from service.auth import Role
from service.config import Settings
from service.hub_keys import settings_keys
from service.models import Suspect
from service.notes import PREFIX, reseal_notes, suspect_note
from service.vault import VaultError
from tests.service.factories import bearer, make_agency, make_principal, make_project
from tests.service.matching_data import make_finished_run

NOTE = "Maria G., born 1990-04-02, seen at Breda station"


@pytest.fixture
def listed(client: TestClient, session: Session) -> dict[str, str]:
    politie, kmar = make_agency(session, "Politie"), make_agency(session, "KMar")
    analyst, analyst_token = make_principal(session, politie, name="Analyst")
    auditor, auditor_token = make_principal(session, kmar, role=Role.AUDITOR, name="Auditor")
    project = make_project(session, [politie, kmar], members=[analyst, auditor])
    members = [[(politie, f"p-{n}"), (kmar, f"k-{n}")] for n in (1, 2)]
    _, hits = make_finished_run(session, project, analyst.id, members)
    url = f"/v1/projects/{project.id}/suspects"
    for hit, note in zip(hits, (NOTE, ""), strict=True):
        answer = client.post(
            url, json={"hit_id": str(hit.id), "note": note}, headers=bearer(analyst_token)
        )
        assert answer.status_code == 201, answer.text
    return {"url": url, "analyst": analyst_token, "auditor": auditor_token}


def test_a_note_is_stored_sealed_and_read_back_by_the_team(
    client: TestClient, session: Session, listed: dict[str, str]
) -> None:
    stored = session.scalars(select(Suspect.note).order_by(Suspect.created_at)).all()
    by_analyst = client.get(listed["url"], headers=bearer(listed["analyst"])).json()["items"]
    by_auditor = client.get(listed["url"], headers=bearer(listed["auditor"])).json()["items"]

    assert stored[0].startswith(PREFIX) and "Maria" not in stored[0] and "1990" not in stored[0]
    assert stored[1] == ""
    assert [item["note"] for item in by_analyst] == [NOTE, ""]
    assert by_auditor == by_analyst


def test_a_changed_note_is_sealed_too(
    client: TestClient, session: Session, listed: dict[str, str]
) -> None:
    first = client.get(listed["url"], headers=bearer(listed["analyst"])).json()["items"][1]

    changed = client.patch(
        f"{listed['url']}/{first['id']}", json={"note": NOTE}, headers=bearer(listed["analyst"])
    )

    assert changed.json()["note"] == NOTE
    assert not [note for note in session.scalars(select(Suspect.note)) if "Maria" in note]


def test_a_sealed_note_moved_to_another_suspect_does_not_open(
    session: Session, settings: Settings, listed: dict[str, str]
) -> None:
    keyring = settings_keys(settings, create=False).storage
    sealed, other = session.scalars(select(Suspect).order_by(Suspect.created_at)).all()
    other.note = sealed.note
    session.commit()

    with pytest.raises(VaultError, match="fails authentication"):
        suspect_note(other, keyring)


def test_notes_stored_in_plain_before_are_sealed_by_reseal(
    session: Session, settings: Settings, listed: dict[str, str]
) -> None:
    keyring = settings_keys(settings, create=False).storage
    session.execute(update(Suspect).values(note="an old plain note"))
    session.commit()

    sealed = reseal_notes(session, keyring)
    session.commit()

    notes = session.scalars(select(Suspect)).all()
    assert sealed == 2
    assert all(item.note.startswith(PREFIX) for item in notes)
    assert {suspect_note(item, keyring) for item in notes} == {"an old plain note"}
    assert reseal_notes(session, keyring) == 0
