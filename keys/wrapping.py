"""Wrapping the project secret for one agency's public key, and unwrapping it there.

A key custodian wraps the secret once per participating agency; the hub stores and relays
the wrapped keys as opaque JSON documents but cannot unwrap them. The construction is
ECIES-like: a fresh ephemeral X25519 key agrees a shared secret with the recipient's key,
HKDF-SHA256 (`keys.derivation`, domain-separated) turns it into an AES-256-GCM key, and
the associated data binds every label of the document: format, project, recipient agency,
recipient key id, epoch, key check value and the ephemeral key. Changing any of them, or
any bit of the ciphertext, makes unwrapping fail with `TamperedKey`.

A wrapped key proves nothing about who made it (anyone with the agency's public key could
wrap a secret for it): compare the printed key check value with the custodian's.
"""

import base64
import binascii
import os
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Self

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from keys.derivation import context_info, derive_key
from keys.errors import KeyFileError, KeyMaterialError, TamperedKey, WeakSecretError
from keys.keypair import KEY_BYTES, KeyKind, KeyPair, PublicKey, check_owner, is_key_id
from keys.secret import LinkageSecret, check_epoch
from keys.storage import read_json, write_new_json

WRAPPED_KEY_FORMAT = "fieldlink-wrapped-key/1"
NONCE_BYTES = 12
MAX_PROJECT_CHARS = 200
_FIELDS = frozenset(
    {
        "format",
        "project",
        "recipient",
        "recipient_key_id",
        "epoch",
        "key_check",
        "ephemeral_key",
        "nonce",
        "ciphertext",
    }
)


@dataclass(frozen=True, slots=True, repr=False)
class WrappedKey:
    """A linkage secret encrypted for one agency's key; safe to store and relay anywhere."""

    project: str
    recipient: str  # the agency the secret is wrapped for
    recipient_key_id: str
    epoch: int
    key_check: str  # the wrapped secret's public key check value
    ephemeral_key: bytes
    nonce: bytes
    ciphertext: bytes

    def __repr__(self) -> str:
        return (
            f"WrappedKey(project={self.project!r}, recipient={self.recipient!r}, "
            f"recipient_key_id={self.recipient_key_id!r}, epoch={self.epoch}, "
            f"key_check={self.key_check!r})"
        )

    def associated_data(self) -> bytes:
        """The labels AES-GCM authenticates along with the ciphertext."""
        return context_info(
            "wrapped-key",
            WRAPPED_KEY_FORMAT,
            self.project,
            self.recipient,
            self.recipient_key_id,
            str(self.epoch),
            self.key_check,
            self.ephemeral_key.hex(),
        )

    def to_document(self) -> dict[str, str | int]:
        """The JSON document (`fieldlink-wrapped-key/1`) the hub stores and relays."""
        return {
            "format": WRAPPED_KEY_FORMAT,
            "project": self.project,
            "recipient": self.recipient,
            "recipient_key_id": self.recipient_key_id,
            "epoch": self.epoch,
            "key_check": self.key_check,
            "ephemeral_key": _encode(self.ephemeral_key),
            "nonce": _encode(self.nonce),
            "ciphertext": _encode(self.ciphertext),
        }

    @classmethod
    def from_document(cls, document: Any) -> Self:
        """Parse a wrapped-key document strictly: exactly its fields, each well formed.

        Raises:
            TamperedKey: The document is not a well-formed `fieldlink-wrapped-key/1`.
        """
        if not isinstance(document, dict) or set(document) != _FIELDS:
            raise TamperedKey(f"wrapped key rejected: not a {WRAPPED_KEY_FORMAT} document")
        if document["format"] != WRAPPED_KEY_FORMAT:
            raise TamperedKey(f"wrapped key rejected: not a {WRAPPED_KEY_FORMAT} document")
        try:
            return cls(
                project=_project(document["project"]),
                recipient=check_owner(document["recipient"]),
                recipient_key_id=_key_id(document["recipient_key_id"]),
                epoch=check_epoch(document["epoch"]),
                key_check=_key_id(document["key_check"]),
                ephemeral_key=_decode(document["ephemeral_key"], KEY_BYTES),
                nonce=_decode(document["nonce"], NONCE_BYTES),
                ciphertext=_decode(document["ciphertext"], None),
            )
        except ValueError as err:
            raise TamperedKey(f"wrapped key rejected: malformed ({err})") from err


def wrap_secret(secret: LinkageSecret, recipient: PublicKey) -> WrappedKey:
    """Encrypt the project secret for one agency's public key.

    Args:
        secret: The linkage secret (its project and epoch are bound into the result).
        recipient: The agency's public key; a team key is refused.

    Returns:
        The wrapped key; only the holder of the recipient's private key can unwrap it.
    """
    if recipient.kind is not KeyKind.AGENCY:
        raise KeyMaterialError("secrets are wrapped for agency keys, not for team keys")
    if len(secret.project) > MAX_PROJECT_CHARS:
        raise KeyMaterialError(f"project labels have at most {MAX_PROJECT_CHARS} characters")
    ephemeral = X25519PrivateKey.generate()
    labels = WrappedKey(
        project=secret.project,
        recipient=recipient.owner,
        recipient_key_id=recipient.key_id,
        epoch=secret.epoch,
        key_check=secret.key_check_value(),
        ephemeral_key=ephemeral.public_key().public_bytes_raw(),
        nonce=os.urandom(NONCE_BYTES),
        ciphertext=b"",
    )
    shared = ephemeral.exchange(recipient.x25519())
    key = _wrapping_key(shared, labels, recipient.key)
    sealed = AESGCM(key).encrypt(labels.nonce, secret.value, labels.associated_data())
    return replace(labels, ciphertext=sealed)


def unwrap_secret(
    wrapped: WrappedKey,
    pair: KeyPair,
    *,
    project: str,
    agency: str | None = None,
    epoch: int | None = None,
) -> LinkageSecret:
    """Decrypt a wrapped secret with the agency's own key pair, after checking every label.

    Args:
        wrapped: The wrapped key, as parsed by `WrappedKey.from_document`.
        pair: The agency's key pair.
        project: The project the caller expects the secret for.
        agency: The agency the caller is (default: the key pair's owner).
        epoch: When given, the epoch the caller expects.

    Returns:
        The secret, with the project and epoch the wrapped key carries.

    Raises:
        TamperedKey: A label differs from what is expected, the document was altered (any
            label, the ephemeral key, any bit of the ciphertext), or it is for another key.
    """
    _check_labels(wrapped, pair, project=project, agency=agency or pair.owner, epoch=epoch)
    try:
        shared = pair.x25519().exchange(X25519PublicKey.from_public_bytes(wrapped.ephemeral_key))
        key = _wrapping_key(shared, wrapped, pair.public.key)
        value = AESGCM(key).decrypt(wrapped.nonce, wrapped.ciphertext, wrapped.associated_data())
        secret = LinkageSecret(project=wrapped.project, value=value, epoch=wrapped.epoch)
    except (InvalidTag, ValueError, WeakSecretError) as err:
        raise TamperedKey(
            "wrapped key failed authentication: it was altered, or not wrapped for this key"
        ) from err
    if secret.key_check_value() != wrapped.key_check:
        raise TamperedKey("wrapped key's secret does not have the key check value it states")
    return secret


def write_wrapped_key(path: Path, wrapped: WrappedKey) -> None:
    """Write a wrapped key as JSON to a new file (mode 0644: it is safe to share)."""
    write_new_json(path, dict(wrapped.to_document()), mode=0o644)


def read_wrapped_key(path: Path) -> WrappedKey:
    """Read a wrapped key document.

    Raises:
        KeyFileError: The file is missing or not JSON.
        TamperedKey: It is not a well-formed wrapped key.
    """
    document = read_json(path)
    if not isinstance(document, dict):
        raise KeyFileError(str(path), f"is not a {WRAPPED_KEY_FORMAT} document")
    return WrappedKey.from_document(document)


def _check_labels(
    wrapped: WrappedKey, pair: KeyPair, *, project: str, agency: str, epoch: int | None
) -> None:
    if wrapped.project != project:
        raise TamperedKey(f"wrapped key is bound to another project, not to {project!r}")
    if pair.kind is not KeyKind.AGENCY or pair.owner != agency:
        raise TamperedKey(f"key pair is not agency {agency!r}'s")
    if wrapped.recipient != agency:
        raise TamperedKey(f"wrapped key is for another agency, not for {agency!r}")
    if wrapped.recipient_key_id != pair.key_id:
        raise TamperedKey(f"wrapped key is for another key, not for key {pair.key_id}")
    if epoch is not None and wrapped.epoch != epoch:
        raise TamperedKey(f"wrapped key is for another epoch, not for epoch {epoch}")


def _wrapping_key(shared: bytes, labels: WrappedKey, recipient_key: bytes) -> bytes:
    return derive_key(
        shared,
        "wrapped-key",
        labels.project,
        labels.recipient,
        labels.recipient_key_id,
        str(labels.epoch),
        salt=labels.ephemeral_key + recipient_key,
    )


def _project(value: object) -> str:
    if not isinstance(value, str) or not 0 < len(value) <= MAX_PROJECT_CHARS:
        raise ValueError(f"project must be 1-{MAX_PROJECT_CHARS} characters")
    return value


def _key_id(value: object) -> str:
    if not is_key_id(value):
        raise ValueError("an id must be 16 hex digits")
    return str(value)


def _encode(value: bytes) -> str:
    return base64.b64encode(value).decode()


def _decode(value: object, length_bytes: int | None) -> bytes:
    if not isinstance(value, str):
        raise ValueError("binary fields must be base64 text")
    try:
        decoded = base64.b64decode(value, validate=True)
    except binascii.Error as err:
        raise ValueError("binary fields must be base64 text") from err
    if length_bytes is not None and len(decoded) != length_bytes:
        raise ValueError("a binary field has the wrong length")
    return decoded
