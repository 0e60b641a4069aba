"""Roles, the authenticated principal, bearer tokens and one-time enrolment codes.

A principal's tokens are issued to that principal only: the first through an enrolment
code that an administrator creates and delivers out of band (by phone, on paper), which
the principal redeems once for its own token; later ones by the principal itself.

Redeeming answers an **enrolment check** as well (`enrolment_check`): a short value
derived from the new token, which the principal reads out to the second person who
activates it (service.activation). Whoever redeemed a code meant for someone else holds
another token, hence another check, and the real principal holds none: the second person
notices before the token works.
"""

import base64
import hashlib
import hmac
import secrets
import uuid
from dataclasses import dataclass
from datetime import timedelta
from enum import StrEnum

TOKEN_LIFETIME = timedelta(days=100)  # one Field Lab cycle; issue a new token after it
ENROLMENT_LIFETIME = timedelta(hours=24)  # an enrolment code is redeemed the same day
_CODE_BYTES = 15  # 120 bits: 24 base32 characters, read out in groups of four
_CODE_LABEL = b"fieldlink-enrolment/1\n"
_CHECK_LABEL = b"fieldlink-enrolment-check/1\n"
_CHECK_BYTES = 5  # 40 bits: 8 base32 characters, read out in two groups of four


class Role(StrEnum):
    """What a principal may do (docs/security.md, roles)."""

    ADMINISTRATOR = "administrator"
    DATA_OFFICER = "data_officer"
    ANALYST = "analyst"
    AUDITOR = "auditor"
    # Deposits the project secret wrapped for each agency (docs/architecture.md, the flow);
    # holds no data rights, like an administrator.
    KEY_CUSTODIAN = "key_custodian"


@dataclass(frozen=True, slots=True)
class Principal:
    """The caller, as established from a valid bearer token."""

    principal_id: uuid.UUID
    agency_id: uuid.UUID
    role: Role
    token_id: uuid.UUID | None = None  # the token that authenticated it (for the audit log)


def new_token() -> str:
    """A fresh 256-bit bearer token, URL-safe."""
    return secrets.token_urlsafe(32)


def hash_token(token: str) -> str:
    """The digest under which a token is stored and looked up."""
    # Tokens are 256-bit random, so there is nothing to brute-force and a fast hash is enough;
    # password hashes (argon2, bcrypt) exist for low-entropy secrets. We store only this
    # digest, never the token (anonlink-entity-service stored and compared them in plaintext).
    return hashlib.sha256(token.encode()).hexdigest()


def new_enrolment_code() -> str:
    """A fresh one-time enrolment code, e.g. `K7QF-2M4D-...`: 120 random bits in base32."""
    text = base64.b32encode(secrets.token_bytes(_CODE_BYTES)).decode("ascii")
    return "-".join(text[start : start + 4] for start in range(0, len(text), 4))


def hash_enrolment_code(code: str) -> str:
    """The digest under which an enrolment code is stored; dashes, spaces and case ignored."""
    normalised = "".join(code.split()).replace("-", "").upper()
    return hashlib.sha256(_CODE_LABEL + normalised.encode("utf-8")).hexdigest()


def enrolment_check(token_hash: str) -> str:
    """The enrolment check of a token, from its stored digest: e.g. `K7QF-2M4D`.

    Not a secret against guessing (whoever activates already has that right); it binds
    the activation to the token the real principal holds. Derived from the digest, so the
    hub computes it again at activation without ever holding the token.
    """
    digest = hashlib.sha256(_CHECK_LABEL + token_hash.encode("ascii")).digest()
    text = base64.b32encode(digest[:_CHECK_BYTES]).decode("ascii")
    return f"{text[:4]}-{text[4:]}"


def same_enrolment_check(expected: str, given: str) -> bool:
    """Whether a check as read out (dashes, spaces and case ignored) is the expected one."""
    normalised = "".join(given.split()).replace("-", "").upper()
    wanted = expected.replace("-", "")
    return hmac.compare_digest(normalised.encode("ascii", "replace"), wanted.encode("ascii"))
