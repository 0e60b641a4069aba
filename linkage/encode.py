"""Records -> normalised values -> Bloom filters, in memory, optionally on several cores."""

import multiprocessing
import os
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from enum import StrEnum

import numba
import numpy as np
import numpy.typing as npt

from keys import LinkageSecret
from linkage.bloom import BloomEncoder
from linkage.errors import InvalidValue, RecordError
from linkage.normalize import normalize_value
from linkage.records import ColumnPlan, RecordTable
from linkage.schema import FieldSpec, LinkageSchema

CHUNK_ROWS = 20_000


class OnInvalid(StrEnum):
    """What to do with a record that has an invalid value (an impossible date, say)."""

    # Default: the record's other fields still link, so a typo in one field does not hide
    # the person; the problem is listed all the same.
    BLANK = "blank"  # encode the invalid value as missing and list it
    REJECT = "reject"  # leave the record out of the batch and list it
    FAIL = "fail"  # stop at the first invalid value


@dataclass(frozen=True, slots=True, repr=False)
class EncodedRecords:
    """Filters of the records that were encoded, and what happened to the others."""

    filters: npt.NDArray[np.uint8]  # rows x bytes
    rows: npt.NDArray[np.int64]  # row number (header = 1) of each encoded record
    problems: tuple[RecordError, ...] = ()
    missing: dict[str, int] = field(default_factory=dict)  # field -> records without a value

    def __repr__(self) -> str:
        return f"EncodedRecords(records={len(self.rows)}, problems={len(self.problems)})"


_Outcome = str | None | InvalidValue


def normalize_column(
    spec: FieldSpec, values: Sequence[str]
) -> tuple[list[str | None], list[tuple[int, str]]]:
    """Normalise one column, computing each distinct value once.

    Returns:
        The normalised values (None where missing or invalid), and (index, reason) for
        each invalid value.
    """
    cache: dict[str, _Outcome] = {}
    normalised: list[str | None] = []
    invalid: list[tuple[int, str]] = []
    for index, raw in enumerate(values):
        outcome = cache.get(raw, cache)  # the dict itself marks "not seen yet"
        if outcome is cache:
            try:
                outcome = normalize_value(spec, raw)
            except InvalidValue as err:
                outcome = err
            cache[raw] = outcome
        if isinstance(outcome, InvalidValue):
            invalid.append((index, outcome.reason))
            normalised.append(None)
        else:
            normalised.append(outcome)  # type: ignore[arg-type]
    return normalised, invalid


def encode_columns(
    columns: Mapping[str, Sequence[str]],
    schema: LinkageSchema,
    secret: LinkageSecret,
    *,
    row_numbers: Sequence[int] | None = None,
    on_invalid: OnInvalid = OnInvalid.BLANK,
) -> EncodedRecords:
    """Normalise and encode raw text columns (field name -> values) on the calling core.

    Fields without a column are encoded as missing.

    Args:
        columns: Field name -> raw text of every record.
        schema: The linkage schema.
        secret: The project linkage secret.
        row_numbers: How to name each record in problem reports (default 1, 2, ...).
        on_invalid: Reject, blank or fail on invalid values.

    Raises:
        RecordError: With `on_invalid=FAIL`, for the first invalid value.
    """
    rows = len(next(iter(columns.values()))) if columns else 0
    numbers = np.asarray(
        row_numbers if row_numbers is not None else range(1, rows + 1), dtype=np.int64
    )
    normalised: list[list[str | None]] = []
    problems: list[RecordError] = []
    bad_rows: list[int] = []
    for spec in schema.fields:
        values, invalid = normalize_column(spec, columns.get(spec.name, [""] * rows))
        normalised.append(values)
        problems.extend(
            RecordError(int(numbers[index]), spec.name, reason) for index, reason in invalid
        )
        bad_rows.extend(index for index, _ in invalid)
    problems.sort(key=lambda problem: problem.row)
    if problems and on_invalid is OnInvalid.FAIL:
        raise problems[0]
    keep = np.ones(rows, dtype=bool)
    if on_invalid is OnInvalid.REJECT:
        keep[bad_rows] = False
    kept = (
        [
            [value for value, wanted in zip(column, keep, strict=True) if wanted]
            for column in normalised
        ]
        if not keep.all()
        else normalised
    )
    missing = {
        spec.name: sum(value is None for value in column)
        for spec, column in zip(schema.fields, kept, strict=True)
    }
    filters = BloomEncoder(schema, secret).encode(kept)
    return EncodedRecords(
        filters=filters, rows=numbers[keep], problems=tuple(problems), missing=missing
    )


def encode_records(
    records: Iterable[Mapping[str, str]],
    schema: LinkageSchema,
    secret: LinkageSecret,
    *,
    on_invalid: OnInvalid = OnInvalid.BLANK,
) -> EncodedRecords:
    """Normalise and encode records given as field name -> raw text (row 1 is the first).

    Args:
        records: The records; fields they lack are encoded as missing.
        schema: The linkage schema.
        secret: The project linkage secret.
        on_invalid: Reject, blank or fail on invalid values.

    Returns:
        The filters and a report of invalid values (row and field, never the value).
    """
    listed = list(records)
    columns = {name: [record.get(name) or "" for record in listed] for name in schema.field_names}
    return encode_columns(columns, schema, secret, on_invalid=on_invalid)


def encode_table(
    table: RecordTable,
    plan: ColumnPlan,
    schema: LinkageSchema,
    secret: LinkageSecret,
    *,
    on_invalid: OnInvalid = OnInvalid.BLANK,
    workers: int = 1,
    progress: Callable[[int], None] | None = None,
) -> EncodedRecords:
    """Encode a CSV table in chunks, on `workers` processes (1: in this process).

    Normalisation is Python and the encoder is compiled; chunks on separate processes make
    both use every core. Results are identical whatever the number of workers.

    Args:
        table: The records read from CSV.
        plan: Which column feeds which field.
        schema: The linkage schema.
        secret: The project linkage secret.
        on_invalid: Reject, blank or fail on invalid values.
        workers: Processes to use.
        progress: Called with the number of records finished after each chunk.

    Returns:
        Filters of the encoded records with their row numbers, and the problems found.
    """
    tasks: list[_ChunkTask] = [
        (
            {
                name: table.columns[column][start : start + CHUNK_ROWS]
                for name, column in plan.field_columns.items()
            },
            table.row_numbers[start : start + CHUNK_ROWS],
            schema,
            secret,
            on_invalid,
        )
        for start in range(0, len(table), CHUNK_ROWS)
    ]
    sizes = [len(task[1]) for task in tasks]
    if workers <= 1 or len(tasks) == 1:
        outcomes: Iterable[EncodedRecords] = map(_encode_chunk, tasks)
        results = [
            _report(result, size, progress) for result, size in zip(outcomes, sizes, strict=True)
        ]
    else:
        # spawn, not fork: numba's OpenMP runtime must not be forked once it is running.
        context = multiprocessing.get_context("spawn")
        with ProcessPoolExecutor(max_workers=min(workers, len(tasks)), mp_context=context) as pool:
            results = [
                _report(result, size, progress)
                for result, size in zip(pool.map(_encode_chunk, tasks), sizes, strict=True)
            ]
    return _concatenate(results, schema)


_ChunkTask = tuple[dict[str, list[str]], list[int], LinkageSchema, LinkageSecret, OnInvalid]


def _encode_chunk(task: _ChunkTask) -> EncodedRecords:
    columns, row_numbers, schema, secret, on_invalid = task
    numba.set_num_threads(1)  # one process per core: compiled threads would oversubscribe
    return encode_columns(columns, schema, secret, row_numbers=row_numbers, on_invalid=on_invalid)


def _report(
    result: EncodedRecords, size: int, progress: Callable[[int], None] | None
) -> EncodedRecords:
    if progress is not None:
        progress(size)
    return result


def _concatenate(results: Sequence[EncodedRecords], schema: LinkageSchema) -> EncodedRecords:
    width = schema.encoded_bits // 8
    return EncodedRecords(
        filters=np.concatenate([r.filters for r in results])
        if results
        else np.zeros((0, width), np.uint8),
        rows=np.concatenate([r.rows for r in results]) if results else np.zeros(0, np.int64),
        problems=tuple(problem for r in results for problem in r.problems),
        missing={name: sum(r.missing.get(name, 0) for r in results) for name in schema.field_names},
    )


def default_workers() -> int:
    """Cores this process may use."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
