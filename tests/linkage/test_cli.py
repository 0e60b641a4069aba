import base64
import json
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from linkage.batch import read_batch
from linkage.cli import main
from tests.factories import fake_people, to_csv


@pytest.fixture
def project_key(workdir: Path) -> Path:
    assert main(["keys", "new", "--project", "fieldlab-zuid", "--out", "project.key"]) == 0
    return workdir / "project.key"


def encode(*extra: str) -> int:
    return main(
        [
            "encode",
            "people.csv",
            "--secret",
            "project.key",
            "--agency",
            "politie",
            "--out",
            "politie.arrow",
            "--workers",
            "1",
            "--quiet",
            *extra,
        ]
    )


def test_keys_new_and_check_agree_on_the_key_check_value(
    workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    project_key = workdir / "new.key"
    assert main(["keys", "new", "--project", "p", "--out", str(project_key)]) == 0
    created = capsys.readouterr().out.split("key check value: ")[1].strip()

    assert main(["keys", "check", str(project_key)]) == 0
    assert capsys.readouterr().out.strip().endswith(created)
    assert project_key.stat().st_mode & 0o777 == 0o600


def test_keys_new_refuses_to_overwrite(
    project_key: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["keys", "new", "--project", "other", "--out", str(project_key)]) == 1
    assert "already exists" in capsys.readouterr().err


def test_encode_writes_batch_and_local_reference_map(
    project_key: Path, workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    people = fake_people(40, seed=1)
    people[5]["date_of_birth"] = "31-02-1999"
    (workdir / "people.csv").write_text(to_csv([{**p, "notes": "x"} for p in people]))

    assert encode() == 0

    out = capsys.readouterr().out
    batch = read_batch(workdir / "politie.arrow")
    refmap = (workdir / "politie.refs.csv").read_text().splitlines()
    assert len(batch) == 40
    assert batch.agency == "politie"
    assert refmap[0] == '"reference","local_id"'
    assert len(refmap) == 41
    assert "line 7: field 'date_of_birth' is not a valid date" in out
    assert "31-02-1999" not in out
    assert "ignored columns: notes" in out
    assert "(no column) -> document_number" in out
    assert (workdir / "politie.refkey").exists()


def test_encode_loads_nothing_a_small_file_does_not_need(project_key: Path, workdir: Path) -> None:
    # pa.array and pa.scalar import pandas: a third of a second of the command, where an
    # install has it; phonenumbers loads with the first phone number; numba (half a
    # second) only for files large enough to repay it: numpy encodes a small one. Arrow's
    # compute functions (20 ms), tqdm under --quiet and `cryptography` (20 ms; only for
    # envelopes) are not needed either.
    people = [{**person, "phone": ""} for person in fake_people(5, seed=2)]  # none to parse
    (workdir / "people.csv").write_text(to_csv(people))
    code = (
        "import sys\nfrom linkage.cli import main\n"
        "main(['encode', 'people.csv', '--secret', 'project.key', '--agency', 'politie', "
        "'--out', 'politie.arrow', '--quiet'])\nprint(sorted(sys.modules))"
    )
    loaded = subprocess.run(  # noqa: S603 - a fresh interpreter, our own code
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=workdir
    ).stdout

    # It did encode: the default schema's record filters are salt group filters (numpy
    # alone), its comparison encodings the numpy encoder's.
    assert "'linkage.salting.group_filter'" in loaded
    assert "'linkage.vectorized.comparisons'" in loaded
    unneeded = ("pandas", "phonenumbers", "numba", "linkage.compiled", "pyarrow.compute")
    for heavy in (*unneeded, "tqdm", "cryptography", "keys.envelope"):
        assert f"'{heavy}'" not in loaded


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("", "is empty"),
        ("record_id,given_names\n1,Ana\n", "required field"),
        (
            "record_id,given_names,surnames,date_of_birth\n1,Ana,Silva,1980/99/99\n"
            "2,Jan,Bakker,yesterday\n",
            "2 of 2 records (100.0%) have invalid values",
        ),
    ],
)
def test_bad_input_fails_cleanly_without_output(
    project_key: Path, workdir: Path, capsys: pytest.CaptureFixture[str], content: str, message: str
) -> None:
    (workdir / "people.csv").write_text(content)

    assert encode() == 1

    assert message in capsys.readouterr().err
    assert not list(workdir.glob(".politie*"))
    assert not (workdir / "politie.refs.csv").exists()
    assert not (workdir / "politie.arrow").exists()


def test_a_failed_run_leaves_an_earlier_batch_untouched(project_key: Path, workdir: Path) -> None:
    (workdir / "people.csv").write_text(to_csv(fake_people(5)))
    assert encode() == 0
    before = (workdir / "politie.arrow").read_bytes()
    (workdir / "people.csv").write_text("record_id,given_names,surnames,date_of_birth\n1,,,x\n")

    assert encode() == 1

    assert (workdir / "politie.arrow").read_bytes() == before


def test_map_and_id_column_options(
    project_key: Path, workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rows = [
        {
            "id": p["record_id"],
            "voornaam": p["given_names"],
            "achternaam": p["surnames"],
            "geboortedatum": p["date_of_birth"],
        }
        for p in fake_people(3)
    ]
    (workdir / "people.csv").write_text(to_csv(rows, delimiter=";"))

    assert (
        encode(
            "--id-column",
            "id",
            "--map",
            "voornaam=given_names",
            "--map",
            "achternaam=surnames",
            "--map",
            "geboortedatum=date_of_birth",
        )
        == 0
    )
    assert "voornaam -> given_names" in capsys.readouterr().out
    assert encode("--map", "voornaam") == 1
    assert "--map expects COLUMN=FIELD" in capsys.readouterr().err


def test_reference_key_of_another_agency_is_refused(
    project_key: Path, workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (workdir / "people.csv").write_text(to_csv(fake_people(3)))
    assert main(["keys", "new-ref", "--agency", "fiu", "--out", "fiu.refkey"]) == 0

    assert encode("--ref-key", "fiu.refkey") == 1
    assert "belongs to agency fiu" in capsys.readouterr().err


def test_encode_without_secret_explains(workdir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["encode", "x.csv", "--agency", "a", "--out", "b.arrow"]) == 1
    assert "--secret" in capsys.readouterr().err


def test_schema_show_and_validate(workdir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["schema", "show"]) == 0
    shown = capsys.readouterr().out
    document = shown.split("fingerprint:")[0]
    (workdir / "copy.json").write_text(document)

    assert main(["schema", "validate", "copy.json"]) == 0
    assert shown.split("fingerprint: ")[1].strip() in capsys.readouterr().out
    (workdir / "bad.json").write_text('{"version": 1, "name": "x", "fields": []}')
    assert main(["schema", "validate", "bad.json"]) == 1
    assert "fields" in capsys.readouterr().err


def test_batch_show_and_clkhash_import(workdir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    clks = {"clks": [base64.b64encode(bytes([index]) * 128).decode() for index in range(4)]}
    (workdir / "clks.json").write_text(json.dumps(clks))

    assert (
        main(
            [
                "batch",
                "import-clkhash",
                "clks.json",
                "--agency",
                "kmar",
                "--key-check",
                "00112233445566AA",
                "--schema-fingerprint",
                "clkhash:demo",
                "--ref-key",
                "kmar.refkey",
                "--out",
                "kmar.arrow",
            ]
        )
        == 0
    )
    assert main(["batch", "show", "kmar.arrow"]) == 0

    out = capsys.readouterr().out
    assert "imported 4 clkhash encodings (1024 bits)" in out
    assert "record_count         4" in out
    assert len((workdir / "kmar.refs.csv").read_text().splitlines()) == 5


def test_an_unreachable_hub_is_a_clear_error(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("FIELDLINK_TOKEN", "not-a-real-token")
    port = _closed_port()

    status = main(["run", "--project", "Carousel", "--hub", f"http://127.0.0.1:{port}"])

    err = capsys.readouterr().err
    assert status == 1
    assert f"cannot reach the hub at http://127.0.0.1:{port} (ConnectError)" in err
    assert "not-a-real-token" not in err


def _closed_port() -> int:
    with socket.socket() as probe:  # bound, never listening: connections are refused
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


def test_batch_risk_passes_the_default_and_refuses_unsalted_encodings(
    project_key: Path, workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (workdir / "people.csv").write_text(to_csv(fake_people(400, seed=8)), encoding="utf-8")
    assert encode() == 0
    assert encode("--schema", "person-classic", "--out", "classic.arrow") == 0
    capsys.readouterr()

    assert main(["batch", "risk", "politie.arrow"]) == 0
    salted = capsys.readouterr().out
    assert main(["batch", "risk", "classic.arrow"]) == 1
    unsalted = capsys.readouterr().out
    assert (
        main(["batch", "risk", "classic.arrow", "--allow-unsalted", "--max-group-share", "1"]) == 0
    )
    capsys.readouterr()
    assert main(["batch", "risk", "politie.arrow", "--json"]) == 0
    document = json.loads(capsys.readouterr().out)

    assert "salted, 8 encoding(s) per record" in salted and "within the policy" in salted
    assert "refused: the encodings are not salted" in unsalted
    assert len(document["families"]) == 8 and document["refused"] == []
    assert document["records"] == 400


def test_dutch_and_spanish_column_names_are_recognised(
    project_key: Path, workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    header = "dossier;Voornaam;Achternaam;Geboortedatum;Teléfono;woonplaats;nacionalidad\n"
    row = "D-1;Ana María;Gómez;07-03-1985;06-12345678;Rotterdam;COL\n"
    (workdir / "people.csv").write_text(header + row, encoding="utf-8")

    assert encode("--id-column", "dossier") == 0
    batch = read_batch(workdir / "politie.arrow")

    assert len(batch) == 1
    (workdir / "people.csv").write_text("dossier;naam\nD-1;Ana\n", encoding="utf-8")
    capsys.readouterr()
    assert encode("--id-column", "dossier") == 1
    error = capsys.readouterr().err
    assert "the file's columns: dossier, naam" in error and "given_names, surnames" in error


@pytest.mark.parametrize(("given", "accepted"), [("5%", True), ("0.05", True), ("5", False)])
def test_max_invalid_is_a_share_and_a_percentage_is_understood(
    project_key: Path, workdir: Path, given: str, accepted: bool
) -> None:
    (workdir / "people.csv").write_text(to_csv(fake_people(20, seed=1)), encoding="utf-8")

    if accepted:
        assert encode("--max-invalid", given) == 0
    else:
        with pytest.raises(SystemExit):  # argparse: "not a share between 0 and 1"
            encode("--max-invalid", given)
