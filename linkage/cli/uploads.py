"""`fieldlink uploads list|replace|delete`: a data officer's own batches at the hub.

Data officers see and change their own agency's uploads only (the team sees every
agency's list). An upload is named by its id, the first characters `list` prints, or the
batch file it was made from (found by the file's SHA-256 digest, which the hub keeps). A
replaced upload keeps its id; runs already made keep the hits they found.
"""

import argparse
import hashlib
import sys
from pathlib import Path

from tqdm import tqdm

from linkage.cli.common import by_id
from linkage.cli.remote import Commands, add_project_command, connect, watch_line
from linkage.client import HubClient
from linkage.errors import LinkageError
from linkage.hub_models import Project, Upload

_UPLOAD = "upload id, its first characters as `list` prints them, or the batch file uploaded"


def register(commands: Commands) -> None:
    """Add the `uploads` command group."""
    uploads = commands.add_parser("uploads", help="list, replace and delete own uploads")
    actions = uploads.add_subparsers(required=True, metavar="ACTION")
    listing = add_project_command(actions, "list", "the project's uploads you may see")
    listing.set_defaults(run=_list)
    replace = add_project_command(actions, "replace", "replace an upload's batch (keeps its id)")
    replace.add_argument("upload", help=_UPLOAD)
    replace.add_argument("batch", type=Path, help="the new batch file")
    replace.set_defaults(run=_replace)
    delete = add_project_command(actions, "delete", "delete an upload and its stored batch")
    delete.add_argument("upload", help=_UPLOAD)
    delete.set_defaults(run=_delete)


def upload_line(upload: Upload) -> str:
    """An upload on one line: short id, agency, records, when, key check value."""
    when = f"{upload.created_at:%Y-%m-%d %H:%M}"
    key = f"  key {upload.key_check}" if upload.key_check else ""
    return (
        f"{str(upload.id)[:8]}  {upload.agency:<12} {upload.record_count:>9} records  {when}{key}"
    )


def _list(args: argparse.Namespace) -> int:
    with connect(args) as hub:
        project = hub.find_project(args.project)
        uploads = hub.uploads(project.id)
    for upload in uploads:
        print(upload_line(upload))
    print(f"{len(uploads)} uploads in project {project.name}")
    return 0


def _replace(args: argparse.Namespace) -> int:
    path: Path = args.batch
    size = path.stat().st_size if path.is_file() else 0
    if not size:
        raise LinkageError(f"{path}: no such batch file, or it is empty")
    with connect(args) as hub:
        project = hub.find_project(args.project)
        upload = _find(hub, project, args.upload)
        with tqdm(total=size, unit="B", unit_scale=True, desc=path.name, file=sys.stderr) as bar:
            replaced = hub.replace_upload(project.id, upload.id, path, progress=bar.update)
    print(
        f"upload {replaced.id} replaced by {path}: {replaced.record_count} records for"
        f" {replaced.agency} (was {upload.record_count})"
    )
    if replaced.watch is not None:
        print(watch_line(replaced.watch, project.name))
    return 0


def _delete(args: argparse.Namespace) -> int:
    with connect(args) as hub:
        project = hub.find_project(args.project)
        upload = _find(hub, project, args.upload)
        hub.delete_upload(project.id, upload.id)
    print(f"deleted upload {upload.id} ({upload.record_count} records of {upload.agency})")
    return 0


def _find(hub: HubClient, project: Project, spec: str) -> Upload:
    where = f" in project {project.name}"
    uploads = hub.uploads(project.id)
    if not Path(spec).is_file():
        return by_id(uploads, spec, "upload", lambda item: str(item.id), where)
    digest = file_digest(Path(spec))
    for upload in uploads:
        if upload.digest == digest:
            return upload
    raise LinkageError(f"{spec} is not uploaded{where}")


def file_digest(path: Path) -> str:
    """SHA-256 of a file, hex: what the hub records as an upload's digest."""
    with path.open("rb") as source:
        return hashlib.file_digest(source, "sha256").hexdigest()
