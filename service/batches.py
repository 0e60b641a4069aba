"""Uploaded batches in the object store: sealed, read back for checks and runs, re-keyed.

Each upload's batch file is stored as uploaded (an Arrow IPC file), sealed with
`service.vault` under the hub's active storage key and bound to the upload's id, in the
hub's object store (`service.objects`: the data folder, or an S3 bucket) under `blob_key`.

An upload is only ever read a sealed chunk at a time (`linkage.batch_stream`): a run
takes its references, filters and comparison encodings, which go straight into the
arrays it matches, and never its envelopes; a release takes the references and the
envelopes of the rows asked for. Nothing holds a whole upload.
"""

from collections.abc import Collection, Generator, Iterator
from contextlib import closing
from pathlib import Path

import pyarrow as pa
from sqlalchemy.orm import Session

from linkage.batch import Batch, MatchBatch
from linkage.batch_stream import (
    Picked,
    Streamed,
    pick_envelopes,
    read_for_matching,
    read_reference_column,
    read_streamed,
)
from linkage.spill import SpillSettings
from service.hub_keys import Keyring
from service.models import Upload
from service.objects import ObjectStore
from service.store import uploads as store
from service.vault import iter_object, reseal_object, seal_object


def blob_key(upload: Upload) -> str:
    """The object store key of an upload's sealed batch, as its row currently describes it."""
    # The content digest is part of the name, so a replacement is written beside the old
    # blob and the old one is removed only after the database has switched over: a failure
    # at any point leaves a row that matches its blob (and at worst an orphan blob).
    return f"uploads/{upload.id}-{upload.digest[:16]}.vault"


def blob_path(data_dir: Path, upload: Upload) -> Path:
    """The sealed file of an upload's batch when the store is the data folder (the default)."""
    return data_dir / blob_key(upload)


def open_upload(upload: Upload, *, objects: ObjectStore, keyring: Keyring) -> Batch:
    """An upload's batch as a run matches it: checked again, without its envelopes."""
    return read_upload(upload, objects=objects, keyring=keyring).batch


def read_for_run(
    upload: Upload, *, objects: ObjectStore, keyring: Keyring, spill: SpillSettings | None = None
) -> MatchBatch:
    """An upload's batch as a run matches it (`linkage.batch_stream.read_for_matching`).

    With group filters only the family digests are kept, not the filters; with `spill`, a
    large upload's comparison words wait on disk, sealed, until the run compares them.
    """
    with closing(iter_upload(upload, objects=objects, keyring=keyring)) as chunks:
        return read_for_matching(chunks, size_bytes=upload.size_bytes, spill=spill)


def read_upload(upload: Upload, *, objects: ObjectStore, keyring: Keyring) -> Streamed:
    """An upload's batch read chunk by chunk (`linkage.batch_stream.read_streamed`)."""
    with closing(iter_upload(upload, objects=objects, keyring=keyring)) as chunks:
        return read_streamed(chunks, size_bytes=upload.size_bytes)


def iter_upload(
    upload: Upload, *, objects: ObjectStore, keyring: Keyring
) -> Generator[bytes, None, None]:
    """An upload's batch file as uploaded, decrypted a sealed chunk (8 MiB) at a time."""
    return iter_object(objects, blob_key(upload), keyring=keyring, name=str(upload.id))


def read_references(upload: Upload, *, objects: ObjectStore, keyring: Keyring) -> pa.Array:
    """An upload's reference column as one Arrow array, without a Python object per record."""
    with closing(iter_upload(upload, objects=objects, keyring=keyring)) as chunks:
        return read_reference_column(chunks, size_bytes=upload.size_bytes)


def upload_envelopes(
    upload: Upload, references: Collection[str], *, objects: ObjectStore, keyring: Keyring
) -> Picked:
    """The sealed envelopes of these references in an upload (those it holds), by row."""
    with closing(iter_upload(upload, objects=objects, keyring=keyring)) as chunks:
        return pick_envelopes(chunks, references, size_bytes=upload.size_bytes)


def seal_upload(
    source: Iterator[bytes], upload: Upload, *, objects: ObjectStore, keyring: Keyring
) -> str:
    """Encrypt the batch file's bytes into the object store as `upload`'s blob.

    Args:
        source: The checked batch file's bytes, in chunks (`service.spool.Spooled.chunks`).
        upload: The row the blob belongs to; its id and digest name the blob.
        objects: The hub's object store.
        keyring: The storage keyring; its active key seals the blob.

    Returns:
        The key of the new blob, to be removed if the row cannot be committed.
    """
    key = blob_key(upload)
    seal_object(source, objects, key, keyring=keyring, name=str(upload.id))
    return key


def reseal_uploads(session: Session, *, objects: ObjectStore, keyring: Keyring) -> int:
    """Move every stored upload to the keyring's active storage key (after a rotation).

    Each blob is rewritten atomically, so an interruption leaves every blob readable with
    the keys on the ring; running it again finishes the job. Flushes; the caller commits.

    Args:
        session: The database session; the rows' `storage_key_id` are updated in it.
        objects: The hub's object store.
        keyring: The storage keyring, holding the retired keys and the new active one.

    Returns:
        How many uploads were moved to the active key.
    """
    moved = 0
    for upload in store.uploads_not_under_key(session, keyring.active_id):
        reseal_object(objects, blob_key(upload), keyring=keyring, name=str(upload.id))
        upload.storage_key_id = keyring.active_id
        moved += 1
    session.flush()
    return moved
