"""Admission of an uploaded batch: the checks a batch file passes before the hub stores it.

Every refusal names the failed check and at most a record's line, an upload id, public
metadata (agency label, filter length) or a measured figure; never a reference or a filter.
A record is named as every fieldlink message names one: by a file line, here the line of
the agency's reference map (`NAME.refs.csv`, written beside the batch by `fieldlink
encode`, header on line 1) that holds its reference.
"""

import logging
import secrets
import uuid
from collections.abc import Collection, Iterable
from dataclasses import dataclass

import pyarrow as pa
import pyarrow.compute as pc

from linkage.batch import refmap_line
from linkage.errors import BatchError
from service.errors import (
    AbnormalFill,
    AgencyMismatch,
    DuplicateReferences,
    FilterBitsMismatch,
    InvalidBatch,
    KeyMismatch,
    NearDuplicateFlood,
    ProbingRefused,
    SchemaMismatch,
    UnsaltedEncodings,
    UploadBudgetExceeded,
)
from service.models import Project
from service.probing import ProbingSettings, Rule, refusal
from service.upload_scan import (
    Measured,
    Opener,
    Scan,
    measure_upload,
    probing_measures,
    scan_upload,
)

logger = logging.getLogger(__name__)

_REFUSALS: dict[Rule, type[ProbingRefused]] = {
    Rule.UNSALTED: UnsaltedEncodings,
    Rule.BUDGET: UploadBudgetExceeded,
    Rule.THIN_RECORDS: AbnormalFill,
    Rule.NEAR_DUPLICATES: NearDuplicateFlood,
}


@dataclass(frozen=True, slots=True)
class Admitted:
    """What the upload row records about an accepted batch."""

    record_count: int
    filter_bits: int
    key_check: str = ""  # the batch's key check value: the epoch it was encoded under
    content_digest: str = ""  # `service.probing.content_digest`: what the budget counts


@dataclass(frozen=True, slots=True)
class Budget:
    """What the uploading agency had accepted in the project before (its upload budget)."""

    records: int = 0  # records accepted, deleted and replaced uploads included
    contents: Collection[str] = ()  # content digests of those uploads: counted already


def probing_settings(project: Project) -> ProbingSettings:
    """The project's probing controls."""
    return ProbingSettings(
        upload_budget_records=project.upload_budget_records,
        max_near_duplicate_share=project.max_near_duplicate_share,
        min_fill_share=project.min_fill_share,
        require_salted_encodings=project.require_salted_encodings,
    )


def admit(
    source: Opener,
    *,
    size_bytes: int | None = None,
    project: Project,
    agency: str,
    filter_bits_in_use: Collection[int],
    earlier_references: Iterable[tuple[uuid.UUID, pa.Array]],
    earlier_key_checks: Collection[str] = (),
    budget: Budget | None = None,
    seed: int | None = None,
) -> Admitted:
    """Check the batch file at `source` for upload by `agency` to `project`.

    Checks, in order: a readable batch (format, metadata, unique references: each check
    of `linkage.batch.read_batch`, made as the file streams by, as
    `linkage.batch_stream.read_streamed` makes them when runs and releases read it later)
    with at least one record; labelled with the caller's agency;
    the project's schema fingerprint and key check value; the filter length of the
    project's other uploads; the project's probing controls (`service.probing`); no
    reference the agency already uploaded to the project.

    Args:
        source: Opens the batch file's bytes in chunks, from the start at each call (the
            upload spool holds it sealed and decrypts it a chunk at a time). The file is
            read in passes (`service.upload_scan`): neither it nor its filters and
            comparison encodings are ever in memory whole.
        size_bytes: The file's size, which bounds what is allocated before it is read.
        project: The project uploaded to.
        agency: The uploading agency's name, which the batch's label must equal.
        filter_bits_in_use: Filter lengths of the project's other uploads (empty: any).
        earlier_references: (upload id, reference column) of the agency's other uploads in
            the project; read one at a time, only when every other check has passed.
        earlier_key_checks: Key check values of the project's earlier epochs, which are
            still accepted (agencies re-encode at their own pace; runs refuse mixing them).
        budget: What the agency had accepted in the project before (None: nothing).
        seed: Seeds the near-duplicate sample; None draws a fresh one, so that a prober
            cannot arrange its records around a sample it can predict.

    Returns:
        The accepted batch's record count, filter length, key check and content digest.

    Raises:
        InvalidBatch: Or a subclass of it, naming the first check that failed.
    """
    scan = _scan(source, size_bytes)
    _check_labels(scan, project, agency, earlier_key_checks)
    if filter_bits_in_use and scan.filter_bits not in filter_bits_in_use:
        expected = ", ".join(str(bits) for bits in sorted(filter_bits_in_use))
        raise FilterBitsMismatch(
            f"filters are {scan.filter_bits} bits; the project's uploads use {expected}"
        )
    measured = _measure(scan, source, size_bytes, secrets.randbits(63) if seed is None else seed)
    _check_probing(scan, measured, project, budget or Budget())
    for upload_id, earlier in earlier_references:
        _check_disjoint(scan.references, earlier, upload_id)
    return Admitted(
        record_count=scan.records,
        filter_bits=scan.filter_bits,
        key_check=scan.key_check,
        content_digest=measured.content_digest,
    )


def _scan(source: Opener, size_bytes: int | None) -> Scan:
    # Compressed files are refused before anything is inflated (a decompression bomb), and
    # arrays are sized by the record count only once the file is known to be that large.
    try:
        scan = scan_upload(source, size_bytes=size_bytes)
    except BatchError as err:
        raise InvalidBatch(str(err)) from err  # linkage's messages never hold record values
    if not scan.records:
        raise InvalidBatch("the batch holds no records")
    return scan


def _measure(scan: Scan, source: Opener, size_bytes: int | None, seed: int) -> Measured:
    # The file passed every check on the first pass; these passes read it again.
    try:
        return measure_upload(scan, source, size_bytes=size_bytes, seed=seed)
    except BatchError as err:
        raise InvalidBatch(str(err)) from err


def _check_labels(
    scan: Scan, project: Project, agency: str, earlier_key_checks: Collection[str]
) -> None:
    if scan.agency != agency:
        # The label is the uploader's input: never echoed. The own agency's name is the hub's.
        raise AgencyMismatch(f"the batch is not labelled with the caller's agency, {agency}")
    if scan.schema_fingerprint != project.schema_fingerprint:
        raise SchemaMismatch("the batch's schema fingerprint differs from the project's")
    if scan.key_check != project.key_check and scan.key_check not in earlier_key_checks:
        raise KeyMismatch("the batch's key check value differs from the project's")


def _check_probing(scan: Scan, measured: Measured, project: Project, budget: Budget) -> None:
    found = refusal(
        probing_measures(scan, measured),
        probing_settings(project),
        budget.records,
        counted=measured.content_digest not in budget.contents,
    )
    if found is not None:
        # An anomaly signal for the operator: the rule and the project, nothing of the batch.
        logger.warning("upload refused by probing control %s in project %s", found.rule, project.id)
        raise _REFUSALS[found.rule](found.detail, records=scan.records)


def _check_disjoint(references: pa.Array, earlier: pa.Array, upload_id: uuid.UUID) -> None:
    # One hash table over the earlier upload, probed by the new references, all inside Arrow.
    repeated = pc.is_in(references, value_set=earlier)
    first = pc.index(repeated, True).as_py()
    if first >= 0:
        raise DuplicateReferences(
            f"the record on line {refmap_line(first)} of the batch's reference map repeats "
            f"a reference of the agency's upload {upload_id}"
        )
