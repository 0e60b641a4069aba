"""Keys through the hub and sealed disclosure, end to end, as four agencies and a team do it.

Every step is the `fieldlink` command the person in that role runs (the CLI's hub
connections are wired to the real app): agencies generate key pairs and register the
public halves, the team registers its key, a custodian wraps the project secret for every
registered agency key and deposits the wrapped keys, each agency fetches and unwraps its
own copy, encodes with envelopes, uploads; the analyst runs the matching and opens the
hits' envelopes with the team's private key. Then the hub turns malicious: a wrapped key
altered in its database and an envelope altered in its vault are detected on the client.
"""

import base64
import csv
import io
import json
import uuid
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from keys import read_secret
from linkage.agency import read_refmap
from linkage.batch import read_batch, write_batch
from linkage.client import HubClient
from service.batches import blob_path
from service.config import Settings
from service.hub_keys import load_hub_keys
from service.models import Project, Upload, WrappedKey
from service.vault import open_blob, seal
from tests.contract.key_journey import AGENCIES, ENVELOPE_FIELDS, LABEL, Journey, fieldlink


def source_records(records: Path, agency: str) -> dict[str, dict[str, str]]:
    text = (records / f"{agency}.csv").read_text(encoding="utf-8-sig")
    delimiter = ";" if ";" in text.splitlines()[0] else ","  # spreadsheet exports use ";"
    rows = csv.DictReader(io.StringIO(text, newline=""), delimiter=delimiter)
    return {row["record_id"]: row for row in rows}


def test_every_agency_unwraps_the_custodians_secret(journey: Journey) -> None:
    custodian = read_secret(journey.folder / "custodian.key")

    secrets = [read_secret(journey.folder / agency / "project.key") for agency in AGENCIES]

    assert {secret.value for secret in secrets} == {custodian.value}
    assert {secret.project for secret in secrets} == {LABEL}


def test_the_team_opens_exactly_the_hit_members_identities(
    journey: Journey, records: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = journey.folder / "suspects.csv"

    status = fieldlink(
        monkeypatch, journey.tokens["analyst"], "hits", "--project", "Carousel", "--open",
        "--team-key", journey.folder / "team.key", "--out", out,
    )  # fmt: skip

    assert status == 0
    rows = list(csv.DictReader(out.read_text(encoding="utf-8").splitlines()))
    run = journey.analyst.runs(journey.project_id)[0]
    hits = list(journey.analyst.hits(journey.project_id, run.id))
    members = {(m.agency, m.reference) for hit in hits for m in hit.members}
    assert len(hits) > 10 and any(len(hit.agencies) == 4 for hit in hits)
    assert {(row["agency"], row["reference"]) for row in rows} == members
    for agency in AGENCIES:
        refmap = read_refmap(journey.folder / agency / "batch.refs.csv")
        source = source_records(records, agency)
        for row in (row for row in rows if row["agency"] == agency):
            record = source[refmap[row["reference"]]]
            assert row["record_id"] == record["record_id"]
            assert [row[name] for name in ENVELOPE_FIELDS[:3]] == [
                record[name].strip() for name in ENVELOPE_FIELDS[:3]
            ]


def test_a_wrapped_key_altered_at_the_hub_is_refused_on_fetch(
    journey: Journey,
    session: Session,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    stored = session.scalars(select(WrappedKey)).first()
    assert stored is not None
    document = json.loads(stored.document)
    ciphertext = bytearray(base64.b64decode(document["ciphertext"]))
    ciphertext[3] ^= 0x80
    document["ciphertext"] = base64.b64encode(bytes(ciphertext)).decode()
    session.execute(
        update(WrappedKey)
        .where(WrappedKey.agency_id == stored.agency_id, WrappedKey.epoch == stored.epoch)
        .values(document=json.dumps(document))
    )
    session.commit()
    agency = next(name for name in AGENCIES if f'"recipient": "{name}"' in stored.document)
    capsys.readouterr()

    status = fieldlink(
        monkeypatch, journey.tokens[agency], "keys", "fetch", "--project", "Carousel",
        "--out", journey.folder / "again.json", "--key", journey.folder / f"{agency}.key",
        "--secret-out", journey.folder / "again.key",
    )  # fmt: skip

    assert status == 1
    assert "wrapped key failed authentication" in capsys.readouterr().err
    assert not (journey.folder / "again.key").exists()


def test_an_envelope_altered_in_the_hubs_vault_is_refused_on_opening(
    journey: Journey,
    session: Session,
    settings: Settings,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    run = journey.analyst.runs(journey.project_id)[0]
    hit = next(h for h in journey.analyst.hits(journey.project_id, run.id) if "fiu" in h.agencies)
    reference = next(m.reference for m in hit.members if m.agency == "fiu")
    _alter_envelope(session, settings, "fiu", reference)
    out = journey.folder / "tampered.csv"
    capsys.readouterr()

    status = fieldlink(
        monkeypatch, journey.tokens["analyst"], "hits", "--project", "Carousel", "--open",
        "--team-key", journey.folder / "team.key", "--out", out,
    )  # fmt: skip

    error = capsys.readouterr().err
    assert status == 1
    assert f"hit {hit.number}:" in error and "failed authentication" in error
    assert not out.exists()


def _alter_envelope(session: Session, settings: Settings, agency: str, reference: str) -> None:
    """What a compromised hub could do: re-seal a stored batch with one envelope altered."""
    keyring = load_hub_keys(settings.data_dir).storage
    uploads = session.scalars(select(Upload)).all()
    for upload in uploads:
        path = blob_path(settings.data_dir, upload)
        batch = read_batch(open_blob(path, keyring=keyring, name=str(upload.id)))
        if batch.agency != agency:
            continue
        assert batch.envelopes is not None
        sealed = list(batch.envelopes.sealed)
        index = batch.references.index(reference)
        sealed[index] = sealed[index][:20] + bytes([sealed[index][20] ^ 1]) + sealed[index][21:]
        envelopes = type(batch.envelopes)(
            batch.envelopes.ephemeral_key, batch.envelopes.team_key_id, tuple(sealed)
        )
        sink = io.BytesIO()
        write_batch(type(batch)(**{**_fields(batch), "envelopes": envelopes}), sink)
        seal(iter([sink.getvalue()]), path, keyring=keyring, name=str(upload.id))
        return
    raise AssertionError(f"no upload of {agency}")


def _fields(batch: object) -> dict[str, object]:
    return {name: getattr(batch, name) for name in batch.__slots__}  # type: ignore[attr-defined]


def test_with_step_up_the_team_opens_what_officers_approved(
    journey: Journey,
    session: Session,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    session.execute(update(Project).values(disclosure_approval=True))  # --disclosure-approval
    session.commit()
    run = journey.analyst.runs(journey.project_id)[0]
    hit = next(h for h in journey.analyst.hits(journey.project_id, run.id) if "fiu" in h.agencies)
    fiu, analyst = journey.tokens["fiu"], journey.tokens["analyst"]
    open_hit = ("hits", "--project", "Carousel", "--open", "--hit", str(hit.number))
    team_key = ("--team-key", journey.folder / "team.key")

    capsys.readouterr()
    assert fieldlink(monkeypatch, analyst, *open_hit, *team_key) == 0
    before = capsys.readouterr().out
    assert fieldlink(monkeypatch, fiu, "approve", "--project", "Carousel", "--pending") == 0
    pending = capsys.readouterr().out
    # An officer numbers its own hits 1..n: approve the one holding the same fiu records.
    own = _officer_number(
        journey, fiu, run.id, {m.reference for m in hit.members if m.agency == "fiu"}
    )
    assert fieldlink(monkeypatch, fiu, "approve", "--project", "Carousel", str(own)) == 0
    assert fieldlink(monkeypatch, analyst, *open_hit, *team_key) == 0
    after = capsys.readouterr().out

    assert "fiu (approval pending): not released" in before
    assert f"hit {hit.number}: fiu has not approved disclosure" in pending
    assert "fiu (approval pending)" not in after
    assert sum(line.startswith("  fiu ") for line in after.splitlines()) == sum(
        member.agency == "fiu" for member in hit.members
    )


def _officer_number(journey: Journey, token: str, run_id: uuid.UUID, references: set[str]) -> int:
    headers = {"Authorization": f"Bearer {token}"}
    officer = HubClient(TestClient(journey.analyst.http.app, headers=headers))  # type: ignore[attr-defined]
    for item in officer.hits(journey.project_id, run_id):
        if {member.reference for member in item.members if member.agency == "fiu"} == references:
            return item.number
    raise AssertionError("the officer does not see the hit")


def test_opening_a_hit_the_run_does_not_have_fails_and_opens_nothing(
    journey: Journey, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    out = journey.folder / "none.csv"
    capsys.readouterr()

    status = fieldlink(
        monkeypatch, journey.tokens["analyst"], "hits", "--project", "Carousel", "--open",
        "--team-key", journey.folder / "team.key", "--hit", "99999", "--out", out,
    )  # fmt: skip

    assert status == 1
    assert "has no hit 99999: nothing was opened" in capsys.readouterr().err
    assert not out.exists()


def test_uploading_the_same_file_again_says_so(
    journey: Journey, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    capsys.readouterr()
    batch = journey.folder / "fiu" / "batch.arrow"

    status = fieldlink(monkeypatch, journey.tokens["fiu"], "upload", batch, "--project", "Carousel")

    assert status == 0
    assert "already uploaded as" in capsys.readouterr().out
