"""linkage.HubClient against the real hub: every role's journey through the API, end to end.

Four agencies encode synthetic records with the real encoder, upload, an analyst runs the
matching and keeps a suspect list, the police map their hits back, an auditor verifies the
log. The HubClient runs over the app's TestClient (an httpx.Client), so this is the same
code path as over the network.
"""

import csv
import json
import uuid
from dataclasses import dataclass
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from keys import LinkageSecret, ReferenceKey
from linkage.agency import encode_csv, read_refmap
from linkage.cli import main
from linkage.client import HubClient
from linkage.errors import HubRequestError
from linkage.hits import read_hits
from linkage.schema import load_schema
from linkage.synth import generate
from tests.service.factories import second_admin

AGENCIES = ("gemeente", "politie", "fiu", "kmar")


@dataclass
class Team:
    admin: HubClient
    officers: dict[str, HubClient]
    analyst: HubClient
    auditor: HubClient
    project_id: uuid.UUID


def as_caller(client: TestClient, token: str) -> HubClient:
    http = TestClient(client.app, headers={"Authorization": f"Bearer {token}"})
    return HubClient(http)


@pytest.fixture
def team(client: TestClient, session: Session, admin_token: str, secret: LinkageSecret) -> Team:
    admin = as_caller(client, admin_token)
    second = as_caller(client, second_admin(session))  # activates first officers, proposes
    agencies = {name: admin.create_agency(name) for name in AGENCIES}
    project = admin.create_project(
        name="Carousel",
        purpose="Find persons moved between cities",
        legal_basis="Art. 20 Wpg",
        agency_ids=[agency.id for agency in agencies.values()],
        schema_fingerprint=load_schema("person").fingerprint(),
        key_check=secret.key_check_value(),
    )

    def principal(agency: str, role: str) -> HubClient:
        # The administrator gets an enrolment code; the principal redeems it for its token,
        # which works once a second person activated it with the enrolment check.
        created = admin.create_principal(agencies[agency].id, f"{agency} {role}", role)
        enrolled = HubClient(TestClient(client.app)).redeem_enrolment_code(created.code)
        activator = officers.get(agency, second)  # an agency's first officer: an administrator
        activator.activate_principal(created.principal.id, enrolled.enrolment_check)
        if role != "data_officer":  # proposed by the other administrator, confirmed by an officer
            second.add_member(project.id, created.principal.id)
            officers["politie"].confirm_member(project.id, created.principal.id)
        return as_caller(client, enrolled.token)

    officers: dict[str, HubClient] = {}
    for name in AGENCIES:
        officers[name] = principal(name, "data_officer")
    return Team(
        admin=admin,
        officers=officers,
        analyst=principal("politie", "analyst"),
        auditor=principal("politie", "auditor"),
        project_id=project.id,
    )


@pytest.fixture(scope="module")
def agency_files(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("agencies")
    generate(folder, persons=150, seed=7)
    return folder


def encode(folder: Path, agency: str, secret: LinkageSecret, out: Path) -> Path:
    batch = out / f"{agency}.arrow"
    encode_csv(
        folder / f"{agency}.csv",
        schema=load_schema("person"),
        secret=secret,
        ref_key=ReferenceKey(agency=agency, value=bytes(32)),
        out=batch,
    )
    return batch


def finished_run(team: Team) -> uuid.UUID:
    run = team.analyst.start_run(team.project_id)
    done = team.analyst.wait(team.project_id, run.id, poll_s=0.05, timeout_s=120)
    assert done.status == "succeeded", done.error
    return done.id


@pytest.fixture
def uploaded(team: Team, agency_files: Path, secret: LinkageSecret, tmp_path: Path) -> Path:
    for agency, officer in team.officers.items():
        officer.upload(team.project_id, encode(agency_files, agency, secret, tmp_path))
    return tmp_path


def test_uploads_are_listed_per_role_and_idempotent(
    team: Team, agency_files: Path, secret: LinkageSecret, tmp_path: Path
) -> None:
    batch = encode(agency_files, "politie", secret, tmp_path)
    politie = team.officers["politie"]

    first = politie.upload(team.project_id, batch)
    again = politie.upload(team.project_id, batch)

    assert again.id == first.id
    assert again.already_stored and not first.already_stored
    assert first.agency == "politie" and first.record_count > 0
    assert [u.id for u in politie.uploads(team.project_id)] == [first.id]
    assert team.officers["fiu"].uploads(team.project_id) == []
    assert [u.id for u in team.analyst.uploads(team.project_id)] == [first.id]


def test_a_batch_of_another_agency_is_refused_with_its_problem_code(
    team: Team, agency_files: Path, secret: LinkageSecret, tmp_path: Path
) -> None:
    batch = encode(agency_files, "fiu", secret, tmp_path)

    with pytest.raises(HubRequestError) as refused:
        team.officers["politie"].upload(team.project_id, batch)

    assert refused.value.status == 422
    assert "agency" in refused.value.detail


def test_the_analyst_runs_matching_and_keeps_a_suspect_list(
    team: Team, uploaded: Path, tmp_path: Path
) -> None:
    run_id = finished_run(team)
    hits = list(team.analyst.hits(team.project_id, run_id, page=7))
    wide = [hit for hit in hits if len(hit.agencies) >= 3]

    assert len(hits) > 20 and wide
    assert [hit.number for hit in hits] == list(range(1, len(hits) + 1))
    suspect = team.analyst.add_suspect(team.project_id, wide[0].id, note="three agencies")
    team.analyst.update_suspect(team.project_id, suspect.id, status="under_review")
    listed = team.analyst.suspects(team.project_id)
    assert [(s.id, s.status, s.agencies) for s in listed] == [
        (suspect.id, "under_review", wide[0].agencies)
    ]
    team.analyst.export_suspects(team.project_id, tmp_path / "suspects.csv")
    rows = list(csv.DictReader((tmp_path / "suspects.csv").read_text("utf-8").splitlines()))
    assert {row["status"] for row in rows} == {"under_review"}


def test_a_data_officer_gets_own_hits_and_maps_them_back(
    team: Team, uploaded: Path, tmp_path: Path
) -> None:
    run_id = finished_run(team)
    target = tmp_path / "politie-hits.json"

    team.officers["politie"].export_hits(team.project_id, run_id, target)

    hits = read_hits(target)
    refmap = read_refmap(uploaded / "politie.refs.csv")
    members = [member for group in hits.groups for member in group.members]
    assert members and {member.agency for member in members} == {"politie"}
    assert all(member.reference in refmap for member in members)
    document = json.loads(target.read_text(encoding="utf-8"))
    assert all(len(group["agencies"]) >= 2 for group in document["groups"])
    # Real encodings carry comparisons: the hub scores by field and says what agreed.
    assert all(group["agreed_fields"] for group in document["groups"])


def test_roles_outside_their_lane_are_refused(team: Team, uploaded: Path) -> None:
    run_id = finished_run(team)

    for call in (
        lambda: team.auditor.start_run(team.project_id),
        lambda: list(team.auditor.hits(team.project_id, run_id)),
        lambda: team.officers["fiu"].suspects(team.project_id),
        lambda: team.admin.uploads(team.project_id),
    ):
        with pytest.raises(HubRequestError) as refused:
            call()
        assert refused.value.status == 403


def test_the_auditor_exports_a_log_that_verifies_offline(
    team: Team, uploaded: Path, tmp_path: Path
) -> None:
    finished_run(team)
    target = tmp_path / "audit.json"

    team.auditor.export_audit(target)

    assert main(["audit", "verify", str(target)]) == 0
    keys = team.auditor.audit_keys()
    assert keys


def test_unknown_fields_in_answers_are_ignored_not_fatal(team: Team) -> None:
    projects = team.analyst.projects()

    assert [project.name for project in projects] == ["Carousel"]


def test_the_administrator_changes_project_settings_from_the_command_line(
    team: Team,
    client: TestClient,
    admin_token: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    # the command's own connection (it closes it), over the app instead of the network
    monkeypatch.setattr("linkage.cli.admin.connect", lambda _: as_caller(client, admin_token))
    command = ["admin", "set-project", "--project", "Carousel", "--min-agencies", "3"]

    assert main([*command, "--expires", "2099-01-31", "--disclosure-approval", "on"]) == 0
    assert main(["admin", "set-project", "--project", "Carousel", "--threshold", "0.8"]) == 0

    project = team.analyst.find_project("Carousel")
    assert (project.min_agencies, project.threshold, project.disclosure_approval) == (3, 0.8, True)
    assert f"{project.expires_at:%Y-%m-%d %H:%M %z}" == "2099-01-31 00:00 +0000"
    assert "threshold 0.8, k 3, expires 2099-01-31" in capsys.readouterr().out
    with pytest.raises(HubRequestError) as refused:  # k above the four agencies
        team.admin.update_project(team.project_id, min_agencies=5)
    assert refused.value.status == 422
    assert main(["admin", "set-project", "--project", "Carousel"]) == 1  # nothing named


def test_the_administrator_sets_probing_controls_from_the_command_line(
    team: Team,
    client: TestClient,
    admin_token: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setattr("linkage.cli.admin.connect", lambda _: as_caller(client, admin_token))
    command = ["admin", "set-project", "--project", "Carousel", "--upload-budget", "5000"]
    shares = ["--max-near-duplicate-share", "0.2", "--min-fill-share", "0.04"]

    assert main([*command, *shares, "--require-salted", "off"]) == 0
    capped = team.analyst.find_project("Carousel")
    assert main(["admin", "set-project", "--project", "Carousel", "--no-upload-budget"]) == 0

    assert (capped.upload_budget_records, capped.require_salted_encodings) == (5000, False)
    assert (capped.max_near_duplicate_share, capped.min_fill_share) == (0.2, 0.04)
    assert team.analyst.find_project("Carousel").upload_budget_records is None
    assert "upload budget 5000 records per agency" in capsys.readouterr().out


def test_commands_act_on_the_newest_run_and_fail_when_they_did_nothing(
    team: Team,
    uploaded: Path,
    client: TestClient,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    # The hub lists runs newest first; the commands once took the last of the list.
    first, second = finished_run(team), finished_run(team)
    headers = dict(team.analyst.http.headers)  # each command its own connection, closed
    monkeypatch.setattr(
        "linkage.client.HubClient.connect",
        lambda *_, **__: HubClient(TestClient(client.app, headers=headers)),
    )
    monkeypatch.setenv("FIELDLINK_TOKEN", "set: the client above carries the analyst's")
    project = ["--project", "Carousel"]

    assert main(["suspects", "add", *project, "--hit", "1"]) == 0
    assert f"of run {second}" in capsys.readouterr().out
    assert main(["suspects", "add", *project, "--hit", "1", "--run-id", str(first)]) == 0
    assert f"of run {first}" in capsys.readouterr().out
    assert main(["suspects", "add", *project, "--hit", "99999"]) == 1
    assert "has no hit 99999" in capsys.readouterr().err
    assert len(team.analyst.suspects(team.project_id)) == 2
