"""Public keys: agencies register theirs, a project's team registers the team key.

Public keys are public data, but who registers them is not free: a data officer registers
the own agency's key only (another agency's answers like an absent one), the team key is
set by an analyst on the team or an administrator. The hub computes every key id itself.
Registering a new key revokes the owner's earlier one: wrapped keys and envelopes made
for it still open with the old private key, new ones are made for the new key.
"""

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Response

from service.auth import Principal, Role
from service.deps import (
    DataOfficerDep,
    SessionDep,
    VisibleProjectDep,
    get_visible_project,
    refuse_expired,
    require_role,
)
from service.errors import InvalidInput, NotFound, problem_responses
from service.models import AgencyKey, KeyKind, Project, utcnow
from service.public_keys import decode_public_key, encode_public_key, key_id_of
from service.schemas import PublicKeyCreate, PublicKeyList, PublicKeyPublic
from service.store import keys as key_store
from service.store.uploads import agency_name

router = APIRouter(tags=["keys"])

_WRITE = problem_responses(401, 403, 404, 410, 422)
_READ = problem_responses(401, 404, 410, 422)
_REGISTERED: dict[int | str, dict[str, Any]] = {
    200: {"model": PublicKeyPublic, "description": "The same key was registered already"}
}
TeamKeySetterDep = Annotated[Principal, Depends(require_role(Role.ANALYST, Role.ADMINISTRATOR))]


def get_team_key_project(
    project_id: uuid.UUID,
    session: SessionDep,
    principal: TeamKeySetterDep,
) -> Project:
    """The project whose team key an analyst on its team, or an administrator, sets."""
    project = get_visible_project(project_id, session, principal)
    refuse_expired(project.expires_at)
    return project


TeamKeyProjectDep = Annotated[Project, Depends(get_team_key_project)]


@router.post("/agencies/{agency_id}/keys", status_code=201, responses=_REGISTERED | _WRITE)
def register_agency_key(
    agency_id: uuid.UUID,
    body: PublicKeyCreate,
    officer: DataOfficerDep,
    session: SessionDep,
    response: Response,
) -> PublicKeyPublic:
    """Register the own agency's public key (its owner label must be the agency's name)."""
    if agency_id != officer.agency_id:
        raise NotFound("agency")  # another agency's answers like an absent one
    agency = agency_name(session, agency_id)
    if body.owner != agency:
        raise InvalidInput(f"the key's owner label must be the agency's name, {agency!r}")
    key = _new_key(body, KeyKind.AGENCY, officer, project_id=None)
    current = key_store.active_key(session, agency_id=agency_id, kind=KeyKind.AGENCY)
    if current is not None and current.key_id == key.key_id:
        response.status_code = 200  # registered already: answered, not registered twice
        return public_key(current)
    key_store.register_key(session, key, now=utcnow())
    session.commit()
    return public_key(key)


@router.get("/projects/{project_id}/keys", responses=_READ)
def list_project_keys(project: VisibleProjectDep, session: SessionDep) -> PublicKeyList:
    """The live public keys of the project's agencies and its team key."""
    keys = key_store.project_keys(session, project)
    return PublicKeyList(items=[public_key(key) for key in keys])


@router.put("/projects/{project_id}/team-key", responses=_WRITE)
def put_team_key(
    body: PublicKeyCreate,
    project: TeamKeyProjectDep,
    principal: TeamKeySetterDep,
    session: SessionDep,
) -> PublicKeyPublic:
    """Set the project's team public key, the one agencies seal envelopes to."""
    key = _new_key(body, KeyKind.TEAM, principal, project_id=project.id)
    current = key_store.active_key(
        session, agency_id=None, kind=KeyKind.TEAM, project_id=project.id
    )
    if current is not None and current.key_id == key.key_id:
        return public_key(current)
    key_store.register_key(session, key, now=utcnow())
    session.commit()
    return public_key(key)


@router.get("/projects/{project_id}/team-key", responses=_READ)
def get_team_key(project: VisibleProjectDep, session: SessionDep) -> PublicKeyPublic:
    """The project's team public key."""
    key = key_store.active_key(session, agency_id=None, kind=KeyKind.TEAM, project_id=project.id)
    if key is None:
        raise NotFound("team key")
    return public_key(key)


def _new_key(
    body: PublicKeyCreate, kind: KeyKind, principal: Principal, *, project_id: uuid.UUID | None
) -> AgencyKey:
    try:
        raw = decode_public_key(body.public_key)
    except ValueError as err:
        raise InvalidInput(str(err)) from err
    return AgencyKey(
        id=uuid.uuid4(),
        agency_id=principal.agency_id,
        project_id=project_id,
        kind=kind,
        owner=body.owner,
        key_id=key_id_of(raw),
        public_key=raw.hex(),
        created_by=principal.principal_id,
        created_at=utcnow(),
    )


def public_key(key: AgencyKey) -> PublicKeyPublic:
    """A stored key as it leaves the hub (base64, like the key files)."""
    return PublicKeyPublic(
        id=key.id,
        kind=key.kind.value,
        owner=key.owner,
        agency_id=key.agency_id,
        project_id=key.project_id,
        key_id=key.key_id,
        public_key=encode_public_key(key.public_key),
        created_at=key.created_at,
        revoked_at=key.revoked_at,
    )
