"""Suspect notes sealed at rest: AES-256-GCM under the hub's storage key, like batches.

A note is the team's free text about a person and may name one, so the database holds it
only sealed: `fl-note/1:<key id>:<base64 of nonce + ciphertext>`, bound to its project and
hit (a sealed note copied onto another suspect does not open). An empty note stays empty.
Notes stored in plain before are sealed by `fieldlink hub init` (`reseal_notes`), and read
as they are until then. Storage key rotation reseals them with the batches.

Notes are visible to the project's team: its analysts, who write them, and its auditors,
who may read the suspect list (and its exports, where notes leave the hub).
"""

import base64
import secrets
import uuid

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from sqlalchemy import select
from sqlalchemy.orm import Session

from service.hub_keys import Keyring
from service.models import Suspect
from service.vault import VaultError

PREFIX = "fl-note/1:"
_LABEL = b"fieldlink-note/1\n"
_NONCE_BYTES = 12


def seal_note(text: str, *, keyring: Keyring, project_id: uuid.UUID, hit_id: uuid.UUID) -> str:
    """The note as stored: sealed under the active storage key ("" stays "")."""
    if not text:
        return ""
    nonce = secrets.token_bytes(_NONCE_BYTES)
    sealed = AESGCM(keyring.active).encrypt(
        nonce, text.encode("utf-8"), _associated(project_id, hit_id)
    )
    encoded = base64.b64encode(nonce + sealed).decode("ascii")
    return f"{PREFIX}{keyring.active_id}:{encoded}"


def open_note(stored: str, *, keyring: Keyring, project_id: uuid.UUID, hit_id: uuid.UUID) -> str:
    """The note's text; VaultError when it is altered or its key is not loaded."""
    if not stored.startswith(PREFIX):
        return stored  # stored in plain before notes were sealed; `reseal_notes` seals it
    key_id, _, encoded = stored.removeprefix(PREFIX).partition(":")
    if key_id not in keyring.keys:
        raise VaultError(f"a suspect note is sealed with storage key {key_id}, not loaded")
    try:
        raw = base64.b64decode(encoded, validate=True)
        plain = AESGCM(keyring.keys[key_id]).decrypt(
            raw[:_NONCE_BYTES], raw[_NONCE_BYTES:], _associated(project_id, hit_id)
        )
    except (ValueError, InvalidTag) as err:
        raise VaultError("a suspect note fails authentication") from err
    return plain.decode("utf-8")


def suspect_note(suspect: Suspect, keyring: Keyring) -> str:
    """A stored suspect's note, opened."""
    return open_note(
        suspect.note, keyring=keyring, project_id=suspect.project_id, hit_id=suspect.hit_id
    )


def reseal_notes(session: Session, keyring: Keyring) -> int:
    """Seal every note in plain, or under another key, with the active key; flushes.

    Returns:
        How many notes were sealed anew.
    """
    current = f"{PREFIX}{keyring.active_id}:"
    query = select(Suspect).where(Suspect.note != "", ~Suspect.note.startswith(current))
    moved = 0
    for suspect in session.scalars(query):
        text = suspect_note(suspect, keyring)
        suspect.note = seal_note(
            text, keyring=keyring, project_id=suspect.project_id, hit_id=suspect.hit_id
        )
        moved += 1
    session.flush()
    return moved


def _associated(project_id: uuid.UUID, hit_id: uuid.UUID) -> bytes:
    return _LABEL + project_id.bytes + hit_id.bytes
