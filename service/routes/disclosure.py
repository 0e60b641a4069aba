"""Sealed disclosure: the team fetches hit members' envelopes; data officers approve.

Envelopes are released only to analysts on the project's team, only for members of a hit
that spans at least the project's k agencies, and each release is audited with the number
of envelopes released. Where the project requires step-up approval, a member's envelope
is released only once a data officer of its agency approved that hit; approvals are
audited too. The hub relays sealed bytes it cannot open; the team opens them locally.
"""

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, Request, Response
from sqlalchemy.orm import Session

from service.audit import note_subject
from service.auth import Role
from service.deps import DataOfficerDep, PrincipalDep, ProjectAccessDep, SessionDep, require_role
from service.disclosure import Release, Withheld, release
from service.errors import Conflict, NotFound, problem_responses
from service.models import DisclosureApproval, Project, Run, RunStatus, utcnow
from service.run_access import AnalystProjectDep, own_agency, project_for
from service.schemas import (
    INT32_MAX,
    ApprovalList,
    ApprovalPublic,
    EnvelopeRelease,
    EnvelopeReleaseCreate,
    EnvelopeReleaseList,
    ReleasedEnvelopePublic,
)
from service.store import disclosure as store
from service.store.runs import find_run, uploads_of

router = APIRouter(prefix="/projects/{project_id}/runs/{run_id}", tags=["disclosure"])

HitNumber = Annotated[int, Path(ge=1, le=INT32_MAX, description="the hit's number in its run")]
ApprovalReaderDep = Annotated[
    Project, Depends(project_for(require_role(Role.ANALYST, Role.DATA_OFFICER)))
]
_PROBLEMS = problem_responses(401, 403, 404, 409, 410, 422)
_APPROVED: dict[int | str, dict[str, Any]] = {
    200: {"model": ApprovalPublic, "description": "The agency had approved this hit already"}
}


@router.post("/hits/{number}/envelopes", responses=_PROBLEMS)
def release_hit_envelopes(
    run_id: uuid.UUID,
    number: HitNumber,
    project: AnalystProjectDep,
    session: SessionDep,
    request: Request,
) -> EnvelopeRelease:
    """Release the sealed envelopes of one hit's members to the team."""
    return _release(request, session, project, run_id, [number])[0]


@router.post("/envelopes", responses=_PROBLEMS)
def release_envelopes(
    run_id: uuid.UUID,
    body: EnvelopeReleaseCreate,
    project: AnalystProjectDep,
    session: SessionDep,
    request: Request,
) -> EnvelopeReleaseList:
    """Release the envelopes of several hits at once (each stored batch is read once)."""
    return EnvelopeReleaseList(items=_release(request, session, project, run_id, body.hits))


@router.post("/hits/{number}/approvals", status_code=201, responses=_APPROVED | _PROBLEMS)
def approve_disclosure(
    run_id: uuid.UUID,
    number: HitNumber,
    officer: DataOfficerDep,
    project: ProjectAccessDep,
    session: SessionDep,
    response: Response,
) -> ApprovalPublic:
    """Approve releasing the own agency's envelopes of one hit (answered 200 if done before).

    `number` is the hit's number among the agency's own hits, as the officer's pages show it.
    """
    run = _finished_run(session, project, run_id)
    in_run = store.run_hit_number(session, run.id, officer.agency_id, number)
    hit = None if in_run is None else store.hits_with_members(session, run.id, [in_run])[in_run]
    if hit is None or officer.agency_id not in hit.agency_ids:
        raise NotFound("hit")  # a hit without the own agency answers like an absent one
    approval, created = store.add_approval(
        session,
        DisclosureApproval(
            hit_id=hit.id,
            agency_id=officer.agency_id,
            run_id=run.id,
            approved_by=officer.principal_id,
            approved_at=utcnow(),
        ),
    )
    session.commit()
    if not created:
        response.status_code = 200
    agency = next(m.agency for m in hit.members if m.agency_id == officer.agency_id)
    return _approval(hit.id, number, agency, approval)


@router.get("/approvals", responses=_PROBLEMS)
def list_approvals(
    run_id: uuid.UUID,
    project: ApprovalReaderDep,
    principal: PrincipalDep,
    session: SessionDep,
    pending: Annotated[bool, Query(description="only agencies that have not approved")] = False,
    after: Annotated[
        int, Query(ge=0, le=INT32_MAX, description="the last hit number of the page before")
    ] = 0,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> ApprovalList:
    """Per hit and agency, whether it approved disclosure.

    Data officers see their own agency only, with hits numbered among its own hits.
    """
    run = _finished_run(session, project, run_id)
    agency = own_agency(principal)
    if agency is None:
        numbers = store.approval_page(session, run.id, agency_id=None, after=after, limit=limit)
        shown = {number: number for number in numbers}  # run number -> number shown
    else:
        shown = store.own_hit_numbers(session, run.id, agency, after=after, limit=limit)
    hits = store.hits_with_members(session, run.id, list(shown))
    approvals = store.approvals_of(session, [hit.id for hit in hits.values()])
    items = [
        _approval(
            hit.id, shown[number], member.agency, approvals.get(hit.id, {}).get(member.agency_id)
        )
        for number, hit in sorted(hits.items())
        for member in _one_per_agency(hit, agency)
    ]
    session.close()  # read only: hand the connection back before the answer goes out
    if pending:  # without required approval nothing waits for one
        items = [i for i in items if not i.approved] if project.disclosure_approval else []
    next_after = max(shown.values()) if len(shown) == limit else None
    return ApprovalList(required=project.disclosure_approval, items=items, next_after=next_after)


def _release(
    request: Request, session: Session, project: Project, run_id: uuid.UUID, numbers: list[int]
) -> list[EnvelopeRelease]:
    note_subject(request, run_id=None, hits=numbers)  # the run is in the path
    run = _finished_run(session, project, run_id)
    hits = store.hits_with_members(session, run.id, numbers)
    missing = [number for number in numbers if number not in hits]
    if missing:
        raise NotFound(f"hit {missing[0]}")
    k = max(project.min_agencies, run.min_agencies)
    if any(hit.agency_count < k for hit in hits.values()):
        raise Conflict(f"a hit spans fewer than the project's {k} agencies")
    ordered = [hits[number] for number in dict.fromkeys(numbers)]
    approved = None
    if project.disclosure_approval:
        found = store.approvals_of(session, [hit.id for hit in ordered])
        approved = {hit_id: set(by_agency) for hit_id, by_agency in found.items()}
    uploads = uploads_of(session, run)
    # Hand the connection back before the stored batches are read and decrypted.
    session.close()
    releases = release(
        ordered,
        run=run,
        uploads=uploads,
        approved=approved,
        objects=request.app.state.objects,
        keyring=request.app.state.hub_keys.storage,
    )
    request.state.audit_records = sum(len(item.envelopes) for item in releases)
    return [_public(run.id, item) for item in releases]


def _finished_run(session: Session, project: Project, run_id: uuid.UUID) -> Run:
    run = find_run(session, project.id, run_id)
    if run is None:
        raise NotFound("run")
    if run.status is not RunStatus.SUCCEEDED:
        raise Conflict(f"the run is {run.status.value}; hits exist once it has succeeded")
    return run


def _public(run_id: uuid.UUID, item: Release) -> EnvelopeRelease:
    return EnvelopeRelease(
        run_id=run_id,
        hit_id=item.hit.id,
        hit_number=item.hit.number,
        envelopes=[ReleasedEnvelopePublic.model_validate(doc) for doc in item.envelopes],
        pending_agencies=item.agencies(Withheld.PENDING),
        unsealed_agencies=item.agencies(Withheld.UNSEALED),
        unavailable_agencies=item.agencies(Withheld.UNAVAILABLE),
    )


def _one_per_agency(hit: store.HitMembers, agency_id: uuid.UUID | None) -> list[store.Member]:
    firsts = {member.agency_id: member for member in reversed(hit.members)}
    return sorted(
        (m for m in firsts.values() if agency_id is None or m.agency_id == agency_id),
        key=lambda member: member.agency,
    )


def _approval(
    hit_id: uuid.UUID, number: int, agency: str, approval: DisclosureApproval | None
) -> ApprovalPublic:
    return ApprovalPublic(
        hit_id=hit_id,
        hit_number=number,
        agency=agency,
        approved=approval is not None,
        approved_by=approval.approved_by if approval else None,
        approved_at=approval.approved_at if approval else None,
    )
