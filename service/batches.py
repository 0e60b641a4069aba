"""Uploaded batches on disk: where each lives in the vault, and reading one back for a run."""

from pathlib import Path

from linkage.batch import Batch, read_batch
from service.hub_keys import Keyring
from service.models import Upload
from service.vault import open_blob


def blob_path(data_dir: Path, upload: Upload) -> Path:
    """The sealed file holding an upload's batch."""
    return data_dir / "uploads" / f"{upload.id}.vault"


def open_upload(upload: Upload, *, data_dir: Path, keyring: Keyring) -> Batch:
    """Decrypt and read an upload's batch (validated again by `read_batch`)."""
    return read_batch(open_blob(blob_path(data_dir, upload), keyring=keyring, name=str(upload.id)))
