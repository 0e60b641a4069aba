"""Wrapped project secrets: a custodian deposits one per agency, each agency fetches its own.

Only a key custodian (the role) deposits, and only in projects its own agency takes part
in; administrators and data officers do not. A deposited key is never replaced silently:
the same agency and epoch again is a 409, except that `replace=true` re-wraps for an
agency whose key it was wrapped for is no longer live (the agency registered a new key
pair). A new secret is a new epoch (`PUT .../key-check`), which takes new deposits.

The hub stores each document as sent (opaque text), checks only its public labels
(`service.key_relay`), and never logs or echoes its ciphertext except to the agency it is
wrapped for. Another agency's wrapped key answers like an absent one.
"""

import json
import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, Query
from sqlalchemy.orm import Session

from service.deps import (
    DataOfficerDep,
    KeyCustodianDep,
    ProjectAccessDep,
    SessionDep,
    get_accessible_project,
)
from service.errors import Conflict, InvalidInput, NotFound, problem_responses
from service.key_relay import check_binding, read_labels
from service.models import Project, WrappedKey, utcnow
from service.schemas import INT32_MAX, WrappedKeyDocument, WrappedKeyPublic
from service.store import keys as key_store
from service.store.uploads import agency_name

router = APIRouter(prefix="/projects/{project_id}/wrapped-keys", tags=["keys"])

CustodianDep = KeyCustodianDep
_DOCUMENT = Body(description="A fieldlink-wrapped-key/1 document from `fieldlink keys wrap`.")


def get_custodian_project(
    project_id: uuid.UUID, session: SessionDep, custodian: CustodianDep
) -> Project:
    """The project a key custodian deposits for: one its own agency takes part in."""
    return get_accessible_project(project_id, session, custodian)


@router.put("/{agency_id}", responses=problem_responses(401, 403, 404, 409, 410, 422))
def deposit_wrapped_key(
    agency_id: uuid.UUID,
    document: Annotated[dict[str, Any], _DOCUMENT],
    project: Annotated[Project, Depends(get_custodian_project)],
    custodian: CustodianDep,
    session: SessionDep,
    replace: Annotated[
        bool, Query(description="re-wrap for an agency whose earlier key is no longer live")
    ] = False,
) -> WrappedKeyPublic:
    """Deposit the project secret wrapped for one participating agency's registered key."""
    if agency_id not in project.agency_ids:
        raise NotFound("agency")
    agency = agency_name(session, agency_id)
    labels = read_labels(document)
    epochs = key_store.key_epochs(session, project.id)
    check_binding(labels, agency=agency, epochs=epochs, project_label=project.key_label)
    if key_store.find_agency_key(session, agency_id, labels.recipient_key_id) is None:
        raise InvalidInput(f"the recipient key is not a registered live key of {agency!r}")
    _check_replacement(session, project.id, agency_id, labels.epoch, replace=replace)
    project.key_label = project.key_label or labels.project
    stored = key_store.put_wrapped(
        session,
        WrappedKey(
            project_id=project.id,
            agency_id=agency_id,
            epoch=labels.epoch,
            recipient_key_id=labels.recipient_key_id,
            document=json.dumps(document, sort_keys=True),
            created_by=custodian.principal_id,
            created_at=utcnow(),
        ),
    )
    session.commit()
    return _public(stored, agency, labels.key_check)


@router.get("/mine", responses=problem_responses(401, 403, 404, 410, 422))
def get_own_wrapped_key(
    officer: DataOfficerDep,
    project: ProjectAccessDep,
    session: SessionDep,
    epoch: Annotated[
        int | None, Query(ge=1, le=INT32_MAX, description="default: the latest")
    ] = None,
) -> WrappedKeyDocument:
    """The own agency's wrapped key (latest epoch, or the one named), to unwrap locally."""
    stored = None
    if officer.agency_id in project.agency_ids:
        stored = key_store.find_wrapped(
            session, project_id=project.id, agency_id=officer.agency_id, epoch=epoch
        )
    if stored is None:
        raise NotFound("wrapped key")
    document = json.loads(stored.document)
    public = _public(stored, agency_name(session, stored.agency_id), str(document["key_check"]))
    return WrappedKeyDocument(**public.model_dump(), document=document)


def _check_replacement(
    session: Session, project_id: uuid.UUID, agency_id: uuid.UUID, epoch: int, *, replace: bool
) -> None:
    stored = key_store.find_wrapped(
        session, project_id=project_id, agency_id=agency_id, epoch=epoch
    )
    if stored is None:
        return
    if not replace:
        raise Conflict("the agency has a wrapped key of this epoch; it is never replaced silently")
    if key_store.find_agency_key(session, agency_id, stored.recipient_key_id) is not None:
        raise Conflict("the stored wrapped key's recipient key is still live: nothing to re-wrap")


def _public(stored: WrappedKey, agency: str, key_check: str) -> WrappedKeyPublic:
    return WrappedKeyPublic(
        project_id=stored.project_id,
        agency_id=stored.agency_id,
        agency=agency,
        epoch=stored.epoch,
        key_check=key_check,
        recipient_key_id=stored.recipient_key_id,
        created_by=stored.created_by,
        created_at=stored.created_at,
    )
