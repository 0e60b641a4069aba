"""What the hub leaves on disk: a killed upload leaves no plain batch, leftovers go at start,
and the database and data folder are owner-only."""

import asyncio
import fcntl
import os
import signal
import subprocess
import sys
import textwrap
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from pydantic import SecretStr

from service import spool, vault
from service.config import Settings
from service.main import create_app
from service.schema_version import upgrade
from service.spool import remove_leftovers, spool_body

MARKER = b"PLAIN-BATCH-BYTES-" * 4096  # 72 kB that must never be on disk as they are


def _files(folder: Path) -> list[Path]:
    return [path for path in folder.rglob("*") if path.is_file()]


def test_a_killed_upload_leaves_no_plain_bytes_and_start_up_removes_what_it_left(
    tmp_path: Path,
) -> None:
    data_dir = tmp_path / "hub-data"
    # A hub process spooling an upload, killed (SIGKILL) in the middle of the body.
    script = textwrap.dedent(
        f"""
        import asyncio, os, signal
        from pathlib import Path
        from service import spool, vault
        spool.WRITE_BYTES = 4096
        vault.CHUNK_BYTES = 4096
        marker = {MARKER[:72]!r} * 1024

        async def body():
            for _ in range(8):
                yield marker
                await asyncio.sleep(0)
            os.kill(os.getpid(), signal.SIGKILL)
            yield b""

        partial = Path({str(data_dir)!r}) / "uploads" / "x.vault.partial"
        partial.parent.mkdir(parents=True)
        partial.touch()  # an interrupted vault write
        asyncio.run(spool.spool_body(body(), folder=Path({str(data_dir)!r}) / "spool",
                                     max_bytes=10**9))
        """
    )
    killed = subprocess.run([sys.executable, "-c", script], check=False, timeout=60)  # noqa: S603

    left = _files(data_dir)
    assert killed.returncode == -signal.SIGKILL
    assert [path.parent.name for path in left].count("spool") == 1
    assert not [path for path in left if MARKER[:72] in path.read_bytes()]
    assert remove_leftovers(data_dir) == 2
    assert _files(data_dir) == []


def test_the_spool_is_sealed_while_it_is_written(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(spool, "WRITE_BYTES", 4096)
    monkeypatch.setattr(vault, "CHUNK_BYTES", 4096)
    folder = tmp_path / "spool"
    seen: list[bytes] = []

    async def body() -> AsyncIterator[bytes]:
        for _ in range(4):
            yield MARKER
            seen.extend(path.read_bytes() for path in _files(folder))

    spooled = asyncio.run(spool_body(body(), folder=folder, max_bytes=10**9))

    assert seen and all(MARKER[:64] not in content for content in seen)
    assert MARKER[:64] not in spooled.path.read_bytes()
    assert spooled.read() == MARKER * 4
    assert b"".join(spooled.chunks()) == MARKER * 4
    assert remove_leftovers(tmp_path) == 0  # in use: locked, left alone
    spooled.discard()
    assert _files(folder) == []


def test_the_hub_removes_leftovers_when_it_starts(tmp_path: Path) -> None:
    settings = Settings(database_url=SecretStr("sqlite://"), data_dir=tmp_path / "hub-data")
    for name in ("spool/tmpab12.spool", "uploads/1234-abcd.vault.partial"):
        (settings.data_dir / name).parent.mkdir(parents=True, exist_ok=True)
        (settings.data_dir / name).write_bytes(b"left by a killed process")
    kept = settings.data_dir / "uploads" / "1234-abcd.vault"
    kept.write_bytes(b"a stored blob")

    with TestClient(create_app(settings)):
        pass

    assert _files(settings.data_dir / "spool") == []
    assert sorted(path.name for path in _files(settings.data_dir / "uploads")) == [kept.name]


def test_a_file_being_written_elsewhere_is_not_a_leftover(tmp_path: Path) -> None:
    busy = tmp_path / "spool" / "busy.spool"
    busy.parent.mkdir()
    with open(busy, "wb") as handle:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
        assert remove_leftovers(tmp_path) == 0
    assert remove_leftovers(tmp_path) == 1


def _mode(path: Path) -> int:
    return path.stat().st_mode & 0o777


def test_the_database_and_data_folder_are_owner_only(tmp_path: Path) -> None:
    loose = os.umask(0o022)  # the usual umask: files 0644, folders 0755
    try:
        initialised, served = tmp_path / "init.db", tmp_path / "served.db"
        upgrade(f"sqlite:///{initialised}")  # what `fieldlink hub init` runs first
        upgrade(f"sqlite:///{served}")
        served.chmod(0o644)  # as an earlier hub created it: world-readable
        settings = Settings(database_url=SecretStr(f"sqlite:///{served}"), data_dir=tmp_path / "d")
        with TestClient(create_app(settings)) as client:
            assert client.get("/v1/ready").status_code == 200
    finally:
        os.umask(loose)

    assert _mode(initialised) == 0o600
    assert _mode(served) == 0o600
    assert _mode(settings.data_dir) == 0o700
    sidecars = list(tmp_path.glob("served.db-*"))  # SQLite's -wal and -shm files
    assert all(_mode(path) == 0o600 for path in sidecars)
