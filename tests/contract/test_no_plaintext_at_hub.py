"""After the whole key and disclosure journey, the hub holds no secret and no identity.

The journey of tests/contract/key_journey.py runs (keys registered, the secret
wrapped and relayed, batches with envelopes uploaded, a run, envelopes released to the team
and opened there); then every column of every row of every table (JSON included), every
file under the hub's data folder and every log line captured at DEBUG are searched for the
test data's names, dates of birth, phone numbers, case and document numbers, and for the
project secret and the private keys in hex and base64.
"""

import base64
import csv
import io
import json
import logging
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from keys import read_private_key, read_secret
from service.config import Settings
from service.db import Base
from tests.contract.key_journey import AGENCIES, Journey, fieldlink

IDENTIFYING = ("given_names", "surnames", "date_of_birth", "phone", "record_id", "document_number")
MIN_NEEDLE_CHARS = 7  # shorter values could turn up by chance inside random ciphertext


@pytest.fixture
def debug_logs(caplog: pytest.LogCaptureFixture) -> pytest.LogCaptureFixture:
    caplog.set_level(logging.DEBUG)
    return caplog


def identities(records: Path) -> set[str]:
    """Every identifying value of the test data, as written and casefolded."""
    found: set[str] = set()
    for agency in AGENCIES:
        text = (records / f"{agency}.csv").read_text(encoding="utf-8-sig")
        delimiter = ";" if ";" in text.splitlines()[0] else ","
        for row in csv.DictReader(io.StringIO(text, newline=""), delimiter=delimiter):
            values = (row[name].strip() for name in IDENTIFYING)
            found |= {value for value in values if len(value) >= MIN_NEEDLE_CHARS}
    return found | {value.casefold() for value in found}


def key_material(folder: Path) -> set[str]:
    """The project secret and every private key of the journey, in hex and base64."""
    raw = [read_secret(folder / "custodian.key").value]
    raw += [read_private_key(folder / f"{name}.key").private for name in (*AGENCIES, "team")]
    return {form for value in raw for form in (value.hex(), base64.b64encode(value).decode())}


def database_text(session: Session) -> Iterator[tuple[str, str]]:
    """(table, text) for every value of every row of every table; JSON as its text."""
    for table in Base.metadata.sorted_tables:
        for row in session.execute(select(table)):
            for value in row:
                if isinstance(value, (dict, list)):
                    yield table.name, json.dumps(value, ensure_ascii=False)
                elif isinstance(value, bytes):
                    yield table.name, value.decode("latin-1")
                elif value is not None:
                    yield table.name, str(value)


def data_files(data_dir: Path) -> Iterator[tuple[str, bytes]]:
    for path in sorted(data_dir.rglob("*")):
        if path.is_file():
            yield str(path.relative_to(data_dir)), path.read_bytes()


def test_the_hub_holds_no_secret_and_no_identity(
    debug_logs: pytest.LogCaptureFixture,
    journey: Journey,
    records: Path,
    session: Session,
    settings: Settings,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    opened = journey.folder / "opened.csv"
    assert fieldlink(
        monkeypatch, journey.tokens["analyst"], "hits", "--project", "Carousel", "--open",
        "--team-key", journey.folder / "team.key", "--out", opened,
    ) == 0  # fmt: skip
    needles = identities(records) | key_material(journey.folder)
    released = opened.read_text(encoding="utf-8")
    assert sum(needle in released for needle in needles) > 100  # the needles are real values

    in_database = {
        (table, needle)
        for table, text in database_text(session)
        for needle in needles
        if needle in text
    }
    in_files = {
        (name, needle)
        for name, data in data_files(settings.data_dir)
        for needle in needles
        if needle.encode() in data
    }
    lines = [r.getMessage() + (r.exc_text or "") for r in debug_logs.get_records("setup")]
    lines += [r.getMessage() + (r.exc_text or "") for r in debug_logs.get_records("call")]
    in_logs = {needle for line in lines for needle in needles if needle in line}

    assert in_database == set()
    assert in_files == set()
    assert in_logs == set()
    assert lines and any(True for _ in data_files(settings.data_dir))
