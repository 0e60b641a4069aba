"""`fieldlink keys` key pairs, wrapping and rotation, and `fieldlink encode` with envelopes."""

import base64
import json
from pathlib import Path

import pytest

from keys import read_private_key, read_secret
from linkage.batch import read_batch
from linkage.cli import main
from linkage.envelopes import open_batch_envelopes
from tests.factories import fake_people, to_csv

PASSPHRASE_VAR = "FIELDLINK_TEST_PASSPHRASE"


@pytest.fixture
def custodian(workdir: Path) -> Path:
    assert main(["keys", "new", "--project", "fieldlab-zuid", "--out", "project.key"]) == 0
    return workdir / "project.key"


def pair(owner: str, kind: str = "agency", *extra: str) -> int:
    return main(
        ["keys", "generate-pair", "--owner", owner, "--kind", kind, "--out", f"{owner}.key", *extra]
    )


def unwrap(agency: str, *extra: str) -> int:
    return main(
        [
            "keys",
            "unwrap",
            f"wrapped/{agency}.wrapped.json",
            "--key",
            f"{agency}.key",
            "--project",
            "fieldlab-zuid",
            "--out",
            f"{agency}-project.key",
            *extra,
        ]
    )


def test_generate_pair_writes_a_private_and_a_public_file(
    workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert pair("politie") == 0

    out = capsys.readouterr().out
    key_id = json.loads((workdir / "politie.pub.json").read_text())["key_id"]
    assert f"key id: {key_id}" in out
    assert (workdir / "politie.key").stat().st_mode & 0o777 == 0o600
    assert read_private_key(workdir / "politie.key").key_id == key_id


def test_generate_pair_protects_with_a_passphrase_from_the_environment(
    workdir: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv(PASSPHRASE_VAR, "correct horse battery")
    assert pair("team", "team", "--passphrase-env", PASSPHRASE_VAR) == 0

    output = "".join(capsys.readouterr())
    assert "passphrase-protected" in output
    assert "correct horse" not in output
    assert (
        read_private_key(workdir / "team.key", passphrase="correct horse battery").owner == "team"
    )


def test_an_unset_passphrase_variable_is_an_error(
    workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert pair("politie", "agency", "--passphrase-env", PASSPHRASE_VAR) == 1

    assert f"{PASSPHRASE_VAR} is not set" in capsys.readouterr().err
    assert not (workdir / "politie.key").exists()


def test_generate_pair_refuses_to_overwrite_either_file(
    workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (workdir / "politie.pub.json").write_text("{}")

    assert pair("politie") == 1
    assert "already exists" in capsys.readouterr().err
    assert not (workdir / "politie.key").exists()


def test_the_custodian_wraps_and_each_agency_unwraps_the_same_secret(
    custodian: Path,
    workdir: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv(PASSPHRASE_VAR, "correct horse battery")
    assert pair("politie", "agency", "--passphrase-env", PASSPHRASE_VAR) == 0
    assert pair("fiu") == 0
    wrap = ["keys", "wrap", "--secret", "project.key", "--out-dir", "wrapped"]
    assert main([*wrap, "--for", "politie.pub.json", "--for", "fiu.pub.json"]) == 0
    key_check = read_secret(custodian).key_check_value()

    assert unwrap("politie", "--passphrase-env", PASSPHRASE_VAR, "--key-check", key_check) == 0
    assert unwrap("fiu") == 0

    assert read_secret(workdir / "politie-project.key") == read_secret(custodian)
    assert read_secret(workdir / "fiu-project.key") == read_secret(custodian)
    output = "".join(capsys.readouterr())
    assert base64.b64encode(read_secret(custodian).value).decode() not in output


@pytest.fixture
def wrapped_for_politie(custodian: Path) -> None:
    assert pair("politie") == 0
    wrap = ["keys", "wrap", "--secret", "project.key", "--out-dir", "wrapped"]
    assert main([*wrap, "--for", "politie.pub.json"]) == 0


def test_a_tampered_wrapped_file_is_reported_and_nothing_is_written(
    wrapped_for_politie: None, workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = workdir / "wrapped" / "politie.wrapped.json"
    document = json.loads(path.read_text())
    document["epoch"] = 2
    path.write_text(json.dumps(document))

    assert unwrap("politie") == 1
    assert "failed authentication" in capsys.readouterr().err
    assert not (workdir / "politie-project.key").exists()


def test_unwrap_checks_the_project_and_the_key_check_value(
    wrapped_for_politie: None, workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    command = ["keys", "unwrap", "wrapped/politie.wrapped.json", "--key", "politie.key"]
    assert main([*command, "--project", "other", "--out", "x.key"]) == 1
    assert "another project" in capsys.readouterr().err

    assert unwrap("politie", "--key-check", "0123456789abcdef") == 1
    assert "ask the key custodian" in capsys.readouterr().err
    assert not (workdir / "politie-project.key").exists()


def test_wrapping_for_a_team_key_is_refused(
    custodian: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert pair("team", "team") == 0
    command = ["keys", "wrap", "--secret", "project.key", "--for", "team.pub.json"]

    assert main([*command, "--out-dir", "wrapped"]) == 1
    assert "holds a team key, expected an agency key" in capsys.readouterr().err


def test_rotate_makes_the_next_epoch(
    custodian: Path, workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["keys", "rotate", "--secret", "project.key", "--out", "project-2.key"]) == 0
    assert main(["keys", "check", "project-2.key"]) == 0

    rotated = read_secret(workdir / "project-2.key")
    assert rotated.epoch == 2
    assert rotated.key_check_value() != read_secret(custodian).key_check_value()
    assert f"(epoch 2): key check value {rotated.key_check_value()}" in capsys.readouterr().out


def test_encode_seals_envelopes_for_the_team(custodian: Path, workdir: Path) -> None:
    (workdir / "people.csv").write_text(to_csv(fake_people(12, seed=2)), encoding="utf-8")
    assert pair("team", "team") == 0
    command = ["encode", "people.csv", "--secret", "project.key", "--agency", "politie"]
    options = ["--out", "politie.arrow", "--workers", "1", "--quiet"]

    envelopes = ["--envelope-fields", "surnames, record_id", "--team-key", "team.pub.json"]
    assert main([*command, *options, *envelopes]) == 0

    team = read_private_key(workdir / "team.key")
    opened = open_batch_envelopes(
        team, read_batch(workdir / "politie.arrow"), project="fieldlab-zuid"
    )
    assert sorted(details["record_id"] for details in opened.values())[:2] == ["R000000", "R000001"]


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--envelope-fields", "surnames"], "go together"),
        (["--team-key", "team.pub.json"], "go together"),
        (
            ["--envelope-fields", "surnames", "--team-key", "politie.pub.json"],
            "expected a team key",
        ),
    ],
)
def test_encode_refuses_incomplete_envelope_options(
    custodian: Path,
    workdir: Path,
    capsys: pytest.CaptureFixture[str],
    extra: list[str],
    message: str,
) -> None:
    (workdir / "people.csv").write_text(to_csv(fake_people(3)), encoding="utf-8")
    assert pair("politie") == 0
    assert pair("team", "team") == 0
    command = ["encode", "people.csv", "--secret", "project.key", "--agency", "politie"]

    assert main([*command, "--out", "b.arrow", "--quiet", *extra]) == 1
    assert message in capsys.readouterr().err
    assert not (workdir / "b.arrow").exists()


def test_wrapped_file_names_are_safe_whatever_the_owner_label(
    custodian: Path, workdir: Path
) -> None:
    command = ["keys", "generate-pair", "--owner", "../Politie Zuid/Oost", "--kind", "agency"]
    assert main([*command, "--out", "zuid.key"]) == 0
    wrap = ["keys", "wrap", "--secret", "project.key", "--for", "zuid.pub.json"]

    assert main([*wrap, "--out-dir", "wrapped"]) == 0
    assert [path.name for path in (workdir / "wrapped").iterdir()] == [
        "Politie-Zuid-Oost.wrapped.json"
    ]
