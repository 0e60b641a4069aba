"""The log scan itself: it flags each kind of planted secret, names the logger, hides the value."""

import logging
from pathlib import Path

import pytest

from service.auth import new_enrolment_code, new_token
from tests.log_scan import LeakRecorder, SecretScanner, scan_file


@pytest.fixture
def recorder() -> LeakRecorder:
    return LeakRecorder(SecretScanner())


def _log_through(recorder: LeakRecorder, name: str, message: str, *args: object) -> None:
    # Not propagated: the session's own scan must not see what this test plants.
    logger = logging.getLogger(name)
    logger.addHandler(recorder)
    logger.propagate = False
    try:
        logger.warning(message, *args)
    finally:
        logger.removeHandler(recorder)
        logger.propagate = True


@pytest.mark.parametrize(
    ("message", "kind"),
    [
        ("authenticated %s", "token"),
        ("header Bearer %s", "bearer header"),
        ("enrolled with %s", "enrolment code"),
        ("record of %s", "personal value"),
        ("born %s", "date of birth"),
    ],
)
def test_a_planted_secret_is_flagged_by_kind_and_logger(
    recorder: LeakRecorder, message: str, kind: str
) -> None:
    values = {
        "token": new_token(),
        "bearer header": "x" * 20,
        "enrolment code": new_enrolment_code(),
        "personal value": "María José",
        "date of birth": "05-06-1987",
    }
    _log_through(recorder, "service.planted", message, values[kind])

    assert [(leak.logger, leak.kind) for leak in recorder.leaks] == [("service.planted", kind)]
    assert values[kind] not in str(recorder.leaks[0])


def test_a_sealed_note_is_flagged_wherever_it_appears(recorder: LeakRecorder) -> None:
    recorder.scanner.add_note("met at the harbour twice")
    _log_through(recorder, "uvicorn.planted", "exception: %s", "met at the harbour twice")

    assert [leak.kind for leak in recorder.leaks] == ["suspect note"]


def test_ordinary_hub_lines_are_not_flagged(recorder: LeakRecorder) -> None:
    _log_through(recorder, "service.planted", "run %s done: %d hits", "0f1e2d3c-" * 4, 12)
    _log_through(recorder, "service.planted", "request", "a" * 64)  # a sha-256 hex digest

    assert recorder.leaks == []


def test_a_log_file_with_a_token_fails_naming_the_source(tmp_path: Path) -> None:
    log = tmp_path / "hub.log"
    token = new_token()
    log.write_text(f'{{"message": "request", "token": "{token}"}}\n')

    with pytest.raises(AssertionError, match="hub subprocess logged a secret: token") as failure:
        scan_file(log, source="hub subprocess", scanner=SecretScanner())
    assert token not in str(failure.value)
