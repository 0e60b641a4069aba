"""The project linkage secret and the agency-local reference key."""

import hashlib
import hmac
import secrets
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from keys.derivation import derive_key
from keys.errors import WeakSecretError

SECRET_BYTES = 32  # 256 bits
KEY_CHECK_LABEL = b"fieldlink key check value v1"
MAX_EPOCH = 1_000_000


def _require_length(value: bytes) -> None:
    if len(value) < SECRET_BYTES:
        raise WeakSecretError(f"secret must be at least {SECRET_BYTES} bytes, got {len(value)}")


def check_epoch(epoch: object) -> int:
    """An epoch number as given, if it is a whole number in 1..MAX_EPOCH; else ValueError."""
    if isinstance(epoch, bool) or not isinstance(epoch, int) or not 1 <= epoch <= MAX_EPOCH:
        raise ValueError(f"epoch must be a whole number in 1..{MAX_EPOCH}")
    return epoch


@dataclass(frozen=True, slots=True, repr=False)
class LinkageSecret:
    """The secret every agency of a project shares; it never reaches the hub.

    Attributes:
        project: Public project identifier the secret belongs to; bound into every derived key.
        value: The 256-bit secret itself. Never printed: `repr` shows only the key check value.
        epoch: Which of the project's successive secrets this is (1, then 2 after a rotation).
            A label only: no derived key and not the key check value depends on it, so a
            secret keeps its keys whatever its epoch; a new epoch always comes with a new
            random value, which the hub tells apart by its key check value.
    """

    project: str
    value: bytes = field(compare=True)
    epoch: int = 1

    def __post_init__(self) -> None:
        _require_length(self.value)
        check_epoch(self.epoch)

    def __repr__(self) -> str:
        return (
            f"LinkageSecret(project={self.project!r}, epoch={self.epoch}, "
            f"key_check={self.key_check_value()!r})"
        )

    __str__ = __repr__

    def derive(self, purpose: str, *labels: str, length_bytes: int = 32) -> bytes:
        """Derive a key for `purpose` bound to this project and the given labels (HKDF)."""
        return derive_key(self.value, purpose, self.project, *labels, length_bytes=length_bytes)

    def field_keys(self, fields: Sequence[str], *, purpose: str = "field-hash") -> dict[str, bytes]:
        """Derive one independent 128-bit key per schema field (SipHash keys for the encoder).

        Each field gets its own HKDF `info`, so the same q-gram in two fields sets different
        bits; one key across fields (clkhash's legacy mode) would not.
        """
        return {name: self.derive(purpose, name, length_bytes=16) for name in fields}

    def key_check_value(self) -> str:
        """A short public fingerprint of the secret (64 bits, hex).

        HMAC of a fixed label under a derived key: the hub compares it to refuse batches
        made with another key, and learns nothing usable about the secret itself.
        """
        check_key = self.derive("key-check")
        return hmac.new(check_key, KEY_CHECK_LABEL, hashlib.sha256).hexdigest()[:16]


def generate_secret(project: str, *, epoch: int = 1) -> LinkageSecret:
    """Create a new random 256-bit linkage secret for a project (and epoch)."""
    return LinkageSecret(project=project, value=secrets.token_bytes(SECRET_BYTES), epoch=epoch)


def rotate_secret(current: LinkageSecret) -> LinkageSecret:
    """A new random secret for the same project, one epoch after `current`."""
    return generate_secret(current.project, epoch=current.epoch + 1)


@dataclass(frozen=True, slots=True, repr=False)
class ReferenceKey:
    """An agency-local key that turns local record ids into pseudonymous references.

    Only the agency holds it (it is not derived from the shared project secret, which every
    agency knows), so nobody else can recompute a reference from a guessed local id.
    """

    agency: str
    value: bytes

    def __post_init__(self) -> None:
        _require_length(self.value)

    def __repr__(self) -> str:
        return f"ReferenceKey(agency={self.agency!r})"

    __str__ = __repr__

    def reference(self, local_id: str) -> str:
        """Pseudonymous reference for one local record id: a 128-bit MAC as 32 hex digits."""
        return self.references([local_id])[0]

    def references(self, local_ids: Iterable[str]) -> list[str]:
        """References for many local ids (derives the MAC key once)."""
        key = derive_key(self.value, "reference", self.agency)
        # Keyed BLAKE2b is a MAC by design (RFC 7693), and one C call per id.
        return [
            hashlib.blake2b(local_id.encode("utf-8"), key=key, digest_size=16).hexdigest()
            for local_id in local_ids
        ]


def generate_reference_key(agency: str) -> ReferenceKey:
    """Create a new random agency-local reference key."""
    return ReferenceKey(agency=agency, value=secrets.token_bytes(SECRET_BYTES))
