"""Agencies' encoded batches: data officers upload, replace and delete their own; teams list them.

An upload is streamed to a spool file (hashed and sealed on the way, size-limited), checked
(`service.admission`), sealed into the object store, and only then recorded. The blob is written
before the row and removed again when the row cannot be committed; the spool file is always
removed. The body is read in the event loop, everything else runs in the threadpool.
"""

import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.concurrency import run_in_threadpool
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from service import batches, watch
from service.admission import Admitted, Budget, admit
from service.auth import Principal, Role
from service.config import Settings
from service.deps import DataOfficerDep, DataRoleDep, ProjectAccessDep, SessionDep
from service.errors import (
    AccessDenied,
    Conflict,
    NotFound,
    PayloadTooLarge,
    ProbingRefused,
    UnsupportedMediaType,
    problem_responses,
)
from service.hub_keys import Keyring
from service.models import Project, Upload
from service.objects import ObjectStore
from service.schemas import UploadList, UploadPublic, WatchOutcome
from service.spool import Spooled, spool_body
from service.store import uploads as store
from service.store.keys import key_epochs

router = APIRouter(prefix="/projects/{project_id}/uploads", tags=["uploads"])

BATCH_MEDIA_TYPE = "application/vnd.apache.arrow.file"
_ACCEPTED_TYPES = {BATCH_MEDIA_TYPE, "application/octet-stream"}
# The body is read from the stream, not declared as a parameter, so the spec is told here.
_BATCH_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "description": "A batch file (Arrow IPC) written by `fieldlink encode`.",
        "content": {BATCH_MEDIA_TYPE: {"schema": {"type": "string", "format": "binary"}}},
    }
}
_WRITE_PROBLEMS = problem_responses(401, 403, 404, 409, 413, 415, 410, 422)
_READ_PROBLEMS = problem_responses(401, 403, 404, 410, 422)
_STORED_ALREADY: dict[int | str, dict[str, Any]] = {
    200: {"model": UploadPublic, "description": "The identical file was stored already"}
}


@dataclass(frozen=True, slots=True)
class _Intake:
    """Everything the threadpool part of an upload needs besides the spooled file."""

    session: Session
    project: Project
    officer: Principal
    objects: ObjectStore
    keyring: Keyring


@router.post(
    "",
    status_code=201,
    responses=_STORED_ALREADY | _WRITE_PROBLEMS,
    openapi_extra=_BATCH_BODY,
)
async def upload_batch(
    request: Request,
    response: Response,
    officer: DataOfficerDep,
    project: ProjectAccessDep,
    session: SessionDep,
) -> UploadPublic:
    """Upload a batch of the own agency; a file stored already is answered 200, not again."""
    intake = _intake(request, session, project, officer)
    async with _received(request) as spooled, _audit_refused(request):
        public, created = await run_in_threadpool(_create, intake, spooled)
    if not created:
        response.status_code = 200
    elif project.watch:
        public.watch = await run_in_threadpool(_watch, request, intake, public.id)
    request.state.audit_records = public.record_count
    return public


@router.get("", responses=_READ_PROBLEMS)
def list_uploads(caller: DataRoleDep, project: ProjectAccessDep, session: SessionDep) -> UploadList:
    """List the project's uploads: all for the team, the own agency's for a data officer."""
    rows = store.list_uploads(session, project_id=project.id, agency_id=_only_own(caller))
    return UploadList(items=[_public(upload, name) for upload, name in rows])


@router.get("/{upload_id}", responses=_READ_PROBLEMS)
def get_upload(
    upload_id: uuid.UUID, caller: DataRoleDep, project: ProjectAccessDep, session: SessionDep
) -> UploadPublic:
    """Read one upload's metadata."""
    upload = _find(session, project, upload_id, agency_id=_only_own(caller))
    return _public(upload, store.agency_name(session, upload.agency_id))


@router.put("/{upload_id}", responses=_WRITE_PROBLEMS, openapi_extra=_BATCH_BODY)
async def replace_upload(
    upload_id: uuid.UUID,
    request: Request,
    officer: DataOfficerDep,
    project: ProjectAccessDep,
    session: SessionDep,
) -> UploadPublic:
    """Replace the content of one of the own agency's uploads; it keeps its id."""
    intake = _intake(request, session, project, officer)
    upload = await run_in_threadpool(_find, session, project, upload_id, officer.agency_id)
    async with _received(request) as spooled, _audit_refused(request):
        public, changed = await run_in_threadpool(_replace, intake, upload, spooled)
    if changed and project.watch:
        public.watch = await run_in_threadpool(_watch, request, intake, public.id)
    request.state.audit_records = public.record_count
    return public


@router.delete("/{upload_id}", status_code=204, responses=_READ_PROBLEMS)
def delete_upload(
    upload_id: uuid.UUID,
    request: Request,
    officer: DataOfficerDep,
    project: ProjectAccessDep,
    session: SessionDep,
) -> None:
    """Delete one of the own agency's uploads and its stored batch."""
    intake = _intake(request, session, project, officer)
    upload = _find(session, project, upload_id, officer.agency_id)
    blob = batches.blob_key(upload)
    store.delete_upload(session, upload)
    session.commit()
    intake.objects.delete(blob)  # after the commit: a failed delete keeps a readable upload
    request.state.audit_records = upload.record_count


def _intake(request: Request, session: Session, project: Project, officer: Principal) -> _Intake:
    if officer.agency_id not in project.agency_ids:
        # A data officer on the team whose agency does not take part has nothing to upload.
        raise AccessDenied("your agency does not take part in this project")
    objects: ObjectStore = request.app.state.objects
    keyring: Keyring = request.app.state.hub_keys.storage
    return _Intake(session, project, officer, objects, keyring)


@asynccontextmanager
async def _received(request: Request) -> AsyncIterator[Spooled]:
    settings: Settings = request.app.state.settings
    _check_headers(request, settings.max_upload_bytes)
    spooled = await spool_body(
        request.stream(), folder=settings.data_dir / "spool", max_bytes=settings.max_upload_bytes
    )
    try:
        yield spooled
    finally:
        spooled.discard()


@asynccontextmanager
async def _audit_refused(request: Request) -> AsyncIterator[None]:
    # A batch refused as a probe is entered in the audit log with its size, like an upload.
    try:
        yield
    except ProbingRefused as refused:
        request.state.audit_records = refused.records
        raise


def _check_headers(request: Request, max_bytes: int) -> None:
    media_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media_type not in _ACCEPTED_TYPES:
        raise UnsupportedMediaType(f"send the batch file as {BATCH_MEDIA_TYPE}")
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > max_bytes:  # refused before reading a byte
        raise PayloadTooLarge(f"the body exceeds the hub's limit of {max_bytes} bytes")


def _create(intake: _Intake, spooled: Spooled) -> tuple[UploadPublic, bool]:
    session, officer = intake.session, intake.officer
    stored = _stored_twin(intake, spooled.digest)
    if stored is not None:
        return _public(stored, store.agency_name(session, officer.agency_id)), False
    upload = Upload(id=uuid.uuid4(), project_id=intake.project.id, agency_id=officer.agency_id)
    _describe(upload, intake, spooled, _admit(intake, spooled, replacing=None))
    blob = batches.seal_upload(
        spooled.chunks(), upload, objects=intake.objects, keyring=intake.keyring
    )
    try:
        _commit_or_remove(intake, blob, pending=upload)
    except IntegrityError:
        # The same file arrived twice at once and the other request committed first.
        stored = _stored_twin(intake, spooled.digest)
        if stored is None:
            raise
        return _public(stored, store.agency_name(session, officer.agency_id)), False
    return _public(upload, store.agency_name(session, officer.agency_id)), True


def _replace(intake: _Intake, upload: Upload, spooled: Spooled) -> tuple[UploadPublic, bool]:
    session = intake.session
    changed = spooled.digest != upload.digest
    if changed:
        if _stored_twin(intake, spooled.digest) is not None:
            raise Conflict("the agency stored this file already, as another upload")
        admitted = _admit(intake, spooled, replacing=upload.id)
        old_blob = batches.blob_key(upload)
        _describe(upload, intake, spooled, admitted)
        new_blob = batches.seal_upload(
            spooled.chunks(), upload, objects=intake.objects, keyring=intake.keyring
        )
        _commit_or_remove(intake, new_blob, pending=None)
        intake.objects.delete(old_blob)
    return _public(upload, store.agency_name(session, upload.agency_id)), changed


def _watch(request: Request, intake: _Intake, upload_id: uuid.UUID) -> WatchOutcome:
    # The project is watched: the upload is committed; queue the run it calls for.
    settings: Settings = request.app.state.settings
    trigger = watch.Trigger(
        project=intake.project,
        upload_id=upload_id,
        officer=intake.officer,
        request_id=str(request.state.request_id),
    )
    outcome = watch.after_upload(
        intake.session,
        trigger,
        most_active=settings.max_active_runs_per_project,
        writer=request.app.state.audit_writer,
    )
    if outcome.run_id is not None:
        request.app.state.run_workers.wake()
    return outcome


def _stored_twin(intake: _Intake, digest: str) -> Upload | None:
    return store.find_upload_by_digest(
        intake.session,
        project_id=intake.project.id,
        agency_id=intake.officer.agency_id,
        digest=digest,
    )


def _admit(intake: _Intake, spooled: Spooled, *, replacing: uuid.UUID | None) -> Admitted:
    session, project, agency_id = intake.session, intake.project, intake.officer.agency_id
    earlier = store.agency_uploads(
        session, project_id=project.id, agency_id=agency_id, excluding=replacing
    )
    records, contents = store.accepted_contents(session, project_id=project.id, agency_id=agency_id)
    return admit(
        spooled.chunks,  # opened for each pass, decrypted a chunk at a time (never whole)
        size_bytes=spooled.size_bytes,
        project=project,
        agency=store.agency_name(session, agency_id),
        filter_bits_in_use=store.filter_bits_in_use(
            session, project_id=project.id, excluding=replacing
        ),
        earlier_references=(
            (
                item.id,
                batches.read_references(item, objects=intake.objects, keyring=intake.keyring),
            )
            for item in earlier
        ),
        earlier_key_checks=set(key_epochs(session, project.id).values()),
        budget=Budget(records=records, contents=contents),
    )


def _describe(upload: Upload, intake: _Intake, spooled: Spooled, admitted: Admitted) -> None:
    upload.uploaded_by = intake.officer.principal_id
    upload.digest = spooled.digest
    upload.size_bytes = spooled.size_bytes
    upload.record_count = admitted.record_count
    upload.filter_bits = admitted.filter_bits
    upload.key_check = admitted.key_check
    upload.content_digest = admitted.content_digest
    upload.storage_key_id = intake.keyring.active_id
    # Counted against the agency's upload budget for good: deleting or replacing the
    # upload later keeps the count (service.probing).
    store.add_accepted_content(
        intake.session,
        project_id=intake.project.id,
        agency_id=intake.officer.agency_id,
        digest=admitted.content_digest,
        records=admitted.record_count,
    )


def _commit_or_remove(intake: _Intake, blob: str, *, pending: Upload | None) -> None:
    session = intake.session
    try:
        if pending is not None:
            store.add_upload(session, pending)
        session.commit()
    except BaseException:
        session.rollback()  # a replaced upload's row reverts to its old content and blob
        intake.objects.delete(blob)
        raise


def _find(
    session: Session, project: Project, upload_id: uuid.UUID, agency_id: uuid.UUID | None
) -> Upload:
    upload = store.find_upload(
        session, project_id=project.id, upload_id=upload_id, agency_id=agency_id
    )
    if upload is None:
        raise NotFound("upload")  # another agency's upload answers as an absent one
    return upload


def _only_own(caller: Principal) -> uuid.UUID | None:
    # Data officers see their own agency's uploads; the team sees every upload's metadata.
    return caller.agency_id if caller.role is Role.DATA_OFFICER else None


def _public(upload: Upload, agency: str) -> UploadPublic:
    fields = {
        name: getattr(upload, name)
        for name in UploadPublic.model_fields
        if name not in ("agency", "watch")  # the watch's outcome is the request's, not stored
    }
    return UploadPublic(agency=agency, **fields)
