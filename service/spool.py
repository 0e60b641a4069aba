"""Streamed request bodies, spooled to disk: hashed on the way in, refused past a size limit."""

import hashlib
import os
import tempfile
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO

import anyio.to_thread

from service.errors import PayloadTooLarge

# Network chunks (64 KiB or less) are gathered into writes of this size, which go to a worker
# thread together with their hashing, so the event loop never waits on the disk.
WRITE_BYTES = 8 * 1024 * 1024


@dataclass(frozen=True, slots=True)
class Spooled:
    """A request body on disk, with its SHA-256 (hex) and length."""

    path: Path
    digest: str
    size_bytes: int


async def spool_body(chunks: AsyncIterator[bytes], *, folder: Path, max_bytes: int) -> Spooled:
    """Write a streamed body to a fresh file in `folder`, hashing it as it arrives.

    Args:
        chunks: The body, as the server receives it (`request.stream()`).
        folder: Where the spool file goes; created owner-only when missing.
        max_bytes: The most bytes accepted; one more stops the transfer.

    Returns:
        The spooled body. The caller removes `path` when done with it.

    Raises:
        PayloadTooLarge: The body exceeds `max_bytes`; nothing is left on disk.
    """
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    descriptor, name = tempfile.mkstemp(dir=folder, suffix=".spool")
    path = Path(name)
    try:
        with os.fdopen(descriptor, "wb") as sink:
            digest, size_bytes = await _copy(chunks, sink, max_bytes)
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    return Spooled(path=path, digest=digest, size_bytes=size_bytes)


async def _copy(chunks: AsyncIterator[bytes], sink: IO[bytes], max_bytes: int) -> tuple[str, int]:
    hasher = hashlib.sha256()
    pending, size_bytes = bytearray(), 0
    async for chunk in chunks:
        size_bytes += len(chunk)
        if size_bytes > max_bytes:
            raise PayloadTooLarge(f"the body exceeds the hub's limit of {max_bytes} bytes")
        pending += chunk
        if len(pending) >= WRITE_BYTES:
            full, pending = pending, bytearray()
            await anyio.to_thread.run_sync(_write, sink, hasher, full)
    await anyio.to_thread.run_sync(_write, sink, hasher, pending)
    return hasher.hexdigest(), size_bytes


def _write(sink: IO[bytes], hasher: "hashlib._Hash", data: bytearray) -> None:
    hasher.update(data)  # releases the GIL for large buffers
    sink.write(data)
