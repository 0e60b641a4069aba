"""X25519 key pairs of agencies and project teams, and their key files.

An agency's pair receives the wrapped project secret (`keys.wrapping`); a team's pair
opens the sealed disclosure envelopes agencies attach to their records (`keys.envelope`).
The public half is a shareable JSON file; the private half an owner-only JSON file,
optionally encrypted under a passphrase (`keys.passphrase`).
"""

import base64
import binascii
import hashlib
import re
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any, Self

from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey

from keys.derivation import context_info
from keys.errors import KeyFileError
from keys.passphrase import lock, unlock
from keys.storage import read_json, read_owner_only_json, write_new_json

PUBLIC_KEY_FORMAT = "fieldlink-public-key/1"
PRIVATE_KEY_FORMAT = "fieldlink-private-key/1"
KEY_BYTES = 32
KEY_ID_LABEL = b"fieldlink public key id v1\x00"
MAX_OWNER_CHARS = 80
_KEY_ID = re.compile(r"^[0-9a-f]{16}$")
_BOUND_LABELS = ("format", "owner", "kind", "key_id", "public_key")


class KeyKind(StrEnum):
    """Whose key pair it is: an agency's (receives secrets) or a team's (opens envelopes)."""

    AGENCY = "agency"
    TEAM = "team"


_A_KEY = {KeyKind.AGENCY: "an agency key", KeyKind.TEAM: "a team key"}


def check_owner(owner: object) -> str:
    """An owner label as given, if it is 1-80 printable characters; else ValueError."""
    if not isinstance(owner, str) or not 0 < len(owner) <= MAX_OWNER_CHARS:
        raise ValueError(f"owner must be 1-{MAX_OWNER_CHARS} characters")
    if not owner.isprintable() or owner != owner.strip():
        raise ValueError("owner must be printable, without leading or trailing spaces")
    return owner


def is_key_id(value: object) -> bool:
    """Whether `value` has the form of a key id (16 lowercase hex digits)."""
    return isinstance(value, str) and bool(_KEY_ID.match(value))


def key_id_of(public_bytes: bytes) -> str:
    """The public 16-hex id of a raw X25519 public key (a truncated SHA-256, domain-separated)."""
    return hashlib.sha256(KEY_ID_LABEL + public_bytes).hexdigest()[:16]


@dataclass(frozen=True, slots=True, repr=False)
class PublicKey:
    """The shareable half of a key pair: owner label, kind and the raw X25519 public key."""

    owner: str
    kind: KeyKind
    key: bytes

    def __post_init__(self) -> None:
        check_owner(self.owner)
        if len(self.key) != KEY_BYTES:
            raise ValueError(f"an X25519 public key is {KEY_BYTES} bytes")

    def __repr__(self) -> str:
        return f"PublicKey(owner={self.owner!r}, kind={self.kind.value!r}, key_id={self.key_id!r})"

    @property
    def key_id(self) -> str:
        """The key's public id: 16 hex digits, the same wherever the key is shown."""
        return key_id_of(self.key)

    def x25519(self) -> X25519PublicKey:
        """The key as a `cryptography` object, for key agreement."""
        return X25519PublicKey.from_public_bytes(self.key)

    def to_document(self) -> dict[str, str]:
        """The public key file's JSON document."""
        return {
            "format": PUBLIC_KEY_FORMAT,
            "owner": self.owner,
            "kind": self.kind.value,
            "key_id": self.key_id,
            "public_key": base64.b64encode(self.key).decode(),
        }

    @classmethod
    def from_document(cls, document: Any) -> Self:
        """Parse a public key document (as `to_document` makes it); ValueError when invalid."""
        if not isinstance(document, dict) or document.get("format") != PUBLIC_KEY_FORMAT:
            raise ValueError(f"is not a {PUBLIC_KEY_FORMAT} document")
        public = cls(
            owner=check_owner(document.get("owner")),
            kind=_kind(document.get("kind")),
            key=_decode(document.get("public_key"), "public_key"),
        )
        if document.get("key_id") != public.key_id:
            raise ValueError("its key_id does not match its public key")
        return public


@dataclass(frozen=True, slots=True, repr=False)
class KeyPair:
    """A private X25519 key with its public half; `repr` shows only owner, kind and key id."""

    public: PublicKey
    private: bytes

    def __post_init__(self) -> None:
        if len(self.private) != KEY_BYTES:
            raise ValueError(f"an X25519 private key is {KEY_BYTES} bytes")
        derived = self.x25519().public_key().public_bytes_raw()
        if derived != self.public.key:
            raise ValueError("the private key does not belong to the public key")

    def __repr__(self) -> str:
        return f"KeyPair(owner={self.owner!r}, kind={self.kind.value!r}, key_id={self.key_id!r})"

    __str__ = __repr__

    @property
    def owner(self) -> str:
        """The owner label (agency or team name)."""
        return self.public.owner

    @property
    def kind(self) -> KeyKind:
        """Agency or team."""
        return self.public.kind

    @property
    def key_id(self) -> str:
        """The public key id."""
        return self.public.key_id

    def x25519(self) -> X25519PrivateKey:
        """The private key as a `cryptography` object, for key agreement."""
        return X25519PrivateKey.from_private_bytes(self.private)


def generate_keypair(owner: str, kind: KeyKind) -> KeyPair:
    """Create a new random X25519 key pair for an agency or a team."""
    private = X25519PrivateKey.generate()
    public = PublicKey(owner=owner, kind=KeyKind(kind), key=private.public_key().public_bytes_raw())
    return KeyPair(public=public, private=private.private_bytes_raw())


def public_path_for(private_path: Path) -> Path:
    """Where a private key file's public half goes: `NAME.key` -> `NAME.pub.json`."""
    stem = private_path.name.removesuffix(".json").removesuffix(".key")
    return private_path.with_name(f"{stem or private_path.name}.pub.json")


def write_public_key(path: Path, public: PublicKey) -> None:
    """Write a public key file (shareable, mode 0644); never overwrites an existing file."""
    write_new_json(path, public.to_document(), mode=0o644)


def read_public_key(path: Path, *, kind: KeyKind | None = None) -> PublicKey:
    """Load a public key file, optionally requiring its kind (agency or team).

    Raises:
        KeyFileError: The file is missing, malformed, or holds the other kind of key.
    """
    try:
        public = PublicKey.from_document(read_json(path))
    except ValueError as err:
        raise KeyFileError(str(path), str(err)) from err
    _check_kind(path, public.kind, kind)
    return public


def write_private_key(path: Path, pair: KeyPair, *, passphrase: str | None = None) -> None:
    """Write a private key file (mode 0600, never overwriting), encrypted when given a passphrase.

    Args:
        path: The new file.
        pair: The key pair; the file holds both halves.
        passphrase: When given, the private key is stored encrypted (scrypt + AES-256-GCM),
            bound to the file's owner, kind and public key.
    """
    header = {**pair.public.to_document(), "format": PRIVATE_KEY_FORMAT}
    if passphrase is None:
        protected: dict[str, Any] = {"protection": None, "private_key": _encode(pair.private)}
    else:
        protection, sealed = lock(pair.private, passphrase, bound=_bound(header))
        protected = {"protection": protection, "private_key": _encode(sealed)}
    write_new_json(path, {**header, **protected})


def read_private_key(
    path: Path, *, passphrase: str | None = None, kind: KeyKind | None = None
) -> KeyPair:
    """Load a private key file, refusing files that group or others can read.

    Args:
        path: The private key file.
        passphrase: Needed when the file is protected by one.
        kind: When given, the kind the key pair must be.

    Raises:
        KeyFileError: Missing, accessible by others, malformed, protected but no passphrase
            given, or of the other kind.
        WrongPassphrase: The passphrase does not open it (or the file was altered).
    """
    document = read_owner_only_json(path)
    if not isinstance(document, dict) or document.get("format") != PRIVATE_KEY_FORMAT:
        raise KeyFileError(str(path), f"is not a {PRIVATE_KEY_FORMAT} file")
    try:
        public = PublicKey.from_document({**document, "format": PUBLIC_KEY_FORMAT})
        stored = _decode(document.get("private_key"), "private_key")
    except ValueError as err:
        raise KeyFileError(str(path), str(err)) from err
    private = _private_bytes(path, document, stored, passphrase)
    _check_kind(path, public.kind, kind)
    try:
        return KeyPair(public=public, private=private)
    except ValueError as err:
        raise KeyFileError(str(path), str(err)) from err


def _private_bytes(
    path: Path, document: dict[str, Any], stored: bytes, passphrase: str | None
) -> bytes:
    protection = document.get("protection")
    if protection is None:
        return stored
    if passphrase is None:
        raise KeyFileError(str(path), "is protected by a passphrase, and none was given")
    header = {label: document.get(label) for label in _BOUND_LABELS}
    return unlock(path, protection, stored, passphrase, bound=_bound(header))


def _bound(header: dict[str, Any]) -> bytes:
    # The passphrase encryption authenticates the file's labels with the key, so nobody
    # can relabel a protected key (another owner or kind) without the decryption failing.
    return context_info("private-key-file", *(str(header[label]) for label in _BOUND_LABELS))


def _check_kind(path: Path, found: KeyKind, expected: KeyKind | None) -> None:
    if expected is not None and found is not expected:
        raise KeyFileError(str(path), f"holds {_A_KEY[found]}, expected {_A_KEY[expected]}")


def _kind(value: object) -> KeyKind:
    try:
        return KeyKind(str(value))
    except ValueError as err:
        raise ValueError("kind must be 'agency' or 'team'") from err


def _encode(value: bytes) -> str:
    return base64.b64encode(value).decode()


def _decode(value: object, name: str) -> bytes:
    if not isinstance(value, str):
        raise ValueError(f"has no {name}")
    try:
        return base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError) as err:
        raise ValueError(f"its {name} is not base64") from err
