"""Retention: purging an expired project's data, and the signed receipt the agencies fetch.

An administrator purges (`fieldlink admin purge`), or the hub does on its schedule after a
grace period (service.retention); before the data goes, one audit entry per kind of data
records the count deleted (action `purge-<kind>`), and the receipt names those entries.
The receipt is for each participating agency's data officer, every auditor and the
administrators: `fieldlink audit receipt`, then `fieldlink audit verify-receipt`.
"""

import json
import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Request

from service import retention
from service.auth import Principal, Role
from service.deps import AdminDep, SessionDep, get_visible_project, require_role
from service.errors import Conflict, NotFound, problem_responses
from service.models import Project, utcnow
from service.request_ids import is_request_id, new_request_id
from service.schemas import PurgeReceiptPublic
from service.store import retention as store

router = APIRouter(prefix="/projects/{project_id}", tags=["retention"])

ReceiptReaderDep = Annotated[
    Principal, Depends(require_role(Role.DATA_OFFICER, Role.AUDITOR, Role.ADMINISTRATOR))
]


@router.post("/purge", responses=problem_responses(401, 403, 404, 409, 422))
def purge_project(
    project_id: uuid.UUID, admin: AdminDep, session: SessionDep, request: Request
) -> PurgeReceiptPublic:
    """Delete an expired project's data and answer the signed receipt (again if purged)."""
    project = get_visible_project(project_id, session, admin)
    stored = store.find_receipt(session, project.id)
    if stored is not None:
        return PurgeReceiptPublic.model_validate(json.loads(stored.document))
    now = utcnow()
    if project.expires_at > now:
        raise Conflict("the project has not expired yet; it is purged after its expiry")
    chosen = getattr(request.state, "request_id", None)  # service.request_log chose it
    request_id = chosen if isinstance(chosen, str) and is_request_id(chosen) else new_request_id()
    purged = retention.purge_project(
        session,
        project,
        context=retention.PurgeContext.of(request.app),
        actor=retention.Actor.caller(admin, request_id),
    )
    request.state.audit_records = purged.records
    return PurgeReceiptPublic.model_validate(purged.receipt)


@router.get("/purge-receipt", responses=problem_responses(401, 403, 404, 422))
def get_purge_receipt(
    project_id: uuid.UUID, reader: ReceiptReaderDep, session: SessionDep
) -> PurgeReceiptPublic:
    """The signed purge receipt: for the agencies' data officers, auditors, administrators."""
    project = session.get(Project, project_id)
    if project is None or (
        reader.role is Role.DATA_OFFICER and reader.agency_id not in project.agency_ids
    ):
        raise NotFound("project")  # the same answer for "absent" and "not yours"
    stored = store.find_receipt(session, project.id)
    if stored is None:
        raise NotFound("purge receipt")
    return PurgeReceiptPublic.model_validate(json.loads(stored.document))
