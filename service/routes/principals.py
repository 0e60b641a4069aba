"""Principals (people or systems acting for an agency) and their bearer tokens."""

import uuid

from fastapi import APIRouter
from sqlalchemy.orm import Session

from service import store
from service.auth import hash_token, new_token
from service.deps import AdminDep, PrincipalDep, SessionDep
from service.errors import InvalidInput, NotFound, problem_responses
from service.models import Agency, Principal, utcnow
from service.schemas import (
    PrincipalCreate,
    PrincipalCreated,
    PrincipalList,
    PrincipalPublic,
    TokenCreated,
    TokenPublic,
)

router = APIRouter(prefix="/principals", tags=["principals"])


def issue_token(session: Session, principal_id: uuid.UUID) -> TokenCreated:
    """Add a token for the principal; the raw value exists only in the returned model."""
    raw = new_token()
    token = store.add_token(
        session, principal_id=principal_id, token_hash=hash_token(raw), now=utcnow()
    )
    return TokenCreated(**TokenPublic.model_validate(token).model_dump(), token=raw)


@router.post("", status_code=201, responses=problem_responses(401, 403, 422))
def create_principal(
    body: PrincipalCreate, admin: AdminDep, session: SessionDep
) -> PrincipalCreated:
    """Register a principal in an agency and issue its first token, shown this once."""
    if session.get(Agency, body.agency_id) is None:
        raise InvalidInput("agency does not exist")
    principal = store.add_principal(
        session, agency_id=body.agency_id, name=body.name, role=body.role
    )
    token = issue_token(session, principal.id)
    session.commit()
    return PrincipalCreated(principal=PrincipalPublic.model_validate(principal), token=token)


@router.get("", responses=problem_responses(401, 403))
def list_principals(admin: AdminDep, session: SessionDep) -> PrincipalList:
    """List all principals."""
    principals = store.list_principals(session)
    return PrincipalList(items=[PrincipalPublic.model_validate(item) for item in principals])


@router.get("/me", responses=problem_responses(401))
def get_own_principal(caller: PrincipalDep, session: SessionDep) -> PrincipalPublic:
    """The caller: name, role and agency (a data officer registers keys for that agency)."""
    return PrincipalPublic.model_validate(session.get_one(Principal, caller.principal_id))


@router.post(
    "/{principal_id}/tokens", status_code=201, responses=problem_responses(401, 403, 404, 422)
)
def create_token(principal_id: uuid.UUID, admin: AdminDep, session: SessionDep) -> TokenCreated:
    """Issue another token for a principal, shown this once."""
    if session.get(Principal, principal_id) is None:
        raise NotFound("principal")
    token = issue_token(session, principal_id)
    session.commit()
    return token


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
