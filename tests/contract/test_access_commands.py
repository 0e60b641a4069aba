"""The access commands end to end: enrolment codes, `fieldlink enrol` and `activate`, team
confirmation, disabling, and the purge with its receipt, each as its person runs it."""

import stat
from datetime import timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from linkage.client import HubClient
from service.models import Project, utcnow
from tests.contract.key_journey import Journey, fieldlink
from tests.service.factories import bearer, second_admin


def run(monkeypatch: pytest.MonkeyPatch, token: str | None, line: str) -> int:
    if token is None:
        monkeypatch.delenv("FIELDLINK_TOKEN", raising=False)
    return fieldlink(monkeypatch, token, *line.split())


def visible(client: TestClient, token: str) -> list[str]:
    caller = HubClient(TestClient(client.app, headers={"Authorization": f"Bearer {token}"}))
    return [project.name for project in caller.projects()]


def token_in(path: Path) -> str:
    return path.read_text(encoding="ascii").strip()


def test_principals_enrol_themselves_a_second_person_activates_them_and_confirms_the_team(
    wired: None,
    client: TestClient,
    session: Session,
    admin_token: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    admin = HubClient(TestClient(client.app, headers={"Authorization": f"Bearer {admin_token}"}))
    for name in ("politie", "kmar"):
        admin.create_agency(name)
    assert (
        run(
            monkeypatch,
            admin_token,
            "admin add-project --name Carousel --agency politie "
            "--agency kmar --key-check 0123456789abcdef --purpose p --legal-basis b",
        )
        == 0
    )
    officer_code, analyst_code = tmp_path / "officer.code", tmp_path / "analyst.code"
    add = "admin add-principal --agency"
    assert (
        run(
            monkeypatch,
            admin_token,
            f"{add} kmar --name Officer --role data_officer --code-out {officer_code}",
        )
        == 0
    )
    assert (
        run(
            monkeypatch,
            admin_token,
            f"{add} politie --name Analyst --role analyst --code-out {analyst_code}",
        )
        == 0
    )
    officer_token, analyst_token = tmp_path / "officer.token", tmp_path / "analyst.token"
    second = second_admin(session)  # the other administrator: the second person
    capsys.readouterr()

    checks, enrolled = [], []
    for code, token in ((officer_code, officer_token), (analyst_code, analyst_token)):
        enrolled.append(run(monkeypatch, None, f"enrol --code-file {code} --token-out {token}"))
        checks.append(capsys.readouterr().out.split("enrolment check: ")[1].split()[0])
    spent = run(monkeypatch, None, f"enrol --code-file {officer_code} --token-out {tmp_path}/x")
    pending = client.get("/v1/projects", headers=bearer(token_in(officer_token)))
    by_registrar = run(
        monkeypatch, admin_token, f"activate --principal Officer --check {checks[0]}"
    )
    activated = [
        run(monkeypatch, second, f"activate --principal Officer --check {checks[0]}"),
        # kmar's officer is not politie's: the analyst's agency has nobody yet either
        run(monkeypatch, second, f"activate --principal Analyst --check {checks[1]}"),
    ]
    proposed = run(monkeypatch, second, "admin add-member --project Carousel --principal Analyst")
    before = visible(client, token_in(analyst_token))
    confirmed = run(
        monkeypatch, token_in(officer_token), "team confirm --project Carousel --principal Analyst"
    )
    listed = run(monkeypatch, token_in(officer_token), "team list --project Carousel")

    output = capsys.readouterr()
    assert enrolled == [0, 0] and spent == 1 and confirmed == 0 and listed == 0
    assert pending.json()["code"] == "principal-not-activated"
    assert by_registrar == 1 and activated == [0, 0] and proposed == 0
    assert before == []  # pending: the analyst cannot see the project yet
    assert stat.S_IMODE(officer_code.stat().st_mode) == 0o600
    assert stat.S_IMODE(officer_token.stat().st_mode) == 0o600
    assert token_in(officer_code) not in output.out + output.err
    assert token_in(officer_token) not in output.out + output.err
    assert "Analyst" in output.out and "confirmed" in output.out
    assert visible(client, token_in(analyst_token)) == ["Carousel"]

    assert run(monkeypatch, admin_token, "admin disable-principal --principal Analyst") == 0
    assert (
        client.get(
            "/v1/projects", headers={"Authorization": f"Bearer {token_in(analyst_token)}"}
        ).status_code
        == 401
    )

    project = session.query(Project).filter_by(name="Carousel").one()
    project.expires_at = utcnow() - timedelta(seconds=1)
    session.commit()
    receipt, fetched = tmp_path / "receipt.json", tmp_path / "fetched.json"
    assert (
        run(monkeypatch, admin_token, f"admin purge --project Carousel --receipt-out {receipt}")
        == 0
    )
    assert (
        run(
            monkeypatch,
            token_in(officer_token),
            f"audit receipt --project Carousel --out {fetched}",
        )
        == 0
    )
    assert run(monkeypatch, None, f"audit verify-receipt {fetched}") == 0
    assert fetched.read_bytes() == receipt.read_bytes()


def test_distributing_again_keeps_every_deposited_key(
    journey: Journey, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    custodian = journey.tokens["custodian"]
    secret = journey.folder / "custodian.key"
    capsys.readouterr()

    again = run(monkeypatch, custodian, f"keys distribute --secret {secret} --project Carousel")
    by_officer = run(
        monkeypatch, journey.tokens["kmar"], f"keys distribute --secret {secret} --project Carousel"
    )

    output = capsys.readouterr()
    assert again == 0 and output.out.count("kept the wrapped key") == 4
    assert by_officer == 1 and "403" in output.err  # only the key custodian deposits
