"""Streamed request bodies, spooled to disk encrypted: hashed on the way in, size-limited.

A batch is never on disk in plain: the spool file is sealed as it arrives (the vault's
format, `service.vault.Sealer`) under a fresh key that lives only in this process's memory.
Should the process be killed mid-upload, what it leaves is ciphertext whose key is gone;
`remove_leftovers` deletes it (and half-written local blobs) when the hub starts. A spool
file is locked while in use, so a hub process starting beside a busy one leaves its
files alone.
"""

import fcntl
import hashlib
import os
import secrets
import tempfile
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import IO

import anyio.to_thread

from service.errors import PayloadTooLarge
from service.hub_keys import Keyring
from service.objects import LocalObjects, remove_stale
from service.vault import Sealer, iter_blob, open_blob

# Network chunks (64 KiB or less) are gathered into writes of this size, which go to a worker
# thread together with their hashing and encryption, so the event loop never waits on them.
WRITE_BYTES = 8 * 1024 * 1024
SPOOL_FOLDER = "spool"
_SPOOL_NAME = "spool"  # the sealed chunks' associated data


class Spooled:
    """A request body on disk, sealed; with its SHA-256 (hex) of the plain bytes and length.

    Read it back with `read` or `chunks`; `discard` removes it. The key is never shown.
    """

    __slots__ = ("_keyring", "_sink", "digest", "path", "size_bytes")

    def __init__(
        self, path: Path, digest: str, size_bytes: int, *, keyring: Keyring, sink: IO[bytes]
    ) -> None:
        self.path, self.digest, self.size_bytes = path, digest, size_bytes
        self._keyring, self._sink = keyring, sink

    def __repr__(self) -> str:
        return f"Spooled(path={self.path.name!r}, size_bytes={self.size_bytes})"

    def read(self) -> bytes:
        """The plain body, in memory."""
        return open_blob(self.path, keyring=self._keyring, name=_SPOOL_NAME)

    def chunks(self) -> Iterator[bytes]:
        """The plain body, a chunk at a time."""
        return iter_blob(self.path, keyring=self._keyring, name=_SPOOL_NAME)

    def discard(self) -> None:
        """Remove the spool file and let go of its lock."""
        self.path.unlink(missing_ok=True)
        self._sink.close()


async def spool_body(chunks: AsyncIterator[bytes], *, folder: Path, max_bytes: int) -> Spooled:
    """Write a streamed body, sealed, to a fresh file in `folder`, hashing it as it arrives.

    Args:
        chunks: The body, as the server receives it (`request.stream()`).
        folder: Where the spool file goes; created owner-only when missing.
        max_bytes: The most bytes accepted; one more stops the transfer.

    Returns:
        The spooled body. The caller calls `discard` when done with it.

    Raises:
        PayloadTooLarge: The body exceeds `max_bytes`; nothing is left on disk.
    """
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    descriptor, name = tempfile.mkstemp(dir=folder, suffix=".spool")
    path, sink = Path(name), os.fdopen(descriptor, "w+b")
    try:
        fcntl.flock(sink.fileno(), fcntl.LOCK_EX)
        keyring = _ephemeral_keyring()
        digest, size_bytes = await _copy(
            chunks, Sealer(sink, keyring=keyring, name=_SPOOL_NAME), max_bytes
        )
        sink.flush()
    except BaseException:
        path.unlink(missing_ok=True)
        sink.close()
        raise
    return Spooled(path, digest, size_bytes, keyring=keyring, sink=sink)


def remove_leftovers(data_dir: Path) -> int:
    """Remove what killed hub processes left: spool files, half-written blobs; how many."""
    removed = remove_stale(data_dir / SPOOL_FOLDER, "*")
    return removed + LocalObjects(data_dir).remove_leftovers()


def _ephemeral_keyring() -> Keyring:
    key_id = secrets.token_hex(8)  # 16 characters, as the vault's header expects
    return Keyring(keys={key_id: secrets.token_bytes(32)}, active_id=key_id)


async def _copy(chunks: AsyncIterator[bytes], sealer: Sealer, max_bytes: int) -> tuple[str, int]:
    hasher = hashlib.sha256()
    pending, size_bytes = bytearray(), 0
    async for chunk in chunks:
        size_bytes += len(chunk)
        if size_bytes > max_bytes:
            raise PayloadTooLarge(f"the body exceeds the hub's limit of {max_bytes} bytes")
        pending += chunk
        if len(pending) >= WRITE_BYTES:
            full, pending = pending, bytearray()
            await anyio.to_thread.run_sync(_write, sealer, hasher, full)
    await anyio.to_thread.run_sync(_write, sealer, hasher, pending, True)
    return hasher.hexdigest(), size_bytes


def _write(sealer: Sealer, hasher: "hashlib._Hash", data: bytearray, last: bool = False) -> None:
    hasher.update(data)  # releases the GIL for large buffers, as AES-GCM does
    sealer.write(data)
    if last:
        sealer.close()
