"""Shared fixtures: a hermetic environment for every test."""

import os
from pathlib import Path

import pytest

from keys import LinkageSecret, ReferenceKey

# The log scan (tests/log_scan.py): the session fails if any log line holds a secret.
pytest_plugins = ("tests.log_scan",)


@pytest.fixture(autouse=True)
def _hermetic_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in [n for n in os.environ if n.startswith("FIELDLINK_")]:  # cf. httpx clean_environ
        monkeypatch.delenv(name)


@pytest.fixture
def secret() -> LinkageSecret:
    return LinkageSecret(project="test-project", value=bytes(range(32)))


@pytest.fixture
def ref_key() -> ReferenceKey:
    return ReferenceKey(agency="politie", value=bytes(range(32, 64)))


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    return tmp_path
