"""Uploaded batches on disk: sealed in the vault, read back for checks and runs, re-keyed.

Each upload's batch file is stored as uploaded (an Arrow IPC file), sealed with
`service.vault` under the hub's active storage key and bound to the upload's id.
"""

from collections.abc import Iterator
from pathlib import Path

import pyarrow as pa
from sqlalchemy.orm import Session

from linkage.batch import Batch, read_batch
from service.hub_keys import Keyring
from service.models import Upload
from service.store import uploads as store
from service.vault import open_blob, reseal, seal


def blob_path(data_dir: Path, upload: Upload) -> Path:
    """The sealed file holding an upload's batch, as its row currently describes it."""
    # The content digest is part of the name, so a replacement is written beside the old
    # file and the old one is removed only after the database has switched over: a failure
    # at any point leaves a row that matches its file (and at worst an orphan file).
    return data_dir / "uploads" / f"{upload.id}-{upload.digest[:16]}.vault"


def open_upload(upload: Upload, *, data_dir: Path, keyring: Keyring) -> Batch:
    """Decrypt and read an upload's batch (validated again by `read_batch`)."""
    return read_batch(open_blob(blob_path(data_dir, upload), keyring=keyring, name=str(upload.id)))


def read_references(upload: Upload, *, data_dir: Path, keyring: Keyring) -> pa.Array:
    """An upload's reference column as one Arrow array, without a Python object per record."""
    data = open_blob(blob_path(data_dir, upload), keyring=keyring, name=str(upload.id))
    return pa.ipc.open_file(pa.py_buffer(data)).read_all().column("ref").combine_chunks()


def seal_upload(
    source: Iterator[bytes], upload: Upload, *, data_dir: Path, keyring: Keyring
) -> Path:
    """Encrypt the batch file's bytes into the vault as `upload`'s blob.

    Args:
        source: The checked batch file's bytes, in chunks (`service.spool.Spooled.chunks`).
        upload: The row the blob belongs to; its id and digest name the blob.
        data_dir: The hub's data folder.
        keyring: The storage keyring; its active key seals the blob.

    Returns:
        The path of the new blob, to be removed if the row cannot be committed.
    """
    target = blob_path(data_dir, upload)
    seal(source, target, keyring=keyring, name=str(upload.id))
    return target


def reseal_uploads(session: Session, *, data_dir: Path, keyring: Keyring) -> int:
    """Move every stored upload to the keyring's active storage key (after a rotation).

    Each blob is rewritten atomically, so an interruption leaves every blob readable with
    the keys on the ring; running it again finishes the job. Flushes; the caller commits.

    Args:
        session: The database session; the rows' `storage_key_id` are updated in it.
        data_dir: The hub's data folder.
        keyring: The storage keyring, holding the retired keys and the new active one.

    Returns:
        How many uploads were moved to the active key.
    """
    moved = 0
    for upload in store.uploads_not_under_key(session, keyring.active_id):
        reseal(blob_path(data_dir, upload), keyring=keyring, name=str(upload.id))
        upload.storage_key_id = keyring.active_id
        moved += 1
    session.flush()
    return moved
