"""Encrypted files at rest: AES-256-GCM in authenticated chunks, bound to a name.

Layout: MAGIC, the 16-character key id, then chunks of `<u32 length><12-byte nonce>
<ciphertext+tag>`. Each chunk's associated data is the blob name, the chunk number and a
last-chunk flag, so a blob cannot be truncated, reordered or swapped with another blob
without `open_blob` refusing it.

Blobs live in an object store (`service.objects`: files under the data folder, or an S3
bucket): `seal_object` streams plaintext chunks into one, `iter_object` streams them back
out, a chunk at a time either way. The `Path` functions (`seal`, `open_blob` ...) are the
same on a local file. `Sealer` writes the format into any sink (the upload spool,
`service.spool`, seals into a local file as the body arrives).
"""

import secrets
import struct
from collections.abc import Generator, Iterable, Iterator, Mapping
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from service.hub_keys import Keyring
from service.objects import (
    PARTIAL_SUFFIX,
    LocalObjects,
    ObjectStore,
    ObjectStoreError,
    Readable,
    Writable,
    atomic_file,
    remove_stale,
)

__all__ = [
    "CHUNK_BYTES",
    "MAGIC",
    "PARTIAL_SUFFIX",
    "Sealer",
    "VaultError",
    "iter_blob",
    "iter_object",
    "open_blob",
    "open_object",
    "remove_stale",
    "reseal",
    "reseal_object",
    "seal",
    "seal_object",
]

MAGIC = b"FLVAULT1"
CHUNK_BYTES = 8 * 1024 * 1024
_KEY_ID_BYTES = 16
_NONCE_BYTES = 12


class VaultError(Exception):
    """A stored blob is missing, altered, or sealed with a key the hub no longer has."""


class Sealer:
    """Encrypts a byte stream into a sink, chunk by chunk, in the vault's format."""

    def __init__(self, sink: Writable, *, keyring: Keyring, name: str) -> None:
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


def seal_object(
    chunks: Iterable[bytes], store: ObjectStore, key: str, *, keyring: Keyring, name: str
) -> int:
    """Encrypt the byte chunks into the store under `key` (whole or not at all).

    Returns:
        The plaintext bytes sealed.
    """
    try:
        with store.writer(key) as sink:
            return _seal_into(sink, chunks, keyring, name)
    except ObjectStoreError as err:
        raise VaultError(str(err)) from err


def iter_object(
    store: ObjectStore, key: str, *, keyring: Keyring, name: str
) -> Generator[bytes, None, None]:
    """Decrypt the blob under `key` chunk by chunk, checking each as it comes."""
    label = key.rsplit("/", 1)[-1]
    try:
        with store.reader(key) as stream:
            cipher = _cipher_for(stream, keyring.keys, label)
            yield from _decrypt_chunks(stream, cipher, name, label)
    except ObjectStoreError as err:
        raise VaultError(str(err)) from err


def open_object(store: ObjectStore, key: str, *, keyring: Keyring, name: str) -> bytes:
    """Decrypt the blob under `key`, whole."""
    return b"".join(iter_object(store, key, keyring=keyring, name=name))


def reseal_object(store: ObjectStore, key: str, *, keyring: Keyring, name: str) -> bool:
    """Re-encrypt a blob under the keyring's active key; False when it already is.

    The new blob replaces the old one only once whole (`ObjectStore.writer`), so an
    interruption leaves the old one, readable with the keys on the ring.
    """
    label = key.rsplit("/", 1)[-1]
    try:
        with store.reader(key) as stream:
            current = _key_id(stream, label)
    except ObjectStoreError as err:
        raise VaultError(str(err)) from err
    if current == keyring.active_id:
        return False
    plain = iter_object(store, key, keyring=keyring, name=name)
    seal_object(plain, store, key, keyring=keyring, name=name)
    return True


def seal(chunks: Iterator[bytes], target: Path, *, keyring: Keyring, name: str) -> int:
    """Encrypt the byte chunks into the file `target` (written atomically); plaintext bytes."""
    with atomic_file(target) as sink:
        return _seal_into(sink, chunks, keyring, name)


def iter_blob(source: Path, *, keyring: Keyring, name: str) -> Iterator[bytes]:
    """Decrypt a file written by `seal` (or a `Sealer`) chunk by chunk."""
    return iter_object(LocalObjects(source.parent), source.name, keyring=keyring, name=name)


def open_blob(source: Path, *, keyring: Keyring, name: str) -> bytes:
    """Decrypt a file written by `seal` under the same name."""
    return b"".join(iter_blob(source, keyring=keyring, name=name))


def reseal(path: Path, *, keyring: Keyring, name: str) -> bool:
    """Re-encrypt a file under the keyring's active key; False when it already is."""
    return reseal_object(LocalObjects(path.parent), path.name, keyring=keyring, name=name)


def _seal_into(sink: Writable, chunks: Iterable[bytes], keyring: Keyring, name: str) -> int:
    sealer = Sealer(sink, keyring=keyring, name=name)
    for chunk in chunks:
        sealer.write(chunk)
    return sealer.close()


def _cipher_for(stream: Readable, keys: Mapping[str, bytes], label: str) -> AESGCM:
    key_id = _key_id(stream, label)
    if key_id not in keys:
        raise VaultError(f"{label}: sealed with storage key {key_id}, which is not loaded")
    return AESGCM(keys[key_id])


def _decrypt_chunks(stream: Readable, cipher: AESGCM, name: str, label: str) -> Iterator[bytes]:
    number, header = 0, stream.read(4)
    while header:
        (length,) = struct.unpack(">I", header)
        nonce, sealed = stream.read(_NONCE_BYTES), stream.read(length)
        following = stream.read(4)
        try:
            plain = cipher.decrypt(nonce, sealed, _associated(name, number, not following))
        except InvalidTag as err:
            raise VaultError(f"{label}: chunk {number} fails authentication") from err
        # One chunk at a time: neither its ciphertext while the reader works on the
        # plaintext, nor the plaintext while the next chunk is read and decrypted.
        del sealed
        yield plain
        del plain
        number, header = number + 1, following
    if number == 0:
        raise VaultError(f"{label}: holds no data")


def _key_id(stream: Readable, label: str) -> str:
    head = stream.read(len(MAGIC) + _KEY_ID_BYTES)
    if not head.startswith(MAGIC) or len(head) != len(MAGIC) + _KEY_ID_BYTES:
        raise VaultError(f"{label}: not a sealed blob")
    return head[len(MAGIC) :].decode("ascii", errors="replace")


def _associated(name: str, number: int, last: bool) -> bytes:
    return name.encode() + struct.pack(">QB", number, last)
