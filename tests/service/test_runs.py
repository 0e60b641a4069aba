import logging
import uuid
from collections.abc import Callable

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from service.batches import blob_path
from service.config import Settings
from service.models import Hit, HitMember, Upload
from tests.service.factories import bearer
from tests.service.matching_data import (
    THRESHOLD,
    Scene,
    execute_queued,
    make_scene,
    queue_run,
)

SessionFactory = Callable[[], Session]


@pytest.fixture
def scene(session: Session, settings: Settings) -> Scene:
    return make_scene(session, settings)


def runs_url(scene: Scene) -> str:
    return f"/v1/projects/{scene.project.id}/runs"


def start(client: TestClient, scene: Scene, body: dict[str, object] | None = None) -> str:
    response = client.post(
        runs_url(scene),
        json={"threshold": THRESHOLD} if body is None else body,
        headers=bearer(scene.tokens["analyst"]),
    )
    assert response.status_code == 202, response.text
    return str(response.json()["id"])


def test_a_started_run_is_queued_with_the_requested_threshold(
    client: TestClient, scene: Scene
) -> None:
    response = client.post(
        runs_url(scene), json={"threshold": 0.85}, headers=bearer(scene.tokens["analyst"])
    )

    run = response.json()
    assert response.status_code == 202
    assert run["status"] == "queued"
    assert run["stage"] == "queued"
    assert run["threshold"] == 0.85
    assert run["min_agencies"] == 2
    assert run["attempts"] == 0
    assert run["hit_count"] is None
    assert run["records"] == {}


def test_an_executed_run_reports_counts_by_agency_name(
    client: TestClient, scene: Scene, session_factory: SessionFactory, settings: Settings
) -> None:
    run_id = start(client, scene)  # the test settings execute runs inline

    run = client.get(f"{runs_url(scene)}/{run_id}", headers=bearer(scene.tokens["analyst"])).json()

    assert run["status"] == "succeeded"
    assert (run["stage"], run["progress"], run["attempts"]) == ("done", 1.0, 1)
    assert run["hit_count"] == len(scene.planted.persons)
    assert run["records"] == {agency.name: 120 for agency in scene.agencies.values()}
    assert run["threshold"] == THRESHOLD
    assert run["error"] is None
    assert run["started_at"] <= run["finished_at"]
    # Record filters without salt families: the recall could count compared pairs only.
    assert (run["recall_basis"], run["recall_interval"]) == ("compared pairs", None)


def test_without_a_threshold_the_run_chooses_one_from_the_data(
    client: TestClient, scene: Scene, session_factory: SessionFactory, settings: Settings
) -> None:
    run_id = start(client, scene, {})

    run = client.get(f"{runs_url(scene)}/{run_id}", headers=bearer(scene.tokens["auditor"])).json()

    assert run["status"] == "succeeded"
    assert 0 < run["threshold"] <= 1
    assert run["estimated_precision"] is not None


def test_a_data_officer_sees_the_own_agency_counts_only(
    client: TestClient, scene: Scene, session_factory: SessionFactory, settings: Settings
) -> None:
    run_id = start(client, scene)
    agency = scene.agencies["FIU"]

    run = client.get(
        f"{runs_url(scene)}/{run_id}", headers=bearer(scene.tokens["officer:FIU"])
    ).json()

    own_persons = [p for p in scene.planted.persons if any(a == agency.name for a, _ in p)]
    assert run["records"] == {agency.name: 120}
    assert run["hit_count"] == len(own_persons) < len(scene.planted.persons)


def test_runs_are_listed_newest_first(client: TestClient, scene: Scene) -> None:
    first, second = start(client, scene), start(client, scene)

    listed = client.get(runs_url(scene), headers=bearer(scene.tokens["officer:Politie"])).json()

    assert [run["id"] for run in listed["items"]] == [second, first]


def test_a_run_of_another_project_is_not_found(
    client: TestClient, scene: Scene, session: Session, settings: Settings
) -> None:
    other = make_scene(session, settings, name="Other", seed=1)
    run_id = start(client, other, None)

    response = client.get(f"{runs_url(scene)}/{run_id}", headers=bearer(scene.tokens["analyst"]))

    assert response.status_code == 404
    assert response.json()["code"] == "not-found"


def test_a_run_needs_uploads_of_k_agencies(
    client: TestClient, scene: Scene, session: Session
) -> None:
    for upload in session.scalars(select(Upload)).all():
        if upload.agency_id != scene.agencies["FIU"].id:
            session.delete(upload)
    session.commit()

    response = client.post(runs_url(scene), json={}, headers=bearer(scene.tokens["analyst"]))

    assert response.status_code == 409
    assert response.json()["code"] == "conflict"


def test_the_threshold_must_be_a_similarity(client: TestClient, scene: Scene) -> None:
    response = client.post(
        runs_url(scene), json={"threshold": 1.5}, headers=bearer(scene.tokens["analyst"])
    )

    assert response.status_code == 422
    assert "1.5" not in response.text


def test_two_runs_over_the_same_uploads_find_identical_hits(
    client: TestClient,
    scene: Scene,
    session: Session,
    session_factory: SessionFactory,
    settings: Settings,
) -> None:
    first, second = start(client, scene), start(client, scene)

    assert stored_hits(session, first) == stored_hits(session, second)
    assert len(stored_hits(session, first)) == len(scene.planted.persons)


def stored_hits(
    session: Session, run_id: str
) -> list[tuple[int, float, list[list[float]], list[tuple[str, str]]]]:
    query = select(Hit).where(Hit.run_id == uuid.UUID(run_id)).order_by(Hit.number)
    hits = session.scalars(query).all()
    out = []
    for hit in hits:
        members = session.scalars(
            select(HitMember).where(HitMember.hit_id == hit.id).order_by(HitMember.position)
        ).all()
        out.append(
            (
                hit.number,
                hit.best_score,
                hit.links,
                [(str(m.agency_id), m.reference) for m in members],
            )
        )
    return out


def test_a_run_whose_upload_cannot_be_read_fails_without_data_in_error_or_log(
    client: TestClient,
    scene: Scene,
    session: Session,
    session_factory: SessionFactory,
    settings: Settings,
    caplog: pytest.LogCaptureFixture,
) -> None:
    upload = session.scalars(
        select(Upload).where(Upload.agency_id == scene.agencies["FIU"].id)
    ).one()
    blob = blob_path(settings.data_dir, upload)
    blob.write_bytes(blob.read_bytes()[:-20])  # truncated: fails authentication
    with caplog.at_level(logging.INFO, logger="service"):
        run_id = start(client, scene)
    run = client.get(f"{runs_url(scene)}/{run_id}", headers=bearer(scene.tokens["analyst"])).json()

    assert run["status"] == "failed"
    assert run["error"].startswith("VaultError: ")
    assert run["hit_count"] is None
    references = {ref for batch in scene.planted.batches.values() for ref in batch.references}
    assert not any(ref in caplog.text or ref in run["error"] for ref in references)
    assert "VaultError" in caplog.text


def test_a_run_whose_upload_was_deleted_fails_clearly(
    client: TestClient,
    scene: Scene,
    session: Session,
    session_factory: SessionFactory,
    settings: Settings,
) -> None:
    queued = queue_run(session, scene.project)
    session.delete(session.scalars(select(Upload)).first())
    session.commit()

    execute_queued(session_factory, settings)
    run = client.get(f"{runs_url(scene)}/{queued.id}", headers=bearer(scene.tokens["analyst"]))

    assert run.json()["status"] == "failed"
    assert run.json()["error"] == "RunInputMissing: an upload of this run was deleted before it ran"
