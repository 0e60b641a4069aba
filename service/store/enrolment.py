"""Enrolment codes and disabled principals. Flushes at most; the calling route commits.

A code is stored as its digest (`auth.hash_enrolment_code`), lives `auth.ENROLMENT_LIFETIME`
and is spent by a conditional UPDATE, so two redemptions of one code cannot both win.
"""

import uuid
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from service import auth
from service.models import ApiToken, EnrolmentCode, Principal


def add_code(
    session: Session,
    *,
    principal_id: uuid.UUID,
    code_hash: str,
    created_by: uuid.UUID,
    now: datetime,
) -> EnrolmentCode:
    """Add a code for the principal; its earlier unspent codes stop working."""
    spend_open_codes(session, principal_id, now=now)
    code = EnrolmentCode(
        principal_id=principal_id,
        code_hash=code_hash,
        created_by=created_by,
        created_at=now,
        expires_at=now + auth.ENROLMENT_LIFETIME,
    )
    session.add(code)
    session.flush()
    return code


def find_live_code(session: Session, code_hash: str, *, now: datetime) -> EnrolmentCode | None:
    """The unspent, unexpired code with this digest, of an enabled principal."""
    query = (
        select(EnrolmentCode)
        .join(Principal, Principal.id == EnrolmentCode.principal_id)
        .where(
            EnrolmentCode.code_hash == code_hash,
            EnrolmentCode.redeemed_at.is_(None),
            EnrolmentCode.expires_at > now,
            Principal.disabled_at.is_(None),
        )
    )
    return session.scalars(query).one_or_none()


def spend(session: Session, code: EnrolmentCode, *, now: datetime) -> bool:
    """Mark the code used; False when a concurrent redemption used it first."""
    result = session.execute(
        update(EnrolmentCode)
        .where(EnrolmentCode.id == code.id, EnrolmentCode.redeemed_at.is_(None))
        .values(redeemed_at=now)
        .execution_options(synchronize_session=False)
    )
    return getattr(result, "rowcount", 0) == 1


def spend_open_codes(session: Session, principal_id: uuid.UUID, *, now: datetime) -> None:
    """Make every unspent code of the principal unusable."""
    session.execute(
        update(EnrolmentCode)
        .where(EnrolmentCode.principal_id == principal_id, EnrolmentCode.redeemed_at.is_(None))
        .values(redeemed_at=now)
        .execution_options(synchronize_session=False)
    )


def revoke_tokens(session: Session, principal_id: uuid.UUID, *, now: datetime) -> None:
    """Revoke every live token of the principal."""
    session.execute(
        update(ApiToken)
        .where(ApiToken.principal_id == principal_id, ApiToken.revoked_at.is_(None))
        .values(revoked_at=now)
        .execution_options(synchronize_session=False)
    )


def disable(session: Session, principal: Principal, *, now: datetime) -> None:
    """Disable a principal: its tokens and codes stop working at once; the row stays."""
    if principal.disabled_at is None:
        principal.disabled_at = now
    revoke_tokens(session, principal.id, now=now)
    spend_open_codes(session, principal.id, now=now)
    session.flush()
