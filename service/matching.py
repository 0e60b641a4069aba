"""One run's matching: its uploads out of the vault, labelled by agency id, matched.

Pure of the database: `service.jobs` reads the run and its uploads, calls this, and
stores what comes back. Batches are labelled by agency id, never by name, so renaming an
agency changes nothing, and the fixed input order (the run's sorted upload ids) makes a
run deterministic.
"""

from collections import Counter
from collections.abc import Sequence
from dataclasses import asdict, replace
from pathlib import Path
from typing import Any

from linkage.batch import Batch
from linkage.errors import LinkageError
from linkage.hits import Hits
from linkage.match.engine import MatchReport, MatchSettings, Progress, Runner, match_batches
from service.batches import open_upload
from service.hub_keys import Keyring
from service.models import Upload
from service.vault import VaultError


class RunInputMissing(Exception):
    """An upload the run was started over is gone (deleted before the run executed)."""


# Errors whose messages are ours and name no data (ids, counts and kinds only), so a
# failed run may show them; any other exception shows its type alone.
_SAFE_ERRORS = (LinkageError, VaultError, RunInputMissing)


def load_batches(uploads: Sequence[Upload], *, data_dir: Path, keyring: Keyring) -> list[Batch]:
    """Read each upload's batch from the vault, labelled with its agency's id."""
    return [
        replace(
            open_upload(upload, data_dir=data_dir, keyring=keyring), agency=str(upload.agency_id)
        )
        for upload in uploads
    ]


def match_run(
    batches: Sequence[Batch],
    *,
    threshold: float | None,
    min_agencies: int,
    runner: Runner,
    progress: Progress,
) -> tuple[Hits, dict[str, Any]]:
    """Match the batches; the hits and the run's report (counts only, JSON-ready).

    Batches that carry comparison encodings are scored field by field (`linkage.match.
    fields`): `threshold` is then a match posterior, and each hit names the comparisons
    that agreed (stored as `Hit.agreed_fields`); otherwise it is a Dice similarity.
    """
    settings = MatchSettings(threshold=threshold, min_agencies=min_agencies)
    hits, report = match_batches(batches, settings, runner=runner, progress=progress)
    return hits, report_record(report, hits)


def report_record(report: MatchReport, hits: Hits) -> dict[str, Any]:
    """The engine's report plus hits per agency id (what each data officer will see)."""
    per_agency = Counter(agency for group in hits.groups for agency in group.agencies)
    return asdict(report) | {"hits_by_agency": dict(sorted(per_agency.items()))}


def safe_error(exc: BaseException) -> str:
    """What a failed run shows: the exception type, and its message only when ours."""
    if isinstance(exc, _SAFE_ERRORS):
        return f"{type(exc).__name__}: {exc}"[:2000]
    return f"{type(exc).__name__}: unexpected error while matching"
