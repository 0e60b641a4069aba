"""Upload rows: each agency's batches in a project. Flushes at most; the calling route commits."""

import uuid
from collections.abc import Sequence

from sqlalchemy import ColumnElement, func, select, true
from sqlalchemy.orm import Session

from service.models import AcceptedContent, Agency, ProjectAgency, Upload


def add_upload(session: Session, upload: Upload) -> Upload:
    """Add a new upload row (its blob is already sealed)."""
    session.add(upload)
    session.flush()
    return upload


def find_upload(
    session: Session, *, project_id: uuid.UUID, upload_id: uuid.UUID, agency_id: uuid.UUID | None
) -> Upload | None:
    """The project's upload with this id; when `agency_id` is given, only if that agency's."""
    upload = session.get(Upload, upload_id)
    if upload is None or upload.project_id != project_id:
        return None
    if agency_id is not None and upload.agency_id != agency_id:
        return None
    return upload


def find_upload_by_digest(
    session: Session, *, project_id: uuid.UUID, agency_id: uuid.UUID, digest: str
) -> Upload | None:
    """The agency's upload in this project of the file with this SHA-256, if stored."""
    query = select(Upload).where(
        Upload.project_id == project_id, Upload.agency_id == agency_id, Upload.digest == digest
    )
    return session.scalars(query).one_or_none()


def list_uploads(
    session: Session, *, project_id: uuid.UUID, agency_id: uuid.UUID | None
) -> Sequence[tuple[Upload, str]]:
    """The project's uploads with their agency's name, oldest first; one agency's if given."""
    query = (
        select(Upload, Agency.name)
        .join(Agency, Agency.id == Upload.agency_id)
        .where(Upload.project_id == project_id)
        .order_by(Upload.created_at, Upload.id)
    )
    if agency_id is not None:
        query = query.where(Upload.agency_id == agency_id)
    return [(upload, name) for upload, name in session.execute(query)]


def agency_name(session: Session, agency_id: uuid.UUID) -> str:
    """The name of an agency that exists (a principal's or an upload's)."""
    return session.scalars(select(Agency.name).where(Agency.id == agency_id)).one()


def filter_bits_in_use(
    session: Session, *, project_id: uuid.UUID, excluding: uuid.UUID | None = None
) -> set[int]:
    """The filter lengths of the project's uploads, leaving out the one being replaced."""
    query = select(Upload.filter_bits).where(
        Upload.project_id == project_id, _other_than(excluding)
    )
    return set(session.scalars(query.distinct()))


def agency_uploads(
    session: Session,
    *,
    project_id: uuid.UUID,
    agency_id: uuid.UUID,
    excluding: uuid.UUID | None = None,
) -> Sequence[Upload]:
    """One agency's uploads in a project, leaving out the one being replaced."""
    query = select(Upload).where(
        Upload.project_id == project_id, Upload.agency_id == agency_id, _other_than(excluding)
    )
    return session.scalars(query.order_by(Upload.created_at, Upload.id)).all()


def delete_upload(session: Session, upload: Upload) -> None:
    """Remove an upload's row (the caller removes its blob after the commit)."""
    session.delete(upload)
    session.flush()


def accepted_contents(
    session: Session, *, project_id: uuid.UUID, agency_id: uuid.UUID
) -> tuple[int, set[str]]:
    """Records the agency had accepted in the project, and their content digests.

    Locks the agency's participation row until the transaction ends (PostgreSQL), so two
    uploads of one agency cannot both spend the same budget.
    """
    session.execute(
        select(ProjectAgency)
        .where(ProjectAgency.project_id == project_id, ProjectAgency.agency_id == agency_id)
        .with_for_update()
    )
    mine = (AcceptedContent.project_id == project_id, AcceptedContent.agency_id == agency_id)
    records = session.scalar(
        select(func.coalesce(func.sum(AcceptedContent.record_count), 0)).where(*mine)
    )
    digests = set(session.scalars(select(AcceptedContent.digest).where(*mine)))
    return int(records or 0), digests


def add_accepted_content(
    session: Session, *, project_id: uuid.UUID, agency_id: uuid.UUID, digest: str, records: int
) -> None:
    """Count an accepted batch content against the agency's budget, once per content."""
    key = (project_id, agency_id, digest)
    if session.get(AcceptedContent, key) is None:
        session.add(
            AcceptedContent(
                project_id=project_id, agency_id=agency_id, digest=digest, record_count=records
            )
        )
        session.flush()


def uploads_not_under_key(session: Session, key_id: str) -> Sequence[Upload]:
    """Every upload whose blob is recorded as sealed with another storage key than this one."""
    query = select(Upload).where(Upload.storage_key_id != key_id).order_by(Upload.id)
    return session.scalars(query).all()


def _other_than(upload_id: uuid.UUID | None) -> ColumnElement[bool]:
    return true() if upload_id is None else Upload.id != upload_id
