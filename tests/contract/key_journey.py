"""The key and disclosure journey as fixtures: four agencies and a team, every step a command.

Agencies generate key pairs and register the public halves, the team registers its key, a
custodian wraps the project secret for every registered agency key and deposits the
wrapped keys, each agency fetches and unwraps its own copy, encodes with envelopes and
uploads; the analyst runs the matching. The CLI's hub connections reach the test's app.
"""

import uuid
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy.orm import Session

from keys import read_secret
from linkage.cli import main
from linkage.client import HubClient
from linkage.schema import load_schema
from linkage.synth import generate
from tests.service.conftest import TestClient  # imported there with its warning silenced
from tests.service.factories import second_admin

AGENCIES = ("gemeente", "politie", "fiu", "kmar")
LABEL = "carousel"
ENVELOPE_FIELDS = ("given_names", "surnames", "date_of_birth", "record_id")


@dataclass
class Journey:
    folder: Path
    tokens: dict[str, str]
    project_id: uuid.UUID
    analyst: HubClient


@pytest.fixture
def wired(client: TestClient, monkeypatch: pytest.MonkeyPatch) -> None:
    """`fieldlink` commands reach the test's app instead of a network address."""

    def connect(cls: type[HubClient], base_url: str, token: str | None, **_: object) -> HubClient:
        return HubClient(TestClient(client.app, headers={"Authorization": f"Bearer {token}"}))

    monkeypatch.setattr(HubClient, "connect", classmethod(connect))


def fieldlink(monkeypatch: pytest.MonkeyPatch, token: str | None, *argv: str | Path) -> int:
    """Run one command as the caller holding `token`."""
    if token is not None:
        monkeypatch.setenv("FIELDLINK_TOKEN", token)
    return main([str(arg) for arg in argv])


@dataclass
class Shell:
    """Runs `fieldlink` command lines (words split on spaces) as one caller or another."""

    monkeypatch: pytest.MonkeyPatch

    def __call__(self, token: str | None, line: str) -> None:
        assert fieldlink(self.monkeypatch, token, *line.split()) == 0, line


@pytest.fixture(scope="module")
def records(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("records")
    generate(folder, persons=120, seed=11)
    return folder


@pytest.fixture
def journey(
    wired: None,
    client: TestClient,
    session: Session,
    admin_token: str,
    records: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> Journey:
    shell, folder = Shell(monkeypatch), tmp_path
    shell(None, f"keys new --project {LABEL} --out {folder}/custodian.key")
    key_check = read_secret(folder / "custodian.key").key_check_value()
    admins = (admin_token, second_admin(session))
    tokens, project_id = _register_everyone(client, admins, key_check)
    for agency in AGENCIES:
        shell(
            None, f"keys generate-pair --owner {agency} --kind agency --out {folder}/{agency}.key"
        )
        shell(tokens[agency], f"keys register {folder}/{agency}.pub.json")
    shell(None, f"keys generate-pair --owner carousel-team --kind team --out {folder}/team.key")
    shell(tokens["analyst"], f"keys register {folder}/team.pub.json --project Carousel")
    # The key custodian (at the police) wraps for every registered agency key.
    shell(
        tokens["custodian"], f"keys distribute --secret {folder}/custodian.key --project Carousel"
    )
    for agency in AGENCIES:
        _fetch_encode_upload(shell, tokens[agency], agency, records, folder)
    shell(tokens["analyst"], "run --project Carousel")
    analyst = HubClient(
        TestClient(client.app, headers={"Authorization": f"Bearer {tokens['analyst']}"})
    )
    return Journey(folder=folder, tokens=tokens, project_id=project_id, analyst=analyst)


def _register_everyone(
    client: TestClient, admin_tokens: tuple[str, str], key_check: str
) -> tuple[dict[str, str], uuid.UUID]:
    # One administrator registers everyone; the other activates each agency's first officer
    # and proposes the analyst, whom a data officer confirms (service.activation).
    admin, second = (
        HubClient(TestClient(client.app, headers={"Authorization": f"Bearer {token}"}))
        for token in admin_tokens
    )
    agencies = {name: admin.create_agency(name) for name in AGENCIES}
    project = admin.create_project(
        name="Carousel",
        purpose="Find persons moved between cities",
        legal_basis="Art. 20 Wpg",
        agency_ids=[agency.id for agency in agencies.values()],
        schema_fingerprint=load_schema("person").fingerprint(),
        key_check=key_check,
    )
    anonymous = HubClient(TestClient(client.app))

    def enrol(agency: str, name: str, role: str, activator: HubClient) -> tuple[uuid.UUID, str]:
        created = admin.create_principal(agencies[agency].id, name, role)
        enrolled = anonymous.redeem_enrolment_code(created.code)
        activator.activate_principal(created.principal.id, enrolled.enrolment_check)
        return created.principal.id, enrolled.token

    tokens = {name: enrol(name, f"{name} officer", "data_officer", second)[1] for name in agencies}
    politie = HubClient(
        TestClient(client.app, headers={"Authorization": f"Bearer {tokens['politie']}"})
    )
    _, tokens["custodian"] = enrol("politie", "Key custodian", "key_custodian", politie)
    analyst_id, tokens["analyst"] = enrol("politie", "Field Lab analyst", "analyst", politie)
    second.add_member(project.id, analyst_id)  # dual control: an officer confirms
    HubClient(
        TestClient(client.app, headers={"Authorization": f"Bearer {tokens['kmar']}"})
    ).confirm_member(project.id, analyst_id)
    return tokens, project.id


def _fetch_encode_upload(
    shell: Shell, token: str, agency: str, records: Path, folder: Path
) -> None:
    own = folder / agency
    own.mkdir()
    shell(
        token,
        f"keys fetch --project Carousel --out {own}/wrapped.json --key {folder}/{agency}.key "
        f"--secret-out {own}/project.key",
    )
    team = folder / f"{agency}-team.pub.json"  # the team key as the hub relays it
    shell(token, f"keys team-key --project Carousel --out {team}")
    shell(
        None,
        f"encode {records}/{agency}.csv --secret {own}/project.key --agency {agency} "
        f"--out {own}/batch.arrow --quiet --envelope-fields {','.join(ENVELOPE_FIELDS)} "
        f"--team-key {team}",
    )
    shell(token, f"upload {own}/batch.arrow --project Carousel")
