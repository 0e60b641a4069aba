"""Wrapped project secrets: a custodian deposits one per agency, each agency fetches its own.

The custodian is an administrator or a data officer with access to the project. The hub
stores each document as sent (opaque text), checks only its public labels
(`service.key_relay`), and never logs or echoes its ciphertext except to the agency it is
wrapped for. Another agency's wrapped key answers like an absent one.
"""

import json
import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, Query

from service.auth import Principal, Role
from service.deps import (
    DataOfficerDep,
    ProjectAccessDep,
    SessionDep,
    get_visible_project,
    require_role,
)
from service.errors import InvalidInput, NotFound, problem_responses
from service.key_relay import check_binding, read_labels
from service.models import Project, WrappedKey, utcnow
from service.schemas import INT32_MAX, WrappedKeyDocument, WrappedKeyPublic
from service.store import keys as key_store
from service.store.uploads import agency_name

router = APIRouter(prefix="/projects/{project_id}/wrapped-keys", tags=["keys"])

CustodianDep = Annotated[Principal, Depends(require_role(Role.ADMINISTRATOR, Role.DATA_OFFICER))]
_DOCUMENT = Body(description="A fieldlink-wrapped-key/1 document from `fieldlink keys wrap`.")


def get_custodian_project(
    project_id: uuid.UUID, session: SessionDep, custodian: CustodianDep
) -> Project:
    """The project a custodian (administrator, or data officer with access) deposits for."""
    return get_visible_project(project_id, session, custodian)


@router.put("/{agency_id}", responses=problem_responses(401, 403, 404, 422))
def deposit_wrapped_key(
    agency_id: uuid.UUID,
    document: Annotated[dict[str, Any], _DOCUMENT],
    project: Annotated[Project, Depends(get_custodian_project)],
    custodian: CustodianDep,
    session: SessionDep,
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


@router.get("/mine", responses=problem_responses(401, 403, 404, 422))
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
