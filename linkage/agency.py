"""What a data officer runs locally: a CSV file in, a batch file and a reference map out."""

import csv
import os
import tempfile
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv

from keys import LinkageSecret, ReferenceKey
from linkage.arrow import string_array
from linkage.backend import Backend
from linkage.batch import Batch, Comparisons
from linkage.batch_writer import BatchWriter
from linkage.encode import EncodedRecords, OnInvalid, encode_chunks, loading_encoders
from linkage.envelopes import EnvelopeRequest, EnvelopeSealing, plan_sealing
from linkage.errors import InputError, RecordError
from linkage.records import ColumnPlan, check_ids, plan_columns, read_csv
from linkage.schema import LinkageSchema

REFMAP_HEADER = ("reference", "local_id")


@dataclass(frozen=True, slots=True)
class EncodeSummary:
    """What `encode_csv` did; holds counts, names and line numbers, never a value."""

    records_read: int
    records_encoded: int
    problems: tuple[RecordError, ...]
    rejected_rows: int
    on_invalid: OnInvalid
    missing: dict[str, int]  # field -> encoded records without a value
    plan: ColumnPlan
    batch_path: Path
    refmap_path: Path
    seconds: float
    envelope_fields: tuple[str, ...] = ()  # sealed per record, when envelopes were asked for
    team_key_id: str | None = None  # the team key they are sealed to


def refmap_path_for(batch_path: Path) -> Path:
    """Where the local reference map goes: beside the batch, `NAME.refs.csv`."""
    return batch_path.with_name(batch_path.stem + ".refs.csv")


def encode_csv(
    path: Path,
    *,
    schema: LinkageSchema,
    secret: LinkageSecret,
    ref_key: ReferenceKey,
    out: Path,
    id_column: str = "record_id",
    mapping: Mapping[str, str] | None = None,
    encoding: str = "utf-8",
    on_invalid: OnInvalid = OnInvalid.BLANK,
    max_invalid: float = 0.05,
    workers: int = 1,
    progress: Callable[[int], None] | None = None,
    envelopes: EnvelopeRequest | None = None,
) -> EncodeSummary:
    """Encode an agency CSV file into a batch file and a local reference map.

    Nothing is written unless the whole file could be encoded: outputs appear atomically.

    Args:
        path: The agency's CSV file.
        schema: The project's linkage schema.
        secret: The project linkage secret.
        ref_key: The agency-local reference key.
        out: Where the batch file goes; the reference map goes beside it.
        id_column: Column with the local record id.
        mapping: Column -> field for columns not named like their field.
        encoding: Text encoding of the CSV file.
        on_invalid: Reject, blank or fail on records with invalid values.
        max_invalid: Stop, writing nothing, when more than this share of records is invalid
            (a wrong date format or column mapping, rather than a few typos).
        workers: Processes to use.
        progress: Called with the number of records finished, now and then.
        envelopes: When given, seal each record's chosen details to the team key, bound to
            the project, this agency and the record's reference (see `linkage.envelopes`).

    Returns:
        A summary with counts, problems (line and field) and output paths.

    Raises:
        InputError: The file cannot be used, or too many records are invalid.
        RecordError: With `on_invalid=FAIL`, the first invalid value.
    """
    started = time.perf_counter()
    # A small file is encoded with numpy; a large one loads numba beside reading the file.
    expected = Backend.for_csv_bytes(_size_bytes(path))
    with loading_encoders(schema, secret, expected):
        table = read_csv(path, encoding=encoding)
        plan = plan_columns(table.header, schema, id_column=id_column, mapping=mapping)
        id_problems = check_ids(table, id_column)
    if id_problems and on_invalid is OnInvalid.FAIL:
        raise id_problems[0]
    bad_ids = np.searchsorted(table.row_numbers, [problem.row for problem in id_problems])
    kept = table.without(bad_ids.tolist()) if len(bad_ids) else table
    if progress is not None and len(bad_ids):
        progress(len(bad_ids))
    sealing = _sealing(envelopes, table.header, plan, secret, ref_key)
    chunks = encode_chunks(
        kept,
        plan,
        schema,
        secret,
        on_invalid=on_invalid,
        workers=workers,
        progress=progress,
        ref_key=ref_key,
        envelopes=sealing,
        # Once numba is loaded it is the faster one, whatever the count turned out to be.
        backend=expected if expected is Backend.COMPILED else Backend.for_rows(len(kept)),
    )
    parts = _Parts(
        agency=ref_key.agency,
        schema_fingerprint=schema.fingerprint(),
        key_check=secret.key_check_value(),
        created_at=datetime.now(UTC).isoformat(timespec="seconds"),
        layout=_layout(schema),
        sealing=sealing,
    )
    refmap = refmap_path_for(out)
    # Only REJECT leaves records out as it encodes: otherwise the count is known now, and
    # the batch file is written straight (see `BatchWriter`).
    count = None if on_invalid is OnInvalid.REJECT else len(kept)
    with (
        _atomic(out) as batch_tmp,
        _atomic(refmap) as refmap_tmp,
        BatchWriter(batch_tmp, records=count) as writer,
    ):
        # Each chunk goes into the file as it is done; its references and local ids stay
        # for the reference map, its counts and problems for the summary.
        for chunk in chunks:
            parts.add(chunk)
            if len(chunk.rows):
                writer.write(parts.batch_of(chunk))
        problems = tuple(sorted(id_problems + parts.problems, key=lambda p: p.row))
        _check_invalid_share(problems, len(table), max_invalid)
        if not parts.records:
            raise InputError(f"{path}: no record could be encoded")
        writer.finish()
        write_refmap(refmap_tmp, parts.references, parts.local_ids)
    return EncodeSummary(
        records_read=len(table),
        records_encoded=parts.records,
        problems=problems,
        rejected_rows=len(table) - parts.records,
        on_invalid=on_invalid,
        missing=parts.missing,
        plan=plan,
        batch_path=out,
        refmap_path=refmap,
        seconds=time.perf_counter() - started,
        envelope_fields=tuple(sealing.columns) if sealing else (),
        team_key_id=sealing.keys.team_key_id if sealing else None,
    )


@dataclass(slots=True, repr=False)
class _Parts:
    """The batch's parts as they are encoded, and what is kept of each.

    Each chunk becomes a `Batch` of its records (validated like any batch); of every chunk
    only what the reference map and the summary need stays, never its encodings.
    """

    agency: str
    schema_fingerprint: str
    key_check: str
    created_at: str  # one time for every part: the batch's
    layout: str | None  # the comparison layout, when the schema has comparisons
    sealing: EnvelopeSealing | None
    references: list[str] = field(default_factory=list)
    local_ids: list[str] = field(default_factory=list)
    problems: list[RecordError] = field(default_factory=list)
    missing: dict[str, int] = field(default_factory=dict)

    @property
    def records(self) -> int:
        return len(self.references)

    def add(self, chunk: EncodedRecords) -> None:
        self.references.extend(chunk.references)
        self.local_ids.extend(chunk.local_ids)
        self.problems.extend(chunk.problems)
        for name, count in chunk.missing.items():
            self.missing[name] = self.missing.get(name, 0) + count

    def batch_of(self, chunk: EncodedRecords) -> Batch:
        comparisons = chunk.comparisons
        return Batch(
            agency=self.agency,
            schema_fingerprint=self.schema_fingerprint,
            key_check=self.key_check,
            filter_bits=int(chunk.filters.shape[1]) * 8,
            references=chunk.references,
            filters=chunk.filters,
            created_at=self.created_at,
            envelopes=self.sealing.envelopes(chunk.envelopes) if self.sealing else None,
            comparisons=(
                Comparisons(layout=self.layout, values=comparisons)
                if self.layout is not None and comparisons is not None
                else None
            ),
        )


def _size_bytes(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:  # read_csv says why, in its words
        return 0


def _sealing(
    request: EnvelopeRequest | None,
    header: Sequence[str],
    plan: ColumnPlan,
    secret: LinkageSecret,
    ref_key: ReferenceKey,
) -> EnvelopeSealing | None:
    if request is None:
        return None
    return plan_sealing(
        request, header=header, plan=plan, project=secret.project, agency=ref_key.agency
    )


def _check_invalid_share(problems: tuple[RecordError, ...], total: int, limit: float) -> None:
    rows = len({problem.row for problem in problems})
    if rows and rows > limit * total:
        raise InputError(
            f"{rows} of {total} records ({rows / total:.1%}) have invalid values, more than "
            f"the {limit:.0%} allowed (--max-invalid); first: {problems[0]}. "
            "Check the column mapping and the schema's date formats."
        )


def write_refmap(path: Path, references: Sequence[str], local_ids: Sequence[str]) -> None:
    """Write the local reference map (reference, local_id); it never leaves the agency."""
    table = pa.Table.from_arrays(
        [string_array(references), string_array(local_ids)], names=list(REFMAP_HEADER)
    )
    pacsv.write_csv(table, str(path), pacsv.WriteOptions(quoting_style="needed"))


def read_refmap(path: Path) -> dict[str, str]:
    """Read a local reference map: reference -> local record id."""
    try:
        with path.open(encoding="utf-8", newline="") as handle:
            reader = csv.reader(handle)
            if tuple(next(reader, ())) != REFMAP_HEADER:
                raise InputError(f"{path}: not a fieldlink reference map")
            refmap: dict[str, str] = {}
            for reference, local_id in reader:
                refmap[reference] = local_id
            return refmap
    except (OSError, ValueError) as err:
        raise InputError(f"{path}: cannot be read as a reference map") from err


@contextmanager
def _atomic(target: Path) -> Iterator[Path]:
    # Write beside the target, owner-only, and rename only on success: a failed run never
    # leaves a partial batch or map behind, nor replaces a good one.
    descriptor, name = tempfile.mkstemp(dir=target.parent or Path("."), prefix=f".{target.name}.")
    os.close(descriptor)
    temporary = Path(name)
    try:
        yield temporary
        os.replace(temporary, target)
    finally:
        temporary.unlink(missing_ok=True)


def _layout(schema: LinkageSchema) -> str | None:
    if not schema.comparisons:
        return None
    from linkage.comparisons import comparison_layout  # loaded with the encoder already

    return comparison_layout(schema).text
