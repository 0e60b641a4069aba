"""Encrypted files at rest: AES-256-GCM in authenticated chunks, bound to a name.

Layout: MAGIC, the 16-character key id, then chunks of `<u32 length><12-byte nonce>
<ciphertext+tag>`. Each chunk's associated data is the blob name, the chunk number and a
last-chunk flag, so a blob cannot be truncated, reordered or swapped with another blob
without `open_blob` refusing it.
"""

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
_KEY_ID_BYTES = 16
_NONCE_BYTES = 12


class VaultError(Exception):
    """A stored blob is missing, altered, or sealed with a key the hub no longer has."""


def seal(chunks: Iterator[bytes], target: Path, *, keyring: Keyring, name: str) -> int:
    """Encrypt the byte chunks into `target` (written atomically); return plaintext bytes."""
    target.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    partial = target.with_suffix(".partial")
    cipher = AESGCM(keyring.active)
    total = 0
    with open(partial, "wb") as sink:
        sink.write(MAGIC + keyring.active_id.encode("ascii"))
        for number, (chunk, last) in enumerate(_with_last(_rechunk(chunks))):
            nonce = secrets.token_bytes(_NONCE_BYTES)
            sealed = cipher.encrypt(nonce, chunk, _associated(name, number, last))
            sink.write(struct.pack(">I", len(sealed)) + nonce + sealed)
            total += len(chunk)
        sink.flush()
        os.fsync(sink.fileno())
    partial.replace(target)
    return total


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


def _rechunk(chunks: Iterator[bytes]) -> Iterator[bytes]:
    buffer = bytearray()
    for chunk in chunks:
        buffer += chunk
        while len(buffer) >= CHUNK_BYTES:
            yield bytes(buffer[:CHUNK_BYTES])
            del buffer[:CHUNK_BYTES]
    yield bytes(buffer)  # the last chunk; may be empty, still authenticated as last


def _with_last(chunks: Iterator[bytes]) -> Iterator[tuple[bytes, bool]]:
    previous: bytes | None = None
    for chunk in chunks:
        if previous is not None:
            yield previous, False
        previous = chunk
    if previous is not None:
        yield previous, True
