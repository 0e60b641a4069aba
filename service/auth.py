"""Roles, the authenticated principal, and bearer-token helpers."""

import hashlib
import secrets
import uuid
from dataclasses import dataclass
from datetime import timedelta
from enum import StrEnum

TOKEN_LIFETIME = timedelta(days=100)  # one Field Lab cycle; issue a new token after it


class Role(StrEnum):
    """What a principal may do; DESIGN.md 'Who uses it'."""

    ADMINISTRATOR = "administrator"
    DATA_OFFICER = "data_officer"
    ANALYST = "analyst"
    AUDITOR = "auditor"


@dataclass(frozen=True, slots=True)
class Principal:
    """The caller, as established from a valid bearer token."""

    principal_id: uuid.UUID
    agency_id: uuid.UUID
    role: Role


def new_token() -> str:
    """A fresh 256-bit bearer token, URL-safe."""
    return secrets.token_urlsafe(32)


def hash_token(token: str) -> str:
    """The digest under which a token is stored and looked up."""
    # Tokens are 256-bit random, so there is nothing to brute-force and a fast hash is enough;
    # password hashes (argon2, bcrypt) exist for low-entropy secrets. We store only this
    # digest, never the token (anonlink-entity-service stored and compared them in plaintext).
    return hashlib.sha256(token.encode()).hexdigest()
