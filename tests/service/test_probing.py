"""Probing controls at upload: budgets, salted encodings, thin records, near-duplicate floods."""

import uuid
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from linkage.batch import Batch
from linkage.schema import load_schema
from linkage.synth import generate
from service import probing
from service.auth import Role
from service.models import Agency, AuditEntry
from service.probing import ProbingSettings, Rule, probing_refusal
from tests.service.batch_files import ARROW, as_file, make_batch
from tests.service.factories import bearer, make_agency, make_principal, make_project
from tests.service.probing_data import SECRET, atoms, encode_rows, read_rows, sweep

AGENCIES = ("gemeente", "politie", "fiu", "kmar")


@pytest.fixture(scope="module")
def synth(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("synth")
    generate(folder, persons=300, seed=1)
    return folder


@pytest.fixture
def officers(session: Session) -> dict[str, str]:
    """A data officer's token per synthetic agency."""
    tokens = {}
    for name in AGENCIES:
        agency = make_agency(session, name)
        tokens[name] = make_principal(session, agency, role=Role.DATA_OFFICER, name=name)[1]
    return tokens


def register(
    client: TestClient, admin_token: str, session: Session, *, schema: str = "person", **extra: Any
) -> str:
    """A project of the four agencies registered through the API: its uploads URL."""
    agencies = session.scalars(select(Agency).where(Agency.name.in_(AGENCIES))).all()
    body = {
        "name": f"Carousel {schema} {uuid.uuid4().hex[:6]}",
        "purpose": "Find persons moved between cities",
        "legal_basis": "Art. 20 Wpg",
        "agency_ids": [str(agency.id) for agency in agencies],
        "schema_fingerprint": load_schema(schema).fingerprint(),
        "key_check": SECRET.key_check_value(),
    } | extra
    response = client.post("/v1/projects", json=body, headers=bearer(admin_token))
    assert response.status_code == 201, response.text
    return f"/v1/projects/{response.json()['id']}/uploads"


def post(client: TestClient, url: str, token: str, content: bytes) -> Any:
    return client.post(url, content=content, headers=bearer(token) | ARROW)


def refused_as(response: Any, code: str) -> bool:
    body = response.json()
    return response.status_code == 422 and body["code"] == code and "detail" in body


# --------------------------------------------------------------------------- the rules, pure


def groups_of_copies(records: int, copies: int, *, seed: int) -> np.ndarray:
    """Random filters in groups of `copies` that differ in one bit (Dice > 0.99 inside)."""
    rng = np.random.default_rng(seed)
    bases = rng.random((records // copies, 1024)) < 0.3
    bits = np.repeat(bases, copies, axis=0)
    bits[np.arange(len(bits)), rng.integers(0, 1024, len(bits))] ^= True
    return np.packbits(bits, axis=1)


def test_the_near_duplicate_share_counts_records_with_two_or_more_near_duplicates() -> None:
    pairs = groups_of_copies(600, 2, seed=1)[:, None, :]
    triples = groups_of_copies(600, 3, seed=2)[:, None, :]

    assert probing.near_duplicate_share(pairs) == 0.0  # a repeat visit: one near-duplicate
    assert probing.near_duplicate_share(triples) == 1.0


def test_the_sampled_near_duplicate_share_is_close_to_the_exact_one(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    rng = np.random.default_rng(3)
    noise = np.packbits(rng.random((4500, 1024)) < 0.3, axis=1)
    blocks = np.concatenate([groups_of_copies(1500, 3, seed=4), noise])[:, None, :]

    estimates = [probing.near_duplicate_share(blocks, seed=seed) for seed in range(3)]
    monkeypatch.setattr(probing, "NEAR_DUPLICATE_SAMPLE", len(blocks))
    exact = probing.near_duplicate_share(blocks)

    assert exact == 0.25
    assert all(abs(estimate - exact) < 0.04 for estimate in estimates)  # 5 standard errors


def test_a_batch_of_atom_records_is_thin_however_alike_they_are() -> None:
    rng = np.random.default_rng(5)
    atom_blocks = np.packbits(rng.random((200, 1, 1024)) < 0.02, axis=2)

    assert probing.thin_share(atom_blocks, 0.05) == 1.0
    assert probing.thin_share(atom_blocks, 0.0) == 0.0  # without a floor the median hides it


def test_the_budget_counts_a_batch_whose_content_was_counted_once() -> None:
    batch = make_batch("politie", records=20)
    settings = ProbingSettings(upload_budget_records=30, require_salted_encodings=False)

    again = probing_refusal(batch, settings, 20, counted=False)
    new = probing_refusal(batch, settings, 20)

    assert again is None
    assert new is not None and new.rule is Rule.BUDGET
    assert "10 of 30 left" in new.detail


def test_the_content_digest_leaves_out_when_the_batch_was_written() -> None:
    first = make_batch("politie", records=5)
    later = Batch(**{name: getattr(first, name) for name in Batch.__slots__} | {"created_at": "x"})

    assert probing.content_digest(first) == probing.content_digest(later)
    assert probing.content_digest(first) != probing.content_digest(make_batch("politie", seed=1))


# --------------------------------------------------------------------------- through the hub


def test_a_new_project_has_the_default_controls_and_an_administrator_changes_them(
    client: TestClient, session: Session, admin_token: str, officers: dict[str, str]
) -> None:
    url = register(client, admin_token, session)
    project_url = url.removesuffix("/uploads")

    created = client.get(project_url, headers=bearer(admin_token)).json()
    changed = client.patch(
        project_url,
        json={"upload_budget_records": 5000, "require_salted_encodings": False},
        headers=bearer(admin_token),
    )
    lifted = client.patch(
        project_url, json={"upload_budget_records": None}, headers=bearer(admin_token)
    )
    nulled = client.patch(
        project_url, json={"max_near_duplicate_share": None}, headers=bearer(admin_token)
    )

    assert created["require_salted_encodings"] is True
    assert created["upload_budget_records"] is None
    assert (created["max_near_duplicate_share"], created["min_fill_share"]) == (0.15, 0.05)
    assert changed.json()["upload_budget_records"] == 5000
    assert changed.json()["require_salted_encodings"] is False
    assert lifted.json()["upload_budget_records"] is None
    assert nulled.status_code == 422


def test_honest_synthetic_batches_are_accepted(
    client: TestClient,
    session: Session,
    admin_token: str,
    officers: dict[str, str],
    synth: Path,
    tmp_path: Path,
) -> None:
    url = register(client, admin_token, session)

    answers = {
        agency: post(
            client,
            url,
            token,
            encode_rows(read_rows(synth / f"{agency}.csv"), tmp_path / agency, agency=agency),
        )
        for agency, token in officers.items()
    }

    assert {agency: answer.status_code for agency, answer in answers.items()} == dict.fromkeys(
        AGENCIES, 201
    )


def test_a_spelling_variant_sweep_is_refused_and_audited_with_its_size(
    client: TestClient,
    session: Session,
    admin_token: str,
    officers: dict[str, str],
    synth: Path,
    tmp_path: Path,
) -> None:
    url = register(client, admin_token, session)
    rows = sweep(read_rows(synth / "gemeente.csv"), targets=25)

    response = post(
        client, url, officers["gemeente"], encode_rows(rows, tmp_path, agency="gemeente")
    )

    assert refused_as(response, "near-duplicate-flood"), response.text
    assert client.get(url, headers=bearer(officers["gemeente"])).json()["items"] == []
    posts = select(AuditEntry).where(AuditEntry.method == "POST", AuditEntry.resource == url)
    assert [(e.outcome, e.records) for e in session.scalars(posts)] == [(422, len(rows))]


def test_atom_records_mixed_into_an_honest_file_are_refused(
    client: TestClient,
    session: Session,
    admin_token: str,
    officers: dict[str, str],
    synth: Path,
    tmp_path: Path,
) -> None:
    url = register(
        client, admin_token, session, schema="person-classic", require_salted_encodings=False
    )
    honest = read_rows(synth / "gemeente.csv")
    rows = honest + atoms(len(honest) // 10, honest[0])

    response = post(
        client,
        url,
        officers["gemeente"],
        encode_rows(rows, tmp_path, agency="gemeente", schema="person-classic"),
    )

    assert refused_as(response, "abnormal-fill"), response.text


def test_unsalted_encodings_are_refused_where_the_project_requires_salted_ones(
    client: TestClient,
    session: Session,
    admin_token: str,
    officers: dict[str, str],
    synth: Path,
    tmp_path: Path,
) -> None:
    strict = register(client, admin_token, session, schema="person-classic")
    lenient = register(
        client, admin_token, session, schema="person-classic", require_salted_encodings=False
    )
    rows = read_rows(synth / "fiu.csv")
    classic = encode_rows(rows, tmp_path, agency="fiu", schema="person-classic")

    refused = post(client, strict, officers["fiu"], classic)
    accepted = post(client, lenient, officers["fiu"], classic)

    assert refused_as(refused, "unsalted-encodings"), refused.text
    assert accepted.status_code == 201, accepted.text


# --------------------------------------------------------------------------- the upload budget


@pytest.fixture
def budgeted(session: Session) -> tuple[str, str]:
    """A project whose agencies may upload 50 records each: (uploads URL, officer token)."""
    own, partner = make_agency(session, "Politie"), make_agency(session, "KMar")
    _, token = make_principal(session, own, role=Role.DATA_OFFICER)
    project = make_project(session, [own, partner], upload_budget_records=50)
    return f"/v1/projects/{project.id}/uploads", token


def test_an_upload_over_the_budget_is_refused_and_nothing_stored_is_lost(
    client: TestClient, budgeted: tuple[str, str]
) -> None:
    url, token = budgeted
    first = post(client, url, token, as_file(make_batch("Politie", records=30)))

    over = post(client, url, token, as_file(make_batch("Politie", records=30, first=30, seed=1)))

    assert first.status_code == 201
    assert refused_as(over, "upload-budget-exceeded"), over.text
    assert "20 of 50 left" in over.json()["detail"]
    listed = client.get(url, headers=bearer(token)).json()["items"]
    assert [item["id"] for item in listed] == [first.json()["id"]]
    assert client.get(f"{url}/{first.json()['id']}", headers=bearer(token)).status_code == 200


def test_deleting_or_replacing_an_upload_does_not_give_its_budget_back(
    client: TestClient, budgeted: tuple[str, str]
) -> None:
    url, token = budgeted
    first = post(client, url, token, as_file(make_batch("Politie", records=20))).json()
    replaced = client.put(
        f"{url}/{first['id']}",
        content=as_file(make_batch("Politie", records=20, seed=1)),
        headers=bearer(token) | ARROW,
    )
    deleted = client.delete(f"{url}/{first['id']}", headers=bearer(token))

    after = post(client, url, token, as_file(make_batch("Politie", records=20, first=20, seed=2)))

    assert (replaced.status_code, deleted.status_code) == (200, 204)
    assert refused_as(after, "upload-budget-exceeded"), after.text


def test_the_same_records_uploaded_again_count_once(
    client: TestClient, budgeted: tuple[str, str]
) -> None:
    url, token = budgeted
    batch = make_batch("Politie", records=30)
    first = post(client, url, token, as_file(batch)).json()
    client.delete(f"{url}/{first['id']}", headers=bearer(token))
    rewritten = Batch.create(
        agency=batch.agency,
        schema_fingerprint=batch.schema_fingerprint,
        key_check=batch.key_check,
        references=list(batch.references),
        filters=batch.filters,
    )

    again = post(client, url, token, as_file(rewritten))
    other = post(client, url, token, as_file(make_batch("Politie", records=30, first=30, seed=1)))

    assert again.status_code == 201, again.text
    assert refused_as(other, "upload-budget-exceeded"), other.text
