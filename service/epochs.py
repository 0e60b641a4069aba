"""Key epochs at run time: a run compares only batches encoded under one secret.

Filters made with different secrets never match, so a run over mixed epochs would silently
miss every person split across them. Starting one is refused instead, naming the agencies
whose uploads are not on the project's current epoch (agency names are public).
"""

from collections.abc import Sequence

from service.errors import MixedKeyEpochs
from service.models import Project
from service.store.runs import UploadLabel


def check_one_epoch(
    uploads: Sequence[UploadLabel], project: Project, epochs: dict[int, str]
) -> None:
    """Refuse (MixedKeyEpochs) uploads whose key check values differ."""
    first = epochs.get(1, project.key_check)
    used = {upload.key_check or first for upload in uploads}
    if len(used) <= 1:
        return
    behind = sorted(
        {upload.agency for upload in uploads if (upload.key_check or first) != project.key_check}
    )
    epoch_of = {key_check: epoch for epoch, key_check in epochs.items()}
    older = sorted(epoch_of.get(key_check, 0) for key_check in used - {project.key_check})
    raise MixedKeyEpochs(
        f"the uploads span epochs {', '.join(map(str, older))} and {project.key_epoch}; "
        f"still to re-encode under epoch {project.key_epoch} (and replace or delete their "
        f"older uploads): {', '.join(behind)}"
    )
