"""Runs, releases and stored hit views stream: the same results as reading uploads whole.

"Whole" is how the hub read an upload before it streamed: the blob decrypted into memory
and read by `linkage.batch.read_batch`, matched by `service.matching.match_run`. Here the
uploads are sealed in many small vault chunks and written in several record batches, so
the streamed reads cross every kind of boundary. SQLite and PostgreSQL.
"""

import io
import json
import subprocess
import sys
import uuid
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from linkage.batch import Batch, Envelopes, read_batch, released_envelope
from linkage.match.engine import run_here
from service import vault
from service.auth import Role
from service.batches import blob_path
from service.config import Settings
from service.hub_keys import load_hub_keys
from service.matching import match_run
from service.models import HitView, Upload
from service.store import hits as hits_store
from tests.service.batch_files import ARROW, as_file
from tests.service.factories import bearer, make_agency, make_principal, make_project
from tests.service.matching_data import THRESHOLD, plant

AGENCIES = ("FIU", "Gemeente", "Politie")
VAULT_CHUNK = 4096  # bytes: a 120-record upload spans a dozen sealed chunks
RECORD_BATCH = 50  # records per record batch of the uploaded files


@dataclass
class Scene:
    project_id: uuid.UUID
    tokens: dict[str, str]
    agency_names: dict[uuid.UUID, str]


def with_envelopes(batch: Batch, seed: int) -> Batch:
    """The batch with an opaque sealed envelope per record (the hub never opens them)."""
    rng = np.random.default_rng(seed)
    sealed = tuple(rng.bytes(int(size)) for size in rng.integers(60, 400, len(batch)))
    envelopes = Envelopes(ephemeral_key="cd" * 32, team_key_id="ef" * 8, sealed=sealed)
    return replace(batch, envelopes=envelopes)


def in_record_batches(data: bytes, rows: int) -> bytes:
    table = pa.ipc.open_file(pa.py_buffer(data)).read_all()
    sink = io.BytesIO()
    with pa.ipc.new_file(sink, table.schema) as writer:
        writer.write_table(table, max_chunksize=rows)
    return sink.getvalue()


@pytest.fixture
def scene(client: TestClient, session: Session, monkeypatch: pytest.MonkeyPatch) -> Scene:
    monkeypatch.setattr(vault, "CHUNK_BYTES", VAULT_CHUNK)
    agencies = {name: make_agency(session, name) for name in AGENCIES}
    analyst, analyst_token = make_principal(session, agencies["Politie"], name="Analyst")
    project = make_project(session, list(agencies.values()), members=[analyst])
    tokens = {"analyst": analyst_token}
    planted = plant(list(AGENCIES))
    for seed, (name, agency) in enumerate(agencies.items()):
        _, token = make_principal(session, agency, role=Role.DATA_OFFICER, name="Officer")
        content = as_file(with_envelopes(planted.batches[name], seed))
        content = in_record_batches(content, RECORD_BATCH)
        url = f"/v1/projects/{project.id}/uploads"
        answer = client.post(url, content=content, headers=bearer(token) | ARROW)
        assert answer.status_code == 201, answer.text
    names = {agency.id: agency.name for agency in agencies.values()}
    return Scene(project.id, tokens, names)


def start_run(client: TestClient, scene: Scene) -> str:
    started = client.post(
        f"/v1/projects/{scene.project_id}/runs",
        json={"threshold": THRESHOLD},
        headers=bearer(scene.tokens["analyst"]),
    )
    assert started.status_code == 202, started.text
    run_id = str(started.json()["id"])
    run = client.get(f"/v1/projects/{scene.project_id}/runs/{run_id}", headers=analyst(scene))
    assert run.json()["status"] == "succeeded", run.text
    return run_id


def analyst(scene: Scene) -> dict[str, str]:
    return bearer(scene.tokens["analyst"])


def whole_batches(session: Session, settings: Settings, scene: Scene) -> dict[uuid.UUID, Batch]:
    """Each agency's upload as the hub read it before: decrypted whole, `read_batch`."""
    keyring = load_hub_keys(settings.data_dir).storage
    uploads = session.scalars(select(Upload).where(Upload.project_id == scene.project_id))
    return {
        upload.agency_id: read_batch(
            vault.open_blob(
                blob_path(settings.data_dir, upload), keyring=keyring, name=str(upload.id)
            )
        )
        for upload in uploads
    }


def test_a_streamed_run_finds_the_hits_of_uploads_read_whole(
    client: TestClient, session: Session, settings: Settings, scene: Scene
) -> None:
    run_id = start_run(client, scene)
    batches = whole_batches(session, settings, scene)
    expected, _ = match_run(
        [replace(batch, agency=str(agency)) for agency, batch in batches.items()],
        threshold=THRESHOLD,
        min_agencies=2,
        runner=run_here,
        progress=lambda stage, done: None,
    )

    url = f"/v1/projects/{scene.project_id}/runs/{run_id}/hits/export"
    stored = client.get(url, headers=analyst(scene)).json()["groups"]

    assert len(stored) == len(expected.groups) > 0
    for group, hit in zip(expected.groups, stored, strict=True):
        names = [scene.agency_names[uuid.UUID(m.agency)] for m in group.members]
        assert [(m["agency"], m["reference"]) for m in hit["members"]] == [
            (name, member.reference) for name, member in zip(names, group.members, strict=True)
        ]
        assert [(link["left"], link["right"], link["score"]) for link in hit["links"]] == [
            (link.left, link.right, round(link.score, 4)) for link in group.links
        ]


def test_released_envelopes_are_those_of_the_uploads_read_whole(
    client: TestClient, session: Session, settings: Settings, scene: Scene
) -> None:
    run_id = start_run(client, scene)
    batches = whole_batches(session, settings, scene)
    by_name = {batch.agency: batch for batch in batches.values()}
    url = f"/v1/projects/{scene.project_id}/runs/{run_id}"
    hits = client.get(f"{url}/hits/export", headers=analyst(scene)).json()["groups"]

    answer = client.post(
        f"{url}/envelopes", json={"hits": [hit["group"] for hit in hits]}, headers=analyst(scene)
    )

    assert answer.status_code == 200, answer.text
    released = [item["envelopes"] for item in answer.json()["items"]]
    expected = [
        [
            released_envelope(
                by_name[m["agency"]], by_name[m["agency"]].references.index(m["reference"])
            )
            for m in hit["members"]
        ]
        for hit in hits
    ]
    assert released == expected
    assert sum(map(len, released)) > len(hits)


def stored_views(session: Session, run_id: str) -> dict[tuple[str, int], dict[str, Any]]:
    """A run's stored views by audience and number, without the hits' random ids."""
    rows = session.execute(
        select(HitView.audience, HitView.number, HitView.body).where(
            HitView.run_id == uuid.UUID(run_id)
        )
    )
    views = {}
    for audience, number, body in rows:
        view = json.loads(body)
        del view["id"]
        views[audience, number] = view
    return views


def test_views_stored_a_few_hits_at_a_time_are_those_stored_at_once(
    client: TestClient, session: Session, scene: Scene, monkeypatch: pytest.MonkeyPatch
) -> None:
    at_once = start_run(client, scene)
    monkeypatch.setattr(hits_store, "INSERT_ROWS", 2)  # slices of two hits, rows and views

    sliced = start_run(client, scene)

    views = stored_views(session, sliced)
    assert views == stored_views(session, at_once)
    for agency in scene.agency_names:  # each officer's own hits numbered 1..n across slices
        numbers = sorted(number for audience, number in views if audience == str(agency))
        assert numbers == list(range(1, len(numbers) + 1)) and len(numbers) > 2


CEILING = 32 * 1024 * 1024  # bytes: what matching needs, a sealed chunk twice, and room
ROOT = Path(__file__).resolve().parents[2]


def test_a_run_and_a_release_stay_under_a_ceiling_that_one_whole_upload_exceeds(
    tmp_path: Path,
) -> None:
    # Two uploads of 12,000 records with 4 kB envelopes (51 MB each); a run needs their
    # references and filters (about 2 MB). Measured by tracemalloc in a process of its
    # own (tests/service/memory_probe.py), which counts allocations, not timing.
    probe = [sys.executable, "-m", "tests.service.memory_probe"]
    sizes = ["--records", "12000", "--envelope-bytes", "4096"]
    setup = [*probe, "setup", str(tmp_path), *sizes]
    subprocess.run(setup, check=True, cwd=ROOT, timeout=300)  # noqa: S603 - our own code
    measured = subprocess.run(  # noqa: S603 - a fresh interpreter, our own code
        [*probe, "measure", str(tmp_path)],
        check=True,
        cwd=ROOT,
        timeout=300,
        capture_output=True,
        text=True,
    )
    figures = json.loads(measured.stdout.splitlines()[-1])

    assert figures["status"] == "succeeded"
    assert figures["envelopes"] == figures["members"] >= 24  # every planted person's
    assert min(figures["upload_bytes"]) > CEILING  # holding one upload whole breaks it
    assert figures["run_peak_bytes"] < CEILING
    assert figures["release_peak_bytes"] < CEILING
    assert figures["arrow_peak_bytes"] < CEILING // 8  # and nothing hides in Arrow's pool
