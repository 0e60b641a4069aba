"""The hub's own keys: storage keys (AES-256-GCM, batches at rest) and audit signing keys.

Both are keyrings: every key has a short id, one key is active, and retired keys stay so
that what they protected stays readable (storage) or verifiable (signatures). Rotation adds
a key and makes it active; `service.vault.reseal` then moves stored batches to it.

On disk, under `<data_dir>/keys/` (owner-only permissions, like the agencies' secrets; the
data folder itself is made owner-only too, since it holds the sealed batches):

    storage/<id>.key   32 random bytes, hex       storage/active   the active id
    signing/<id>.key   Ed25519 private key, hex   signing/active   the active id

The active key of either ring may instead come from the environment
(FIELDLINK_STORAGE_KEY, FIELDLINK_SIGNING_KEY: 64 hex digits, e.g. from a secret store);
the folder then holds only retired keys, if any, and rotation means changing the variable.

These keys are the hub's, not the agencies': the hub never holds a linkage secret.
"""

import hashlib
import os
import secrets
import stat
from dataclasses import dataclass
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from service.config import Settings

KEY_BYTES = 32


class HubKeyError(Exception):
    """The hub's key folder is missing, unreadable or unsafe; the message says which file."""


@dataclass(frozen=True, slots=True, repr=False)
class Keyring:
    """Keys by id, and which one new material uses."""

    keys: dict[str, bytes]
    active_id: str

    @property
    def active(self) -> bytes:
        """The key new material is protected with."""
        return self.keys[self.active_id]

    def __repr__(self) -> str:
        return f"Keyring(ids={sorted(self.keys)}, active={self.active_id})"


@dataclass(frozen=True, slots=True, repr=False)
class HubKeys:
    """The hub's storage keyring and signing keyring."""

    storage: Keyring
    signing: Keyring

    def signer(self) -> Ed25519PrivateKey:
        """The active audit signing key."""
        return Ed25519PrivateKey.from_private_bytes(self.signing.active)

    def public_keys(self) -> dict[str, str]:
        """Every signing key id with its raw public key, hex: what auditors verify with."""
        return {key_id: public_key_hex(raw) for key_id, raw in sorted(self.signing.keys.items())}

    def __repr__(self) -> str:
        return f"HubKeys(storage={self.storage!r}, signing={self.signing!r})"


def public_key_hex(private_raw: bytes) -> str:
    """The raw Ed25519 public key of a private key, hex."""
    public = Ed25519PrivateKey.from_private_bytes(private_raw).public_key()
    return public.public_bytes(Encoding.Raw, PublicFormat.Raw).hex()


def load_public_key(public_hex: str) -> Ed25519PublicKey:
    """An Ed25519 public key from its hex form."""
    return Ed25519PublicKey.from_public_bytes(bytes.fromhex(public_hex))


def key_id(kind: str, key: bytes) -> str:
    """A public 16-hex id for a key: a hash of its public part (signing) or of the key."""
    material = bytes.fromhex(public_key_hex(key)) if kind == "signing" else key
    return hashlib.sha256(kind.encode() + b"\0" + material).hexdigest()[:16]


def load_hub_keys(
    data_dir: Path,
    *,
    create: bool = True,
    storage_key: str | None = None,
    signing_key: str | None = None,
) -> HubKeys:
    """Read the hub's keys, creating missing keyrings when `create` (first start).

    `storage_key` and `signing_key` (hex, from the environment) become the active key of
    their ring; the ring's folder then only adds retired keys and is never created.
    """
    private_folder(data_dir)
    root = data_dir / "keys"
    return HubKeys(
        storage=_ring(root / "storage", "storage", create=create, given=storage_key),
        signing=_ring(root / "signing", "signing", create=create, given=signing_key),
    )


def settings_keys(settings: Settings, *, create: bool) -> HubKeys:
    """The hub's keys as its settings say: the data folder, and keys from the environment."""
    given = {
        name: secret.get_secret_value()
        for name, secret in (
            ("storage_key", settings.storage_key),
            ("signing_key", settings.signing_key),
        )
        if secret is not None
    }
    return load_hub_keys(settings.data_dir, create=create, **given)


def _ring(folder: Path, kind: str, *, create: bool, given: str | None) -> Keyring:
    if given is None:
        return _keyring(folder, kind, create=create)
    key = _parse_key(given, f"FIELDLINK_{kind.upper()}_KEY")
    paths = sorted(folder.glob("*.key")) if folder.is_dir() else []
    retired = {key_id(kind, old): old for old in map(_read_key, paths)}
    active_id = key_id(kind, key)
    return Keyring(keys=retired | {active_id: key}, active_id=active_id)


def private_folder(folder: Path) -> None:
    """Create the folder owner-only (0700), or take group and others' access off it."""
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    if folder.stat().st_mode & (stat.S_IRWXG | stat.S_IRWXO):
        try:
            folder.chmod(0o700)
        except OSError:
            raise HubKeyError(f"{folder}: open to others; run `chmod 700 {folder}`") from None


def rotate(data_dir: Path, kind: str) -> str:
    """Add a fresh key to the `storage` or `signing` keyring, make it active, return its id."""
    folder = data_dir / "keys" / kind
    _keyring(folder, kind, create=False)  # refuse to rotate a ring that is not there
    return _add_key(folder, kind)


def _keyring(folder: Path, kind: str, *, create: bool) -> Keyring:
    if not (folder / "active").exists():
        if not create:
            raise HubKeyError(f"{folder}: no {kind} keys; run `fieldlink hub init` first")
        _add_key(folder, kind)
    keys = {path.stem: _read_key(path) for path in sorted(folder.glob("*.key"))}
    active_id = _read_private(folder / "active").strip()
    if active_id not in keys:
        raise HubKeyError(f"{folder / 'active'}: names a key that is not in the folder")
    return Keyring(keys=keys, active_id=active_id)


def _add_key(folder: Path, kind: str) -> str:
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    key = secrets.token_bytes(KEY_BYTES)
    new_id = key_id(kind, key)
    _write_private(folder / f"{new_id}.key", key.hex())
    _write_private(folder / "active.tmp", new_id)
    (folder / "active.tmp").replace(folder / "active")
    return new_id


def _read_key(path: Path) -> bytes:
    return _parse_key(_read_private(path), str(path))


def _parse_key(text: str, source: str) -> bytes:
    """A key from its hex form; errors name the source, never the value."""
    try:
        key = bytes.fromhex(text.strip())
    except ValueError:
        raise HubKeyError(f"{source}: not a hex key") from None
    if len(key) != KEY_BYTES:
        raise HubKeyError(f"{source}: a key must be {KEY_BYTES} bytes ({2 * KEY_BYTES} hex digits)")
    return key


def _read_private(path: Path) -> str:
    mode = path.stat().st_mode
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise HubKeyError(f"{path}: readable by others; run `chmod 600 {path}`")
    return path.read_text(encoding="ascii")


def _write_private(path: Path, text: str) -> None:
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w", encoding="ascii") as handle:
        handle.write(text + "\n")
