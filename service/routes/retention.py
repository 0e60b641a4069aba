"""Retention: purging an expired project's data, and the signed receipt the agencies fetch.

An administrator purges (`fieldlink admin purge`); before the data goes, one audit entry per
kind of data records the count deleted (action `purge-<kind>`), and the receipt names those
entries. The receipt is for each participating agency's data officer, every auditor and
the administrators: `fieldlink audit receipt`, then `fieldlink audit verify-receipt`.
"""

import json
import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Request

from service import purge
from service.audit_writer import AuditWriter
from service.auth import Principal, Role
from service.deps import AdminDep, SessionDep, get_visible_project, require_role
from service.errors import Conflict, NotFound, problem_responses
from service.hub_keys import HubKeys
from service.models import Project, utcnow
from service.objects import ObjectStore
from service.schemas import PurgeReceiptPublic
from service.store import retention as store
from service.store.audit import EntryDraft

router = APIRouter(prefix="/projects/{project_id}", tags=["retention"])

_APPEND_SECONDS = 60.0
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
    keys: HubKeys = request.app.state.hub_keys
    objects: ObjectStore = request.app.state.objects
    planned = purge.plan(session, project, objects=objects, keyring=keys.storage)
    sequences = _log_counts(request, admin, project, planned.counts)
    purge.execute(session, project, planned, objects=objects, now=now)
    document = purge.receipt(project, planned.counts, audit_sequences=sequences, keys=keys, now=now)
    store.add_receipt(session, project.id, document=purge.as_text(document), now=now)
    session.commit()
    request.state.audit_records = sum(planned.counts.values())
    return PurgeReceiptPublic.model_validate(document)


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


def _log_counts(
    request: Request, admin: Principal, project: Project, counts: dict[str, int]
) -> list[int]:
    # One chain entry per kind of data, committed before anything is deleted.
    writer: AuditWriter = request.app.state.audit_writer
    request_id = str(getattr(request.state, "request_id", "purge"))
    futures = [
        writer.append(
            EntryDraft(
                at=utcnow(),
                request_id=request_id,
                principal_id=admin.principal_id,
                agency_id=admin.agency_id,
                role=admin.role.value,
                action=f"purge-{kind}",
                method="POST",
                project_id=project.id,
                resource=f"/v1/projects/{project.id}/purge",
                outcome=200,
                records=count,
                token_id=admin.token_id,
            )
        )
        for kind, count in sorted(counts.items())
    ]
    return [future.result(timeout=_APPEND_SECONDS) for future in futures]
