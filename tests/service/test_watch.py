"""The standing watch: an upload to a watched project queues a run, audited, with its changes.

Runs execute inline in these tests (the request that queues a run executes it), so the
run an upload queued has finished when the upload's answer arrives.
"""

import uuid

import numpy as np
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from linkage.batch import Batch
from service.config import Settings
from service.models import AuditEntry, Project, Run
from service.watch import ACTION
from tests.service.batch_files import ARROW, as_file
from tests.service.factories import FINGERPRINT, KEY_CHECK, bearer
from tests.service.matching_data import THRESHOLD, Scene, make_scene, near_copy, queue_run


@pytest.fixture
def scene(session: Session, settings: Settings) -> Scene:
    scene = make_scene(session, settings)
    scene.project.threshold = THRESHOLD  # the watch's runs use the project's threshold
    session.commit()
    return scene


def url(scene: Scene, tail: str = "") -> str:
    return f"/v1/projects/{scene.project.id}{tail}"


def set_watch(client: TestClient, scene: Scene, on: bool) -> None:
    answer = client.put(
        url(scene, "/watch"), json={"on": on}, headers=bearer(scene.tokens["analyst"])
    )
    assert answer.status_code == 200, answer.text
    assert answer.json()["watch"] is on


def first_run(client: TestClient, scene: Scene) -> str:
    answer = client.post(url(scene, "/runs"), json={}, headers=bearer(scene.tokens["analyst"]))
    assert answer.status_code == 202, answer.text
    return str(answer.json()["id"])


def new_politie_batch(scene: Scene, *, prefix: str = "new") -> Batch:
    """Two Politie records: one more record of planted person 0 (FIU and Gemeente hold it,
    Politie did not: that hit grows), and a record matching one no hit held (a new hit)."""
    rng = np.random.default_rng(5)
    fiu, gemeente = (
        scene.planted.batches[f"{name} Carousel"] for name in ("FIU", "Gemeente Rotterdam")
    )
    filters = np.stack([near_copy(rng, fiu.filters[0]), near_copy(rng, gemeente.filters[100])])
    return Batch.create(
        agency="Politie Carousel",
        schema_fingerprint=FINGERPRINT,
        key_check=KEY_CHECK,
        references=[f"{prefix}-1", f"{prefix}-2"],
        filters=filters,
    )


def upload(client: TestClient, scene: Scene, batch: Batch) -> dict[str, object]:
    headers = bearer(scene.tokens["officer:Politie"]) | ARROW
    answer = client.post(url(scene, "/uploads"), content=as_file(batch), headers=headers)
    assert answer.status_code in (200, 201), answer.text
    return dict(answer.json())


def read_run(
    client: TestClient, scene: Scene, run_id: object, who: str = "analyst"
) -> dict[str, object]:
    answer = client.get(url(scene, f"/runs/{run_id}"), headers=bearer(scene.tokens[who]))
    assert answer.status_code == 200, answer.text
    return dict(answer.json())


def watch_entries(session: Session) -> list[AuditEntry]:
    session.expire_all()
    return list(
        session.scalars(
            select(AuditEntry).where(AuditEntry.action == ACTION).order_by(AuditEntry.sequence)
        )
    )


def test_an_upload_to_a_watched_project_queues_a_run_that_says_what_is_new(
    client: TestClient, scene: Scene, session: Session
) -> None:
    before = first_run(client, scene)
    set_watch(client, scene, True)

    stored = upload(client, scene, new_politie_batch(scene))

    queued = stored["watch"]
    assert isinstance(queued, dict) and queued["reason"] is None
    run = read_run(client, scene, queued["run_id"])
    assert run["status"] == "succeeded"
    assert (run["trigger"], run["trigger_upload_id"]) == ("watch", stored["id"])
    assert run["changes"] == {
        "since_run_id": before,
        "new": 1,
        "grown": 1,
        "changed": 0,
        "unchanged": len(scene.planted.persons) - 1,
        "gone": 0,
    }
    # The run of an analyst says who started it; its changes count from nothing before it.
    first = read_run(client, scene, before)
    assert (first["trigger"], first["trigger_upload_id"], first["changes"]) == (
        "analyst",
        None,
        None,
    )


def test_a_data_officer_sees_that_the_watch_queued_a_run_but_not_what_changed(
    client: TestClient, scene: Scene
) -> None:
    first_run(client, scene)
    set_watch(client, scene, True)
    queued = upload(client, scene, new_politie_batch(scene))["watch"]
    assert isinstance(queued, dict)

    run = read_run(client, scene, queued["run_id"], who="officer:FIU")

    assert run["trigger"] == "watch"
    assert run["trigger_upload_id"] is None and run["changes"] is None


def test_the_audit_log_records_the_automatic_run_with_the_upload_that_queued_it(
    client: TestClient, scene: Scene, session: Session
) -> None:
    set_watch(client, scene, True)

    stored = upload(client, scene, new_politie_batch(scene))

    queued = stored["watch"]
    assert isinstance(queued, dict)
    (entry,) = watch_entries(session)
    officer = session.scalars(
        select(Run.started_by).where(Run.id == uuid.UUID(str(queued["run_id"])))
    ).one()
    upload_entry = session.scalars(
        select(AuditEntry).where(AuditEntry.action == "uploads-upload_batch")
    ).one()
    assert entry.resource == (
        f"/v1/projects/{scene.project.id}/runs/{queued['run_id']}?upload={stored['id']}"
    )
    assert (entry.outcome, entry.method, entry.role) == (202, "POST", "data_officer")
    assert entry.principal_id == officer == upload_entry.principal_id
    assert entry.token_id == upload_entry.token_id and entry.token_id is not None
    assert entry.request_id == upload_entry.request_id
    assert entry.project_id == scene.project.id


def test_a_replacement_with_other_content_queues_a_run_the_same_content_does_not(
    client: TestClient, scene: Scene, session: Session
) -> None:
    stored = upload(client, scene, new_politie_batch(scene))  # watch off: nothing queued
    set_watch(client, scene, True)
    headers = bearer(scene.tokens["officer:Politie"]) | ARROW
    target = url(scene, f"/uploads/{stored['id']}")
    other = new_politie_batch(scene, prefix="b")  # one file: a batch file holds its creation time

    changed = client.put(target, content=as_file(other), headers=headers)
    same = client.put(target, content=as_file(other), headers=headers)
    again = upload(client, scene, other)

    assert stored["watch"] is None
    assert changed.status_code == 200, changed.text
    assert changed.json()["watch"]["run_id"] is not None, changed.text
    assert same.status_code == 200 and same.json()["watch"] is None
    assert again["watch"] is None  # the identical file again: stored already, nothing new
    assert len(watch_entries(session)) == 1


def test_the_watch_obeys_the_run_cap_and_says_why_it_queued_nothing(
    client: TestClient, scene: Scene, session: Session, settings: Settings
) -> None:
    set_watch(client, scene, True)
    for _ in range(settings.max_active_runs_per_project):
        queue_run(session, scene.project)

    stored = upload(client, scene, new_politie_batch(scene))

    queued = stored["watch"]
    assert isinstance(queued, dict) and queued["run_id"] is None
    assert "runs queued or running" in str(queued["reason"])
    (entry,) = watch_entries(session)
    assert entry.outcome == 429
    assert entry.resource == f"/v1/projects/{scene.project.id}/runs?upload={stored['id']}"


def test_with_too_few_agencies_the_watch_queues_nothing(
    client: TestClient, session: Session, settings: Settings
) -> None:
    scene = make_scene(session, settings, name="Lonely", seed=2)
    lonely = session.get_one(Project, scene.project.id)
    lonely.min_agencies = 3
    session.commit()
    set_watch(client, scene, True)
    delete = bearer(scene.tokens["officer:FIU"])
    fiu_upload = client.get(url(scene, "/uploads"), headers=delete).json()["items"][0]["id"]
    assert client.delete(url(scene, f"/uploads/{fiu_upload}"), headers=delete).status_code == 204

    queued = upload(client, scene, _lonely_batch())["watch"]

    assert isinstance(queued, dict) and queued["run_id"] is None
    assert queued["reason"] == "uploads of 2 agencies; this project needs 3"
    assert [entry.outcome for entry in watch_entries(session)] == [409]


def test_only_analysts_of_the_team_turn_the_watch_on(client: TestClient, scene: Scene) -> None:
    officer = client.put(
        url(scene, "/watch"), json={"on": True}, headers=bearer(scene.tokens["officer:FIU"])
    )
    outsider = client.put(
        url(scene, "/watch"), json={"on": True}, headers=bearer(scene.tokens["outsider"])
    )
    wrong = client.put(
        url(scene, "/watch"), json={"on": "maybe"}, headers=bearer(scene.tokens["analyst"])
    )

    assert (officer.status_code, outsider.status_code, wrong.status_code) == (403, 404, 422)
    project = client.get(url(scene), headers=bearer(scene.tokens["analyst"])).json()
    assert project["watch"] is False


def _lonely_batch() -> Batch:
    rng = np.random.default_rng(9)
    return Batch.create(
        agency="Politie Lonely",
        schema_fingerprint=FINGERPRINT,
        key_check=KEY_CHECK,
        references=["lonely-1", "lonely-2"],
        filters=np.packbits(rng.random((2, 1024)) < 0.3, axis=1),
    )
