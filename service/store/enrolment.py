"""Enrolment codes, activation and disabled principals. Flushes at most; the route commits.

A code is stored as its digest (`auth.hash_enrolment_code`), lives `auth.ENROLMENT_LIFETIME`
and is spent by a conditional UPDATE, so two redemptions of one code cannot both win. Who
may activate an enrolled principal is decided in service.activation, from the reads here.
"""

import uuid
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import ColumnElement, select, update
from sqlalchemy.orm import Session

from service import auth
from service.auth import Role
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


def enrolled_token(session: Session, principal_id: uuid.UUID) -> ApiToken | None:
    """The live token the principal's latest enrolment code was redeemed for, if any.

    None when its latest code is unredeemed (or was replaced), or that token was revoked.
    """
    latest = session.scalars(
        select(EnrolmentCode)
        .where(EnrolmentCode.principal_id == principal_id)
        .order_by(EnrolmentCode.created_at.desc(), EnrolmentCode.id.desc())
        .limit(1)
    ).first()
    if latest is None or latest.token_id is None:
        return None
    token = session.get(ApiToken, latest.token_id)
    return token if token is not None and token.revoked_at is None else None


def code_creators(session: Session, principal_id: uuid.UUID) -> set[uuid.UUID]:
    """The administrators who ever created an enrolment code for the principal.

    Any of them could have redeemed one: none of them is a second person for it.
    """
    query = select(EnrolmentCode.created_by).where(EnrolmentCode.principal_id == principal_id)
    return set(session.scalars(query.distinct()))


def activate(
    session: Session, principal: Principal, *, by: uuid.UUID | None, now: datetime
) -> None:
    """Mark the principal activated (by a principal id; None: the hub operator)."""
    principal.activated_at, principal.activated_by = now, by
    session.flush()


def deactivate(session: Session, principal: Principal) -> None:
    """Make the principal pending again (a new enrolment needs a new activation)."""
    principal.activated_at = principal.activated_by = None
    session.flush()


def has_active(
    session: Session,
    roles: Sequence[Role],
    *,
    agency_id: uuid.UUID | None = None,
    excluding: Sequence[uuid.UUID] = (),
) -> bool:
    """Whether an active, enabled principal of these roles (and agency) exists, others aside."""
    conditions: list[ColumnElement[bool]] = [
        Principal.role.in_(list(roles)),
        *_active(),
    ]
    if agency_id is not None:
        conditions.append(Principal.agency_id == agency_id)
    if excluding:
        conditions.append(Principal.id.not_in(list(excluding)))
    found = session.scalars(select(Principal.id).where(*conditions).limit(1)).first()
    return found is not None


def pending(session: Session, *, agency_id: uuid.UUID | None = None) -> Sequence[Principal]:
    """Enabled principals awaiting activation (of one agency), by name."""
    query = select(Principal).where(
        Principal.activated_at.is_(None), Principal.disabled_at.is_(None)
    )
    if agency_id is not None:
        query = query.where(Principal.agency_id == agency_id)
    return session.scalars(query.order_by(Principal.name, Principal.id)).all()


def _active() -> list[ColumnElement[bool]]:
    return [Principal.activated_at.is_not(None), Principal.disabled_at.is_(None)]
