"""The retention purge: an expired project's data is deleted and a signed receipt issued.

After `expires_at` a project serves no data (service.deps: 410 to everyone but auditors).
The purge then deletes what the hub holds of the agencies' data: the sealed batch files
(their encodings and sealed disclosure envelopes), the upload rows and the contents the
upload budget counted, every run's hits (with their members and approvals) and rendered
hit views, the suspect list with its notes, and the project's key material: the secret
wrapped for each agency (every epoch) and the team's public key. Runs still queued or
running fail. What stays is the record of what happened: the project's metadata and team,
run metadata (counts only), the agencies' public keys and the audit log. Who purges when:
service.retention (an administrator, or the hub's schedule after a grace period).

The receipt ("fieldlink-purge-receipt/1", linkage.audit) names the project, its agencies,
when it expired and was purged, what was deleted (counts) and the audit entries that
logged it, and is signed with the hub's audit signing key, so each agency can check it
offline (`fieldlink audit verify-receipt`).
"""

import json
from collections.abc import Iterator, Mapping, Sequence
from contextlib import closing
from dataclasses import dataclass
from datetime import datetime

import pyarrow as pa
from sqlalchemy.orm import Session

from linkage.audit import RECEIPT_FORMAT, format_time, sign_receipt
from linkage.batch import ENVELOPE_COLUMN
from service.batches import blob_key, iter_upload
from service.hub_keys import HubKeys, Keyring
from service.models import Project, Upload
from service.objects import ObjectStore, ObjectStoreError
from service.store import retention as store
from service.vault import VaultError


@dataclass(frozen=True, slots=True)
class PurgePlan:
    """What the purge of one project deletes: counts by kind, and the batch blobs' keys."""

    counts: dict[str, int]
    blobs: list[str]


def plan(
    session: Session, project: Project, *, objects: ObjectStore, keyring: Keyring
) -> PurgePlan:
    """Count what the project holds; nothing is deleted yet."""
    uploads = store.uploads(session, project.id)
    counts = {
        "batches": len(uploads),
        "encoded_records": sum(upload.record_count for upload in uploads),
        "envelopes": sum(_envelopes(upload, objects, keyring) for upload in uploads),
    }
    counts |= store.row_counts(session, project.id)
    return PurgePlan(counts=counts, blobs=[blob_key(upload) for upload in uploads])


def execute(
    session: Session, project: Project, purge: PurgePlan, *, objects: ObjectStore, now: datetime
) -> None:
    """Delete the batch blobs, then the rows (flushed; the caller commits).

    Blobs go first: should the commit fail, the rows stay and a second purge finishes; a
    blob is never left behind by a committed purge.
    """
    for blob in purge.blobs:
        objects.delete(blob)
    store.delete_data(session, project.id, now=now)
    project.purged_at = now


def receipt(
    project: Project,
    counts: Mapping[str, int],
    *,
    audit_sequences: Sequence[int],
    keys: HubKeys,
    now: datetime,
) -> dict[str, object]:
    """The signed purge receipt for the project."""
    public_keys = keys.public_keys()
    body: dict[str, object] = {
        "format": RECEIPT_FORMAT,
        "project_id": str(project.id),
        "project": project.name,
        "agencies": sorted(agency.name for agency in project.agencies),
        "expired_at": format_time(project.expires_at),
        "purged_at": format_time(now),
        "counts": dict(sorted(counts.items())),
        "audit_sequences": list(audit_sequences),
        "key_id": keys.signing.active_id,
        "public_key": public_keys[keys.signing.active_id],
    }
    return body | {"signature": sign_receipt(keys.signer(), body)}


def as_text(document: Mapping[str, object]) -> str:
    """The receipt as stored and served: JSON with sorted keys."""
    return json.dumps(document, sort_keys=True)


def _envelopes(upload: Upload, objects: ObjectStore, keyring: Keyring) -> int:
    # Envelopes sit inside the sealed batch: one per record where the agency sealed them.
    # Only the schema is needed: the blob is read no further than the chunk that ends it.
    try:
        with closing(iter_upload(upload, objects=objects, keyring=keyring)) as chunks:
            schema = _schema_of(chunks)
    except (VaultError, ObjectStoreError, pa.ArrowInvalid, OSError):
        return 0  # unreadable: counted among the batches, its envelopes cannot be counted
    return upload.record_count if ENVELOPE_COLUMN in schema.names else 0


def _schema_of(chunks: Iterator[bytes]) -> pa.Schema:
    """The schema heading an Arrow IPC file, from as few of its chunks as hold it."""
    head = bytearray()
    for chunk in chunks:
        head += chunk
        try:  # the file's 8-byte magic, then the schema as a stream's first message
            return pa.ipc.open_stream(pa.py_buffer(bytes(head[8:]))).schema
        except pa.ArrowInvalid:
            continue  # cut off within the schema: read one more chunk
    raise pa.ArrowInvalid("the batch file holds no schema")
