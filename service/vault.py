"""Encrypted files at rest: AES-256-GCM in authenticated chunks, bound to a name.

Layout: MAGIC, the 16-character key id, then chunks of `<u32 length><12-byte nonce>
<ciphertext+tag>`. Each chunk's associated data is the blob name, the chunk number and a
last-chunk flag, so a blob cannot be truncated, reordered or swapped with another blob
without `open_blob` refusing it.

`Sealer` writes the same format from a stream (the upload spool, `service.spool`). A file
being written is held under an exclusive flock(2), so that `remove_stale` can tell the
leftovers of a killed process from files another process is still writing.
"""

import fcntl
import os
import secrets
import struct
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import IO

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from service.hub_keys import Keyring

MAGIC = b"FLVAULT1"
CHUNK_BYTES = 8 * 1024 * 1024
PARTIAL_SUFFIX = ".partial"  # a blob being written, renamed into place when complete
_KEY_ID_BYTES = 16
_NONCE_BYTES = 12


class VaultError(Exception):
    """A stored blob is missing, altered, or sealed with a key the hub no longer has."""


class Sealer:
    """Encrypts a byte stream into an open file, chunk by chunk, in the vault's format."""

    def __init__(self, sink: IO[bytes], *, keyring: Keyring, name: str) -> None:
        self._sink, self._name = sink, name
        self._cipher = AESGCM(keyring.active)
        self._buffer = bytearray()
        self._number = self.total = 0
        sink.write(MAGIC + keyring.active_id.encode("ascii"))

    def __repr__(self) -> str:
        return f"Sealer(name={self._name!r}, total={self.total})"

    def write(self, data: bytes | bytearray) -> None:
        """Add plaintext; full chunks are encrypted and written once more follows them."""
        self._buffer += data
        while len(self._buffer) > CHUNK_BYTES:
            self._emit(bytes(self._buffer[:CHUNK_BYTES]), last=False)
            del self._buffer[:CHUNK_BYTES]

    def close(self) -> int:
        """Write the last chunk (it may be empty); return the plaintext bytes sealed."""
        self._emit(bytes(self._buffer), last=True)
        self._buffer = bytearray()
        return self.total

    def _emit(self, chunk: bytes, *, last: bool) -> None:
        nonce = secrets.token_bytes(_NONCE_BYTES)
        sealed = self._cipher.encrypt(nonce, chunk, _associated(self._name, self._number, last))
        self._sink.write(struct.pack(">I", len(sealed)) + nonce + sealed)
        self._number += 1
        self.total += len(chunk)


def seal(chunks: Iterator[bytes], target: Path, *, keyring: Keyring, name: str) -> int:
    """Encrypt the byte chunks into `target` (written atomically); return plaintext bytes."""
    target.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    partial = target.with_name(target.name + PARTIAL_SUFFIX)
    with open(partial, "wb") as sink:
        fcntl.flock(sink.fileno(), fcntl.LOCK_EX)  # see remove_stale
        sealer = Sealer(sink, keyring=keyring, name=name)
        for chunk in chunks:
            sealer.write(chunk)
        total = sealer.close()
        sink.flush()
        os.fsync(sink.fileno())
        partial.replace(target)
    return total


def remove_stale(folder: Path, pattern: str) -> int:
    """Remove the files matching `pattern` that no process holds a lock on; return how many.

    For leftovers of a killed process (a half-written blob, a spool file); files another
    live process is writing are locked and stay.
    """
    removed = 0
    for path in sorted(folder.glob(pattern)) if folder.is_dir() else []:
        try:
            descriptor = os.open(path, os.O_RDONLY)
        except OSError:
            continue  # renamed or removed meanwhile
        try:
            fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            os.close(descriptor)
            continue  # being written
        path.unlink(missing_ok=True)
        os.close(descriptor)
        removed += 1
    return removed


def iter_blob(source: Path, *, keyring: Keyring, name: str) -> Iterator[bytes]:
    """Decrypt a blob written by `seal` (or a `Sealer`) chunk by chunk."""
    return _open_chunks(source, keyring.keys, name)


def open_blob(source: Path, *, keyring: Keyring, name: str) -> bytes:
    """Decrypt a blob written by `seal` under the same name."""
    return b"".join(_open_chunks(source, keyring.keys, name))


def reseal(path: Path, *, keyring: Keyring, name: str) -> bool:
    """Re-encrypt a blob under the keyring's active key; False when it already is."""
    if _key_id_of(path) == keyring.active_id:
        return False
    seal(_open_chunks(path, keyring.keys, name), path, keyring=keyring, name=name)
    return True


def _open_chunks(source: Path, keys: Mapping[str, bytes], name: str) -> Iterator[bytes]:
    key_id = _key_id_of(source)
    if key_id not in keys:
        raise VaultError(f"{source.name}: sealed with storage key {key_id}, which is not loaded")
    cipher = AESGCM(keys[key_id])
    with open(source, "rb") as stream:
        stream.seek(len(MAGIC) + _KEY_ID_BYTES)
        yield from _decrypt_chunks(stream, cipher, name, source.name)


def _decrypt_chunks(stream: IO[bytes], cipher: AESGCM, name: str, label: str) -> Iterator[bytes]:
    number, header = 0, stream.read(4)
    while header:
        (length,) = struct.unpack(">I", header)
        nonce, sealed = stream.read(_NONCE_BYTES), stream.read(length)
        following = stream.read(4)
        try:
            yield cipher.decrypt(nonce, sealed, _associated(name, number, not following))
        except InvalidTag as err:
            raise VaultError(f"{label}: chunk {number} fails authentication") from err
        number, header = number + 1, following
    if number == 0:
        raise VaultError(f"{label}: holds no data")


def _key_id_of(path: Path) -> str:
    try:
        with open(path, "rb") as stream:
            head = stream.read(len(MAGIC) + _KEY_ID_BYTES)
    except OSError as err:
        raise VaultError(f"{path.name}: cannot be read") from err
    if not head.startswith(MAGIC) or len(head) != len(MAGIC) + _KEY_ID_BYTES:
        raise VaultError(f"{path.name}: not a sealed blob")
    return head[len(MAGIC) :].decode("ascii", errors="replace")


def _associated(name: str, number: int, last: bool) -> bytes:
    return name.encode() + struct.pack(">QB", number, last)
