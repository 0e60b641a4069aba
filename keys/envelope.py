"""Sealed disclosure envelopes: per-record details only the project team can open.

An agency seals, for each record of a batch, a small JSON object of the details it is
willing to disclose should the record be part of a hit (names, date of birth, its own case
number) to the team's public key. The hub stores and relays the sealed bytes and the
batch's ephemeral public key; it cannot open them.

Cheap enough for a million records: one ephemeral X25519 agreement per batch, then per
record one HKDF-Expand and one AES-256-GCM encryption. The record key is
HKDF-SHA256(ikm = shared secret, salt = ephemeral key || team key,
info = context("envelope", project, agency, reference)), with the extract step done once
per batch; the associated data binds format, project, agency, team key id, ephemeral key
and the record's reference. An envelope moved to another record, batch, agency or project
therefore fails to open with `TamperedEnvelope`.

The plaintext is padded with spaces to a multiple of 64 bytes, so the sealed size shows
the hub only a coarse length, not the length of a name.

Sealed bytes: version (1 byte, 1) || nonce (12 bytes) || AES-GCM ciphertext and tag.
"""

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass, field

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from keys.derivation import context_info, hkdf_expand, hkdf_extract
from keys.errors import KeyMaterialError, TamperedEnvelope
from keys.keypair import KEY_BYTES, KeyKind, KeyPair, PublicKey

ENVELOPE_FORMAT = "fieldlink-envelope/1"
VERSION = 1
NONCE_BYTES = 12
TAG_BYTES = 16
PAD_BYTES = 64
MAX_DETAILS_BYTES = 2048  # the JSON of one record's details, padded
MAX_SEALED_BYTES = 1 + NONCE_BYTES + MAX_DETAILS_BYTES + TAG_BYTES
_JSON = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"))  # made once: dumps is slower
_TAMPERED = (
    "envelope failed authentication: it was altered, or moved from another record, "
    "batch, agency or project"
)


@dataclass(frozen=True, slots=True, repr=False)
class EnvelopeKeys:
    """One batch's envelope keys, as the sealing agency and as the team derive them.

    Build with `sealing_keys` (agency side: makes the batch's ephemeral key) or
    `opening_keys` (team side: from the team's private key and the batch's ephemeral key).
    `repr` shows only public labels.
    """

    project: str
    agency: str
    team_key_id: str
    ephemeral_key: bytes  # the batch's ephemeral X25519 public key (public, 32 bytes)
    prk: bytes  # HKDF pseudorandom key of the batch's shared secret (secret)
    _key_info: bytes = field(init=False)
    _aad: bytes = field(init=False)

    def __post_init__(self) -> None:
        info = context_info("envelope", self.project, self.agency)
        aad = context_info(
            "envelope-aad",
            ENVELOPE_FORMAT,
            self.project,
            self.agency,
            self.team_key_id,
            self.ephemeral_key.hex(),
        )
        object.__setattr__(self, "_key_info", info)
        object.__setattr__(self, "_aad", aad)

    def __repr__(self) -> str:
        return (
            f"EnvelopeKeys(project={self.project!r}, agency={self.agency!r}, "
            f"team_key_id={self.team_key_id!r})"
        )

    __str__ = __repr__

    def record_key(self, reference: str) -> bytes:
        """The AES-256 key of one record's envelope (HKDF-Expand with the reference)."""
        return hkdf_expand(self.prk, info=extend_info(self._key_info, reference), length_bytes=32)

    def associated_data(self, reference: str) -> bytes:
        """What AES-GCM authenticates with one record's envelope."""
        return extend_info(self._aad, reference)

    def seal(self, reference: str, details: Mapping[str, str]) -> bytes:
        """Seal one record's details (field -> text) for the team.

        Raises:
            ValueError: The details, as JSON, exceed MAX_DETAILS_BYTES (no value is shown).
        """
        padded = pad(_JSON.encode(dict(details)).encode("utf-8"))
        if len(padded) > MAX_DETAILS_BYTES:
            raise ValueError(f"envelope details exceed {MAX_DETAILS_BYTES} bytes")
        nonce = os.urandom(NONCE_BYTES)
        cipher = AESGCM(self.record_key(reference))
        return (
            bytes([VERSION])
            + nonce
            + cipher.encrypt(nonce, padded, self.associated_data(reference))
        )

    def open(self, reference: str, sealed: bytes) -> dict[str, str]:
        """Open one record's envelope.

        Raises:
            TamperedEnvelope: Altered, truncated, or sealed for another record, batch,
                agency, project or team key. Nothing is returned from such an envelope.
        """
        if (
            not 1 + NONCE_BYTES + TAG_BYTES <= len(sealed) <= MAX_SEALED_BYTES
            or sealed[0] != VERSION
        ):
            raise TamperedEnvelope("envelope rejected: not a version 1 sealed envelope")
        nonce, ciphertext = sealed[1 : 1 + NONCE_BYTES], sealed[1 + NONCE_BYTES :]
        try:
            cipher = AESGCM(self.record_key(reference))
            plaintext = cipher.decrypt(nonce, ciphertext, self.associated_data(reference))
        except InvalidTag as err:
            raise TamperedEnvelope(_TAMPERED) from err
        return _details(plaintext)


def sealing_keys(team: PublicKey, *, project: str, agency: str) -> EnvelopeKeys:
    """Fresh envelope keys for one batch: a new ephemeral key agreed with the team's key.

    Args:
        team: The project team's public key (a team key; an agency key is refused).
        project: The project label the envelopes are bound to.
        agency: The sealing agency.
    """
    if team.kind is not KeyKind.TEAM:
        raise KeyMaterialError("envelopes are sealed to a team key, not to an agency key")
    ephemeral = X25519PrivateKey.generate()
    public = ephemeral.public_key().public_bytes_raw()
    shared = ephemeral.exchange(team.x25519())
    return EnvelopeKeys(
        project=project,
        agency=agency,
        team_key_id=team.key_id,
        ephemeral_key=public,
        prk=hkdf_extract(shared, salt=public + team.key),
    )


def opening_keys(
    team: KeyPair,
    *,
    ephemeral_key: bytes,
    project: str,
    agency: str,
    team_key_id: str | None = None,
) -> EnvelopeKeys:
    """The envelope keys of one batch, derived with the team's private key.

    Args:
        team: The team's key pair.
        ephemeral_key: The batch's ephemeral public key (from its metadata).
        project: The project the team expects.
        agency: The agency the batch belongs to.
        team_key_id: The team key id the batch states; when given, it must be this key's.

    Raises:
        TamperedEnvelope: The batch was sealed for another team key, or its ephemeral key
            is not a usable X25519 public key.
    """
    if team.kind is not KeyKind.TEAM:
        raise KeyMaterialError("envelopes open with a team key, not with an agency key")
    if team_key_id is not None and team_key_id != team.key_id:
        raise TamperedEnvelope(f"envelopes are sealed for another team key, not {team.key_id}")
    if len(ephemeral_key) != KEY_BYTES:
        raise TamperedEnvelope("envelope rejected: the batch's ephemeral key is malformed")
    try:
        shared = team.x25519().exchange(X25519PublicKey.from_public_bytes(ephemeral_key))
    except ValueError as err:  # a low-order point: no shared secret
        raise TamperedEnvelope("envelope rejected: the batch's ephemeral key is unusable") from err
    return EnvelopeKeys(
        project=project,
        agency=agency,
        team_key_id=team.key_id,
        ephemeral_key=ephemeral_key,
        prk=hkdf_extract(shared, salt=ephemeral_key + team.public.key),
    )


def extend_info(info: bytes, label: str) -> bytes:
    """`context_info(purpose, *labels, label)` from `context_info(purpose, *labels)`."""
    encoded = label.encode("utf-8")
    return info + len(encoded).to_bytes(2, "big") + encoded


def pad(plaintext: bytes) -> bytes:
    """Pad with spaces (which JSON ignores) to a multiple of PAD_BYTES."""
    return plaintext + b" " * (-len(plaintext) % PAD_BYTES)


def _details(plaintext: bytes) -> dict[str, str]:
    try:
        details = json.loads(plaintext.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as err:
        raise TamperedEnvelope("envelope content is not JSON") from err
    if not isinstance(details, dict) or not all(
        isinstance(key, str) and isinstance(value, str) for key, value in details.items()
    ):
        raise TamperedEnvelope("envelope content is not a set of text fields")
    return details
