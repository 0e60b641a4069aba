"""One run's matching: its uploads out of the vault, labelled by agency id, matched.

Pure of the database: `service.jobs` reads the run and its uploads, calls this, and
stores what comes back. Batches are labelled by agency id, never by name, so renaming an
agency changes nothing.

A run's hits depend on the batches' contents only. Ids are random, so two hubs given the
same files hold them under different upload and agency ids, and the matching core orders
its input by label (sampled pairs, threshold, group and member order follow from that
order). So the batches are matched in content order (`canonical`): each agency labelled by
the digest of what it uploaded, its batches in order of their content digests; the
agency ids go back on afterwards.
"""

import hashlib
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import asdict, dataclass, replace
from typing import Any

from linkage.batch import Batch, MatchBatch
from linkage.errors import LinkageError
from linkage.hits import Hits, Member
from linkage.match.engine import MatchSettings, Progress, Runner, match_batches
from linkage.spill import SpillSettings
from service.batches import open_upload, read_for_run
from service.hub_keys import Keyring
from service.models import Upload
from service.objects import ObjectStore
from service.probing import content_digest
from service.vault import VaultError


class RunInputMissing(Exception):
    """An upload the run was started over is gone (deleted before the run executed)."""


# Errors whose messages are ours and name no data (ids, counts and kinds only), so a
# failed run may show them; any other exception shows its type alone.
_SAFE_ERRORS = (LinkageError, VaultError, RunInputMissing)


@dataclass(frozen=True, slots=True, repr=False)
class RunBatches:
    """A run's batches as read, labelled by agency id, and each one's content digest."""

    batches: tuple[MatchBatch, ...]
    contents: tuple[str, ...]  # `service.probing.content_digest`, in batch order


def load_batches(
    uploads: Sequence[Upload],
    *,
    objects: ObjectStore,
    keyring: Keyring,
    spill: SpillSettings | None = None,
) -> RunBatches:
    """Read each upload's batch from the object store, labelled with its agency's id.

    An upload whose content digest was kept on admission is read for matching
    (`service.batches.read_for_run`: with group filters, family digests instead of the
    filters, and the comparison words of an upload larger than `spill` allows on disk,
    sealed); one stored before that is read whole and its digest computed here.
    """
    batches: list[MatchBatch] = []
    contents: list[str] = []
    for upload in uploads:
        if upload.content_digest is not None:
            batch = read_for_run(upload, objects=objects, keyring=keyring, spill=spill)
            content = upload.content_digest
        else:
            whole = open_upload(upload, objects=objects, keyring=keyring)
            batch, content = whole, content_digest(whole)
        batches.append(replace(batch, agency=str(upload.agency_id)))
        contents.append(content)
    return RunBatches(tuple(batches), tuple(contents))


def match_run(
    batches: Sequence[Batch] | RunBatches,
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
    Whole batches may come without their content digests: they are computed.
    """
    settings = MatchSettings(threshold=threshold, min_agencies=min_agencies)
    if not isinstance(batches, RunBatches):
        batches = RunBatches(tuple(batches), tuple(map(content_digest, batches)))
    ordered, agency_of = canonical(batches)
    hits, report = match_batches(ordered, settings, runner=runner, progress=progress)
    hits, record = relabel(hits, asdict(report), agency_of)
    return hits, report_record(record, hits)


def canonical(run: RunBatches) -> tuple[list[MatchBatch], dict[str, str]]:
    """The batches in content order, labelled by content; and each label's agency.

    An agency's label is its rank among the agencies ordered by the digest of their
    batches' content digests (`#000000`, `#000001`, ...; fixed width, so labels sort as
    ranks). Agencies that uploaded identical records tie; their ids break the tie.
    """
    batches = run.batches
    digests = {id(batch): content for batch, content in zip(batches, run.contents, strict=True)}
    by_agency: dict[str, list[str]] = {}
    for batch in batches:
        by_agency.setdefault(batch.agency, []).append(digests[id(batch)])
    keys = {agency: _digest_of(found) for agency, found in by_agency.items()}
    ranked = sorted(by_agency, key=lambda agency: (keys[agency], agency))
    label = {agency: f"#{rank:06d}" for rank, agency in enumerate(ranked)}
    ordered = sorted(batches, key=lambda batch: (label[batch.agency], digests[id(batch)]))
    return (
        [replace(batch, agency=label[batch.agency]) for batch in ordered],
        {label[agency]: agency for agency in ranked},
    )


def _digest_of(digests: list[str]) -> str:
    return hashlib.sha256("".join(sorted(digests)).encode()).hexdigest()


_LABEL = re.compile(r"#\d{6}")


def relabel(
    hits: Hits, report: dict[str, Any], agency_of: dict[str, str]
) -> tuple[Hits, dict[str, Any]]:
    """Hits and report of a `canonical` match with the agencies' own labels put back."""

    def agency(text: str) -> str:
        return _LABEL.sub(lambda found: agency_of[found.group()], text)

    groups = tuple(
        replace(
            group,
            members=tuple(Member(agency_of[m.agency], m.reference) for m in group.members),
            unshown_agencies=tuple(agency_of[name] for name in group.unshown_agencies),
        )
        for group in hits.groups
    )
    record = report | {
        "records": {agency_of[key]: count for key, count in report["records"].items()},
        "blocking": {agency(key): method for key, method in report["blocking"].items()},
    }
    return replace(hits, groups=groups), record


def report_record(report: dict[str, Any], hits: Hits) -> dict[str, Any]:
    """The engine's report (as a dict) plus hits per agency id (what each officer will see)."""
    per_agency = Counter(agency for group in hits.groups for agency in group.agencies)
    return report | {"hits_by_agency": dict(sorted(per_agency.items()))}


def safe_error(exc: BaseException) -> str:
    """What a failed run shows: the exception type, and its message only when ours."""
    if isinstance(exc, _SAFE_ERRORS):
        return f"{type(exc).__name__}: {exc}"[:2000]
    return f"{type(exc).__name__}: unexpected error while matching"
