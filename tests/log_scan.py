"""Log scan: every line logged during the test session is checked for secrets (a pytest plugin).

A handler on the root logger (and on uvicorn's, which do not propagate when uvicorn runs)
takes the records of the hub's, the server's and the client's loggers, formats each as the
hub writes it (`service.logs.JsonFormatter`) and looks for:

- a bearer token (256-bit URL-safe, as `service.auth.new_token` makes them) or a Bearer header;
- an enrolment code (base32 groups of four, as `service.auth.new_enrolment_code` makes them);
- a suspect note's text: every note the hub seals during the session is remembered;
- a personal value the test factories generate (tests/factories.py: names, cities, dates).

Findings name the logger, the kind of secret and the test, never the secret itself; the
session fails at its end if there are any. Subprocess hubs write files: `scan_file`.
"""

import logging
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from service.logs import JsonFormatter
from tests.factories import CITIES, GIVEN, SURNAMES

_TOKEN = re.compile(r"(?<![\w-])(?=[\w-]*[A-Z])(?=[\w-]*[a-z])(?=[\w-]*\d)[\w-]{43}(?![\w-])")
_BEARER = re.compile(r"Bearer\s+\S{8,}")
_CODE = re.compile(r"\b[A-Z2-7]{4}(?:-[A-Z2-7]{4}){5}\b")
_DATE = re.compile(r"\b(?:0[1-9]|[12]\d|3[01])-(?:0[1-9]|1[0-2])-(?:19|20)\d{2}\b")
_SCANNED = "_fieldlink_log_scanned"
# The hub's loggers and the server's, the client library's and its transport's; and "root"
# (logging.warning(...)). Dask's are left out: its task keys look like tokens.
SCANNED_LOGGERS = frozenset({"service", "uvicorn", "fieldlink", "linkage", "keys", "httpx", "root"})
_MIN_NOTE = 6  # shorter notes ("x", "ok") are words any line may hold


def _words(values: Iterable[str]) -> re.Pattern[str]:
    alternatives = "|".join(re.escape(value) for value in sorted(values, key=len, reverse=True))
    return re.compile(rf"(?<!\w)(?:{alternatives})(?!\w)")


_PERSONAL = _words([*GIVEN, *SURNAMES, *CITIES])


class SecretScanner:
    """Which kinds of secret a line holds (never which secret)."""

    def __init__(self) -> None:
        self.notes: set[str] = set()

    def add_note(self, text: str) -> None:
        if len(text.strip()) >= _MIN_NOTE:
            self.notes.add(text)

    def kinds_in(self, line: str) -> list[str]:
        found = [
            kind
            for kind, pattern in (
                ("token", _TOKEN),
                ("bearer header", _BEARER),
                ("enrolment code", _CODE),
                ("personal value", _PERSONAL),
                ("date of birth", _DATE),
            )
            if pattern.search(line)
        ]
        if any(note in line for note in self.notes):
            found.append("suspect note")
        return found


@dataclass(frozen=True)
class Leak:
    logger: str
    kind: str
    test: str

    def __str__(self) -> str:
        return f"{self.kind} logged by {self.logger!r} during {self.test}"


class LeakRecorder(logging.Handler):
    """Formats every record as the hub does and records what secret kinds it holds."""

    def __init__(self, scanner: SecretScanner) -> None:
        super().__init__(logging.DEBUG)
        self.scanner = scanner
        self.leaks: list[Leak] = []
        self.test = "collection"
        self.formatter = JsonFormatter()

    def emit(self, record: logging.LogRecord) -> None:
        if record.name.split(".")[0] not in SCANNED_LOGGERS:
            return
        seen = f"{_SCANNED}_{id(self)}"
        if getattr(record, seen, False):  # seen by this handler on another logger
            return
        setattr(record, seen, True)
        try:
            line = self.format(record)
        except Exception:  # a record that cannot be formatted is not written either
            return
        self.leaks += [Leak(record.name, k, self.test) for k in self.scanner.kinds_in(line)]


def scan_file(path: Path, *, source: str, scanner: SecretScanner | None = None) -> None:
    """Fail, naming `source` and the kinds found, if a log file holds a secret."""
    scanner = scanner or _SESSION_SCANNER
    text = path.read_text(encoding="utf-8", errors="replace") if path.exists() else ""
    kinds = sorted({kind for line in text.splitlines() for kind in scanner.kinds_in(line)})
    assert not kinds, f"{source} logged a secret: {', '.join(kinds)} (in {path})"


_SESSION_SCANNER = SecretScanner()
_RECORDER = LeakRecorder(_SESSION_SCANNER)
_UVICORN = ("uvicorn", "uvicorn.error", "uvicorn.access")
_LEVELS = {"service": logging.INFO, "linkage": logging.INFO, "keys": logging.INFO}


def _remembering(seal: Callable[..., str]) -> Callable[..., str]:
    def seal_and_remember(text: str, **kwargs: Any) -> str:
        _SESSION_SCANNER.add_note(text)
        return seal(text, **kwargs)

    return seal_and_remember


def pytest_configure(config: pytest.Config) -> None:
    from service import notes
    from service.routes import suspects

    # The route's own reference: every note sealed in the session is remembered, then sought.
    setattr(suspects, "seal_note", _remembering(notes.seal_note))  # noqa: B010
    for name in ("", *_UVICORN):
        logging.getLogger(name).addHandler(_RECORDER)
    for name, level in _LEVELS.items():
        logger = logging.getLogger(name)
        if logger.level == logging.NOTSET or logger.level > level:
            logger.setLevel(level)


def pytest_runtest_setup(item: pytest.Item) -> None:
    _RECORDER.test = item.nodeid


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    for name in ("", *_UVICORN):
        logging.getLogger(name).removeHandler(_RECORDER)
    if not _RECORDER.leaks:
        return
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    unique = sorted(set(_RECORDER.leaks), key=str)
    lines = ["LOG SCAN: secrets in the logs (the values are not shown):"]
    lines += [f"  {leak}" for leak in unique[:50]]
    if reporter is not None:
        reporter.write_line("\n".join(lines), red=True, bold=True)
    session.exitstatus = pytest.ExitCode.TESTS_FAILED
