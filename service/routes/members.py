"""A project's team under dual control: an administrator proposes, a second person confirms.

Every member role carries data rights (hits, runs, uploads' metadata), so one administrator
alone never puts anyone on a team: a proposed member is pending, and grants nothing, until
a data officer of one of the project's agencies confirms it (another administrator where
those agencies have no active data officer), never one the proposer registered or gave an
enrolment code (`store.members.may_confirm`). Removing a member takes one administrator
and is effective with the next request the member makes.
"""

import uuid

from fastapi import APIRouter
from sqlalchemy.orm import Session

from service.auth import Role
from service.deps import (
    AdminDep,
    AdminProjectDep,
    PrincipalDep,
    SessionDep,
    VisibleProjectDep,
    get_visible_project,
    refuse_expired,
)
from service.errors import AccessDenied, Conflict, InvalidInput, NotFound, problem_responses
from service.models import Principal, ProjectMember, utcnow
from service.schemas import MemberCreate, MemberList, MemberPublic, PrincipalPublic
from service.store import members as store

router = APIRouter(prefix="/projects/{project_id}/members", tags=["projects"])


@router.post("", status_code=202, responses=problem_responses(401, 403, 404, 409, 410, 422))
def add_member(
    body: MemberCreate, project: AdminProjectDep, admin: AdminDep, session: SessionDep
) -> MemberPublic:
    """Propose a principal for the project's team; pending until a second person confirms."""
    principal = session.get(Principal, body.principal_id)
    if principal is None:
        raise InvalidInput("principal does not exist")
    if principal.role in (Role.ADMINISTRATOR, Role.KEY_CUSTODIAN):
        raise InvalidInput("administrators and key custodians hold no data rights")
    if principal.disabled_at is not None:
        raise InvalidInput("the principal is disabled")
    if store.find(session, project.id, principal.id) is not None:
        raise Conflict("already a member, or proposed already")
    membership = store.propose(
        session,
        project_id=project.id,
        principal_id=principal.id,
        added_by=admin.principal_id,
        now=utcnow(),
    )
    session.commit()
    return _public(principal, membership)


@router.get("", responses=problem_responses(401, 404, 410, 422))
def list_members(project: VisibleProjectDep, session: SessionDep) -> MemberList:
    """List the project's team, pending members included."""
    rows = store.list_members(session, project.id)
    return MemberList(items=[_public(row.principal, row.membership) for row in rows])


@router.post("/{principal_id}/confirm", responses=problem_responses(401, 403, 404, 409, 410, 422))
def confirm_member(
    principal_id: uuid.UUID, project_id: uuid.UUID, caller: PrincipalDep, session: SessionDep
) -> MemberPublic:
    """Confirm a proposed member: the second person of dual control.

    A data officer of one of the project's agencies confirms; another administrator where
    those agencies have no data officer.
    """
    if caller.role not in (Role.DATA_OFFICER, Role.ADMINISTRATOR):
        raise AccessDenied()
    project = get_visible_project(project_id, session, caller)
    refuse_expired(project.expires_at)
    membership = _membership(session, project.id, principal_id)
    if membership.confirmed_at is not None:
        raise Conflict("the membership is confirmed already")
    if not store.may_confirm(session, project, membership, caller):
        raise AccessDenied(
            "a second person confirms: not the proposer, not the member, and nobody the "
            "proposer registered or gave an enrolment code"
        )
    store.confirm(session, membership, by=caller.principal_id, now=utcnow())
    session.commit()
    return _public(session.get_one(Principal, principal_id), membership)


@router.delete("/{principal_id}", status_code=204, responses=problem_responses(401, 403, 404, 422))
def remove_member(
    principal_id: uuid.UUID, project_id: uuid.UUID, admin: AdminDep, session: SessionDep
) -> None:
    """Take a principal off the team (pending or confirmed); effective at once, expired or not."""
    project = get_visible_project(project_id, session, admin)
    if not store.remove(session, project_id=project.id, principal_id=principal_id):
        raise NotFound("member")
    session.commit()


def _membership(session: Session, project_id: uuid.UUID, principal_id: uuid.UUID) -> ProjectMember:
    membership = store.find(session, project_id, principal_id)
    if membership is None:
        raise NotFound("member")
    return membership


def _public(principal: Principal, membership: ProjectMember) -> MemberPublic:
    return MemberPublic(
        **PrincipalPublic.model_validate(principal).model_dump(),
        status="pending" if membership.confirmed_at is None else "confirmed",
        added_by=membership.added_by,
        added_at=membership.added_at,
        confirmed_by=membership.confirmed_by,
        confirmed_at=membership.confirmed_at,
    )
