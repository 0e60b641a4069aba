"""Principals (people or systems acting for an agency), their enrolment codes and tokens.

Administrators register principals but never hold their tokens: registering one answers a
one-time enrolment code, which the administrator delivers out of band and the principal
redeems for its own token (`service.routes.enrolment`). Later tokens a principal issues
itself. Since an administrator could redeem the code itself, the principal stays pending
until a second person activates it (service.activation); a new code for a principal makes
it pending again. Administrators can still cut access: revoke a token, disable a principal.
"""

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends
from sqlalchemy.orm import Session

from service import activation, store
from service.auth import Principal as Caller
from service.auth import Role, hash_enrolment_code, hash_token, new_enrolment_code, new_token
from service.deps import AdminDep, DirectoryReaderDep, PrincipalDep, SessionDep, require_role
from service.errors import Conflict, InvalidInput, NotFound, problem_responses
from service.models import Agency, Principal, utcnow
from service.schemas import (
    EnrolmentCreated,
    PrincipalActivate,
    PrincipalCreate,
    PrincipalCreated,
    PrincipalList,
    PrincipalPublic,
    TokenCreated,
    TokenPublic,
)
from service.store import enrolment as enrolment_store

router = APIRouter(prefix="/principals", tags=["principals"])

# Who may be the second person (service.activation decides which principals each may).
ActivatorDep = Annotated[
    Caller, Depends(require_role(Role.ADMINISTRATOR, *activation.AGENCY_VOUCHERS))
]


def issue_token(session: Session, principal_id: uuid.UUID) -> TokenCreated:
    """Add a token for the principal; the raw value exists only in the returned model."""
    raw = new_token()
    token = store.add_token(
        session, principal_id=principal_id, token_hash=hash_token(raw), now=utcnow()
    )
    return TokenCreated(**TokenPublic.model_validate(token).model_dump(), token=raw)


def issue_code(session: Session, principal_id: uuid.UUID, admin_id: uuid.UUID) -> EnrolmentCreated:
    """Add an enrolment code for the principal; the raw code exists only in the answer."""
    raw = new_enrolment_code()
    code = enrolment_store.add_code(
        session,
        principal_id=principal_id,
        code_hash=hash_enrolment_code(raw),
        created_by=admin_id,
        now=utcnow(),
    )
    return EnrolmentCreated(principal_id=principal_id, code=raw, expires_at=code.expires_at)


@router.post("", status_code=201, responses=problem_responses(401, 403, 422))
def create_principal(
    body: PrincipalCreate, admin: AdminDep, session: SessionDep
) -> PrincipalCreated:
    """Register a principal in an agency; its one-time enrolment code is shown this once.

    The principal is pending: once it redeemed the code, a second person activates it.
    """
    if session.get(Agency, body.agency_id) is None:
        raise InvalidInput("agency does not exist")
    principal = store.add_principal(
        session, agency_id=body.agency_id, name=body.name, role=body.role, active=False
    )
    enrolment = issue_code(session, principal.id, admin.principal_id)
    session.commit()
    return PrincipalCreated(
        principal=PrincipalPublic.model_validate(principal), enrolment=enrolment
    )


@router.get("", responses=problem_responses(401, 403))
def list_principals(reader: DirectoryReaderDep, session: SessionDep) -> PrincipalList:
    """List all principals (administrators; auditors, to name them in the log)."""
    principals = store.list_principals(session)
    return PrincipalList(items=[PrincipalPublic.model_validate(item) for item in principals])


@router.get("/pending", responses=problem_responses(401, 403))
def list_pending_principals(caller: ActivatorDep, session: SessionDep) -> PrincipalList:
    """Principals awaiting activation: every one for administrators, the own agency's else."""
    if caller.role is Role.ADMINISTRATOR:
        found = enrolment_store.pending(session)
    else:
        found = [
            item
            for item in enrolment_store.pending(session, agency_id=caller.agency_id)
            if item.role is not Role.ADMINISTRATOR
        ]
    return PrincipalList(items=[PrincipalPublic.model_validate(item) for item in found])


@router.get("/me", responses=problem_responses(401))
def get_own_principal(caller: PrincipalDep, session: SessionDep) -> PrincipalPublic:
    """The caller: name, role and agency (a data officer registers keys for that agency)."""
    return PrincipalPublic.model_validate(session.get_one(Principal, caller.principal_id))


@router.post("/me/tokens", status_code=201, responses=problem_responses(401))
def create_own_token(caller: PrincipalDep, session: SessionDep) -> TokenCreated:
    """Issue the caller another token of its own (a second machine, a renewal), shown once."""
    token = issue_token(session, caller.principal_id)
    session.commit()
    return token


@router.post(
    "/{principal_id}/enrolment",
    status_code=201,
    responses=problem_responses(401, 403, 404, 409, 422),
)
def create_enrolment_code(
    principal_id: uuid.UUID, admin: AdminDep, session: SessionDep
) -> EnrolmentCreated:
    """A new enrolment code for a principal that lost its token, shown this once.

    The principal's tokens and earlier codes stop working at once, so that a code used by
    someone else shows: the principal's own token fails. The principal is pending again
    until a second person activates its new enrolment.
    """
    principal = _find(session, principal_id)
    if principal.disabled_at is not None:
        raise Conflict("the principal is disabled")
    if principal.id == admin.principal_id:
        raise Conflict("an administrator cannot issue itself an enrolment code")
    now = utcnow()
    enrolment_store.revoke_tokens(session, principal.id, now=now)
    enrolment_store.deactivate(session, principal)
    enrolment = issue_code(session, principal.id, admin.principal_id)
    session.commit()
    return enrolment


@router.post("/{principal_id}/activate", responses=problem_responses(401, 403, 404, 409, 422))
def activate_principal(
    principal_id: uuid.UUID, body: PrincipalActivate, caller: ActivatorDep, session: SessionDep
) -> PrincipalPublic:
    """Activate an enrolled principal: the second person, quoting its enrolment check.

    A data officer or key custodian of the principal's agency; an administrator who
    created none of its enrolment codes where that agency has nobody active yet, and for
    administrators (service.activation).
    """
    principal = _find(session, principal_id)
    refused = activation.refusal(session, principal, caller)
    if refused is not None:
        raise refused
    activation.check_matches(activation.candidate(session, principal), body.enrolment_check)
    enrolment_store.activate(session, principal, by=caller.principal_id, now=utcnow())
    session.commit()
    return PrincipalPublic.model_validate(principal)


@router.post("/{principal_id}/disable", responses=problem_responses(401, 403, 404, 409, 422))
def disable_principal(
    principal_id: uuid.UUID, admin: AdminDep, session: SessionDep
) -> PrincipalPublic:
    """Disable a principal: its tokens and codes stop working at once. Twice keeps the first."""
    principal = _find(session, principal_id)
    if principal.id == admin.principal_id:
        raise Conflict("an administrator cannot disable itself")
    enrolment_store.disable(session, principal, now=utcnow())
    session.commit()
    return PrincipalPublic.model_validate(principal)


@router.post(
    "/{principal_id}/tokens/{token_id}/revoke", responses=problem_responses(401, 403, 404, 422)
)
def revoke_token(
    principal_id: uuid.UUID, token_id: uuid.UUID, admin: AdminDep, session: SessionDep
) -> TokenPublic:
    """Revoke a token; it stops working at once. Revoking twice keeps the first time."""
    token = store.find_token(session, principal_id=principal_id, token_id=token_id)
    if token is None:
        raise NotFound("token")
    if token.revoked_at is None:
        token.revoked_at = utcnow()
        session.commit()
    return TokenPublic.model_validate(token)


def _find(session: Session, principal_id: uuid.UUID) -> Principal:
    principal = session.get(Principal, principal_id)
    if principal is None:
        raise NotFound("principal")
    return principal
