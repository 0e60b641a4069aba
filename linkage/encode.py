"""Records -> normalised values -> Bloom filters, in memory, optionally on several cores."""

import gc
import mmap
import multiprocessing
import os
import sys
import threading
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import ProcessPoolExecutor
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field, replace
from enum import StrEnum
from itertools import chain
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt

from keys import LinkageSecret, ReferenceKey
from linkage.backend import Backend
from linkage.codepoints import pack_columns, with_column
from linkage.envelopes import EnvelopeSealing
from linkage.errors import InvalidValue, RecordError
from linkage.normalize import normalize_value
from linkage.records import FIRST_DATA_ROW, ColumnPlan, RecordTable
from linkage.schema import FieldSpec, LinkageSchema

if TYPE_CHECKING:
    from linkage.bloom import BloomEncoder
    from linkage.comparisons import ComparisonEncoder

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
    rows: npt.NDArray[np.int64]  # the file line (header = 1) each encoded record starts on
    problems: tuple[RecordError, ...] = ()
    missing: dict[str, int] = field(default_factory=dict)  # field -> records without a value
    local_ids: tuple[str, ...] = ()  # the agency's id of each encoded record, when known
    references: tuple[str, ...] = ()  # its pseudonymous reference, when a key was given
    envelopes: tuple[bytes, ...] = ()  # its sealed disclosure envelope, when asked for
    comparisons: npt.NDArray[np.uint8] | None = None  # per-field encodings, when the schema has

    def __repr__(self) -> str:
        return f"EncodedRecords(records={len(self.rows)}, problems={len(self.problems)})"


@dataclass(frozen=True, slots=True, repr=False)
class Encoders:
    """The encoders of one schema and secret, keys derived once per run.

    Given a backend, every call uses it; given none, each call chooses by its number of
    records. Compiled encoders import numba (about half a second) when they first encode,
    so a caller can read its file meanwhile (`loading_encoders`).
    """

    clk: "BloomEncoder"
    comparisons: "ComparisonEncoder | None"  # None when the schema has no comparisons
    group_keys: Mapping[str, bytes] = field(default_factory=dict)  # family -> group filter key

    @classmethod
    def of(
        cls, schema: LinkageSchema, secret: LinkageSecret, *, backend: Backend | None = None
    ) -> "Encoders":
        """Derive the keys of both encoders (HKDF) for this schema."""
        from linkage.bloom import BloomEncoder
        from linkage.comparisons import ComparisonEncoder

        comparisons = (
            ComparisonEncoder(schema, secret, backend=backend) if schema.comparisons else None
        )
        from linkage.salting.group_filter import group_key

        group_keys = (
            {f.name: group_key(secret, f.name) for f in schema.hardening.salt_families}
            if schema.hardening.group_filters
            else {}
        )
        return cls(
            clk=BloomEncoder(schema, secret, backend=backend),
            comparisons=comparisons,
            group_keys=group_keys,
        )

    @property
    def backend(self) -> Backend | None:
        """The implementation every call uses, or None: chosen per call by size."""
        return self.clk.backend

    def load_compiled(self) -> None:
        """Load the single-threaded compiled code now (numba's cache), e.g. before a fork."""
        self.clk.load_compiled()
        if self.comparisons is not None:
            self.comparisons.load_compiled()
        if self.group_keys:
            from linkage.salting.group_filter import group_filters

            group_filters(bytes(16), [None], self.clk.schema.family_bits, backend=Backend.COMPILED)

    def encode(
        self, columns: Sequence[Sequence[str | None]], *, threads: bool
    ) -> tuple[npt.NDArray[np.uint8], npt.NDArray[np.uint8] | None]:
        """Filters and, when the schema has comparisons, comparison encodings.

        With salt families, each is every family's encoding side by side; a record
        without a family's salt values has zeros there (never a candidate, all missing).
        """
        schema = self.clk.schema
        if not schema.hardening.salt_families:
            packed = pack_columns(columns, len(schema.fields))  # once, for both encoders
            filters = self.clk.encode_packed(packed, threads=threads)
            if self.comparisons is None:
                return filters, None
            return filters, self.comparisons.encode_packed(packed, threads=threads)
        from linkage.salting import family_salts
        from linkage.salting.group_filter import group_filters

        families = schema.hardening.salt_families
        rows = len(columns[0]) if columns else 0
        # Every family's encoding is written into its columns of one array: no copies.
        width = schema.family_bits // 8
        filters = np.zeros((rows, len(families) * width), dtype=np.uint8)
        slot = self.comparisons.layout.words if self.comparisons is not None else 0
        words = np.zeros((rows, len(families) * slot), dtype=np.uint64)
        parts: dict[str, list[str | None]] = {}  # families share most salt parts
        values = pack_columns(columns, len(schema.fields))  # once; each family adds its salt
        for index, family in enumerate(families):
            salts = family_salts(schema, family, columns, parts)
            packed = with_column(values, salts)
            absent = np.fromiter((salt is None for salt in salts), dtype=bool, count=len(salts))
            columns_of = slice(index * width, (index + 1) * width)
            if schema.hardening.group_filters:
                key = self.group_keys[family.name]
                backend = self.backend or Backend.for_rows(len(salts))
                filters[:, columns_of] = group_filters(
                    key, salts, schema.family_bits, backend=backend
                )
            else:
                filters[:, columns_of] = self.clk.encode_packed(
                    packed, threads=threads, salted=True
                )
            filters[absent, columns_of] = 0
            if self.comparisons is not None:
                family_words = words[:, index * slot : (index + 1) * slot]
                self.comparisons.encode_packed(
                    packed, threads=threads, salted=True, out=family_words
                )
                family_words[absent] = 0
        return filters, words.view(np.uint8) if self.comparisons is not None else None


@contextmanager
def loading_encoders(
    schema: LinkageSchema, secret: LinkageSecret, backend: Backend
) -> Iterator[None]:
    """With the compiled backend, import numba and load its encoders on a thread meanwhile.

    Reading and checking a CSV file is mostly Arrow, which releases the GIL: on a second
    core the start-up of the encoder then costs nothing. A failure on the thread is
    dropped; the encoder raises it again, on the caller's thread, when it is used. The
    numpy backend has nothing to load: the body runs alone, and numba is never imported.
    """
    if backend is not Backend.COMPILED:
        yield
        return
    loader = threading.Thread(
        target=_load_quietly, args=(schema, secret), name="fieldlink-load-encoders", daemon=True
    )
    loader.start()
    try:
        yield
    finally:
        loader.join()  # before any fork: a thread must not be mid-import in a child


def _load_quietly(schema: LinkageSchema, secret: LinkageSecret) -> None:
    with suppress(Exception):
        Encoders.of(schema, secret).load_compiled()


def normalize_column(
    spec: FieldSpec, values: Sequence[str]
) -> tuple[list[str | None], list[tuple[int, str]]]:
    """Normalise one column, computing each distinct value once.

    Returns:
        The normalised values (None where missing or invalid), and (index, reason) for
        each invalid value.
    """
    clean: dict[str, str | None] = {}
    reasons: dict[str, str] = {}
    for raw in dict.fromkeys(values):
        try:
            clean[raw] = normalize_value(spec, raw)
        except InvalidValue as err:
            clean[raw] = None
            reasons[raw] = err.reason
    problems = (
        [(index, reasons[raw]) for index, raw in enumerate(values) if raw in reasons]
        if reasons
        else []
    )
    return list(map(clean.__getitem__, values)), problems


def encode_columns(
    columns: Mapping[str, Sequence[str]],
    schema: LinkageSchema,
    secret: LinkageSecret,
    *,
    row_numbers: Sequence[int] | npt.NDArray[np.int64] | None = None,
    on_invalid: OnInvalid = OnInvalid.BLANK,
    threads: bool = True,
    encoders: Encoders | None = None,
) -> EncodedRecords:
    """Normalise and encode raw text columns (field name -> values) on the calling core.

    Fields without a column are encoded as missing.

    Args:
        columns: Field name -> raw text of every record.
        schema: The linkage schema.
        secret: The project linkage secret.
        row_numbers: The file line each record starts on, to name it in problem reports
            (default 2, 3, ...: the lines of a CSV file under its header line).
        on_invalid: Reject, blank or fail on invalid values.
        threads: Let the compiled encoder use every core.
        encoders: This schema's and secret's encoders, when the caller holds them already
            (default: new ones that choose their backend by the number of records).

    Raises:
        RecordError: With `on_invalid=FAIL`, for the first invalid value.
    """
    rows = len(next(iter(columns.values()))) if columns else 0
    numbers = np.asarray(
        row_numbers if row_numbers is not None else range(FIRST_DATA_ROW, FIRST_DATA_ROW + rows),
        dtype=np.int64,
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
        spec.name: column.count(None) for spec, column in zip(schema.fields, kept, strict=True)
    }
    encoders = encoders or Encoders.of(schema, secret)
    filters, comparisons = encoders.encode(kept, threads=threads)
    return EncodedRecords(
        filters=filters,
        rows=numbers[keep],
        problems=tuple(problems),
        missing=missing,
        comparisons=comparisons,
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
    ref_key: ReferenceKey | None = None,
    envelopes: EnvelopeSealing | None = None,
    backend: Backend | None = None,
) -> EncodedRecords:
    """Encode a CSV table in chunks, on `workers` processes (1: in this process).

    Normalisation is Python and the encoder numpy or compiled; chunks on separate processes
    make both use every core. Results are identical whatever the number of workers and
    whichever the backend.

    Args:
        table: The records read from CSV.
        plan: Which column feeds which field.
        schema: The linkage schema.
        secret: The project linkage secret.
        on_invalid: Reject, blank or fail on invalid values.
        workers: Processes to use.
        progress: Called with the number of records finished after each chunk.
        ref_key: The agency's reference key; given, each record's reference is computed
            alongside its filter (on the same worker).
        envelopes: With a reference key, seal each record's disclosure envelope too (on
            the same worker, from the raw values of the sealing's columns).
        backend: The encoders' implementation for every chunk (default: by the table's
            number of records, `Backend.for_rows`).

    Returns:
        Filters of the encoded records with their row numbers, and the problems found.
    """
    job = _job(table, plan, schema, secret, on_invalid, ref_key, envelopes, backend)
    spans = _spans(len(table))
    # The records exist now and live to the end: frozen, the collector neither rescans
    # them at every collection nor, in forked workers, copies the pages they sit on.
    gc.freeze()
    try:
        if workers <= 1 or len(spans) == 1:
            results = [_report(job.run(span), span, progress) for span in spans]
            whole = None
        else:
            results, whole = _in_workers(job, spans, workers, progress)
    finally:
        gc.unfreeze()
    return _concatenate(results, schema, job.encoders, whole)


def encode_chunks(
    table: RecordTable,
    plan: ColumnPlan,
    schema: LinkageSchema,
    secret: LinkageSecret,
    *,
    on_invalid: OnInvalid = OnInvalid.BLANK,
    workers: int = 1,
    progress: Callable[[int], None] | None = None,
    ref_key: ReferenceKey | None = None,
    envelopes: EnvelopeSealing | None = None,
    backend: Backend | None = None,
) -> Iterator[EncodedRecords]:
    """`encode_table`'s work, chunk by chunk: each chunk's records, in the table's order.

    For a caller that writes each chunk away (`linkage.agency.encode_csv` writes it into
    the batch file): memory then holds the chunks the workers finished ahead, not every
    record's encodings (1,904 bytes a record with the hardened schema and envelopes).
    Each chunk's arrays are its own. Concatenated, the chunks are `encode_table`'s result,
    whatever the number of workers. Arguments as `encode_table`'s; leaving the iteration
    early stops the chunks not started.
    """
    job = _job(table, plan, schema, secret, on_invalid, ref_key, envelopes, backend)
    spans = _spans(len(table))
    gc.freeze()  # as in `encode_table`
    try:
        if workers <= 1 or len(spans) == 1:
            for span in spans:
                yield _report(job.run(span), span, progress)
        else:
            yield from _streamed_in_workers(job, spans, workers, progress)
    finally:
        gc.unfreeze()


def _job(
    table: RecordTable,
    plan: ColumnPlan,
    schema: LinkageSchema,
    secret: LinkageSecret,
    on_invalid: OnInvalid,
    ref_key: ReferenceKey | None,
    envelopes: EnvelopeSealing | None,
    backend: Backend | None,
) -> "_Job":
    if envelopes is not None and ref_key is None:
        raise ValueError("envelopes are bound to references: pass the reference key")
    return _Job(
        table=table,
        plan=plan,
        schema=schema,
        secret=secret,
        encoders=Encoders.of(schema, secret, backend=backend or Backend.for_rows(len(table))),
        on_invalid=on_invalid,
        ref_key=ref_key,
        envelopes=envelopes,
    )


def _spans(rows: int) -> list[tuple[int, int]]:
    return [(start, min(start + CHUNK_ROWS, rows)) for start in range(0, rows, CHUNK_ROWS)]


@contextmanager
def _worker_pool(
    job: "_Job", spans: list[tuple[int, int]], workers: int
) -> Iterator[tuple[ProcessPoolExecutor, "_Shared | None"]]:
    """Worker processes for the job's chunks, and the shared memory forked ones write to.

    Forked workers inherit the records instead of receiving them pickled, and write the
    encodings into memory shared with this process (sized for the table) instead of
    returning them pickled; spawned ones return them (no shared memory).
    """
    context = multiprocessing.get_context(_start_method())
    forked = context.get_start_method() == "fork"
    if forked and job.encoders.backend is Backend.COMPILED:
        job.encoders.load_compiled()
    shared = _Shared.of(spans[-1][1], job) if forked else None
    with ProcessPoolExecutor(
        max_workers=min(workers, len(spans)),
        mp_context=context,
        initializer=_install,
        initargs=(job, shared),
    ) as pool:
        yield pool, shared


def _streamed_in_workers(
    job: "_Job", spans: list[tuple[int, int]], workers: int, progress: Callable[[int], None] | None
) -> Iterator[EncodedRecords]:
    """Each chunk's result, in order, as `_in_workers` computes it.

    The shared memory's pages are given back as soon as a chunk is copied out of them, so
    only the pages of chunks not yet taken are ever held.
    """
    with _worker_pool(job, spans, workers) as (pool, shared):
        # A future keeps its result: each is let go once taken, or the results (the
        # encodings themselves, when spawned workers pickle them back) would add up.
        futures = deque(pool.submit(_run_installed, span) for span in spans)
        try:
            for span in spans:
                result = _report(futures.popleft().result(), span, progress)
                yield result if shared is None else shared.take(span, result)
        finally:
            for future in futures:
                future.cancel()


def _in_workers(
    job: "_Job", spans: list[tuple[int, int]], workers: int, progress: Callable[[int], None] | None
) -> tuple[list[EncodedRecords], "_Shared | None"]:
    """Every chunk's result, and all encodings in shared arrays when no record was left out."""
    with _worker_pool(job, spans, workers) as (pool, shared):
        outcomes = zip(pool.map(_run_installed, spans), spans, strict=True)
        results = [_report(result, span, progress) for result, span in outcomes]
    if shared is None:
        return results, None
    results = [
        shared.read(start, result) for result, (start, _) in zip(results, spans, strict=True)
    ]
    complete = sum(len(result.rows) for result in results) == len(shared.filters)
    return results, shared if complete else None


def _shared_rows(rows: int, width: int) -> npt.NDArray[np.uint8]:
    # Anonymous shared memory: what a forked worker writes here, this process reads.
    return np.frombuffer(mmap.mmap(-1, rows * width), dtype=np.uint8).reshape(rows, width)


def _release_rows(rows: npt.NDArray[np.uint8], start: int, stop: int) -> None:
    """Free the shared memory of rows [start, stop), and of the page they start in.

    The caller has read every row before `stop`. The page that `stop` falls in holds
    rows after it too, so it stays; the one `start` falls in goes (its rows before
    `start` were read before). Reading a freed page gives zeros.
    """
    advice = getattr(mmap, "MADV_REMOVE", None)  # Linux: frees a shared mapping's pages
    mapping = _mapping_of(rows)
    if advice is None or mapping is None:
        return  # the pages stay until the mapping goes, as in `encode_table`
    width, page = rows.shape[1], mmap.PAGESIZE
    first, last = start * width // page * page, stop * width // page * page
    if last > first:
        mapping.madvise(advice, first, last - first)


def _mapping_of(rows: npt.NDArray[np.uint8]) -> mmap.mmap | None:
    # rows (a reshaped view) -> the flat array -> the memoryview numpy made of the mapping
    base: object = rows
    while base is not None and not isinstance(base, mmap.mmap):
        base = base.obj if isinstance(base, memoryview) else getattr(base, "base", None)
    return base


@dataclass(frozen=True, slots=True, repr=False)
class _Shared:
    """Every record's filters and comparison encodings, in memory shared with forked workers.

    A worker writes a chunk's rows at the chunk's start; rows left out (REJECT) close up,
    and the parent reads as many rows as the chunk's result has.
    """

    filters: npt.NDArray[np.uint8]
    comparisons: npt.NDArray[np.uint8] | None  # None when the schema has no comparisons

    @classmethod
    def of(cls, rows: int, job: "_Job") -> "_Shared":
        encoder = job.encoders.comparisons
        return cls(
            filters=_shared_rows(rows, job.schema.encoded_bits // 8),
            comparisons=None
            if encoder is None
            else _shared_rows(rows, 8 * encoder.layout.row_words),
        )

    def write(self, start: int, result: EncodedRecords) -> EncodedRecords:
        """In a worker: the chunk's encodings written here; its result without them."""
        stop = start + len(result.rows)
        self.filters[start:stop] = result.filters
        comparisons = result.comparisons
        if self.comparisons is not None and comparisons is not None:
            self.comparisons[start:stop] = comparisons
            comparisons = comparisons[:0]
        return replace(result, filters=result.filters[:0], comparisons=comparisons)

    def read(self, start: int, result: EncodedRecords) -> EncodedRecords:
        """In the parent: a worker's result with its encodings read back from here."""
        stop = start + len(result.rows)
        comparisons = result.comparisons
        if self.comparisons is not None:
            comparisons = self.comparisons[start:stop]
        return replace(result, filters=self.filters[start:stop], comparisons=comparisons)

    def take(self, span: tuple[int, int], result: EncodedRecords) -> EncodedRecords:
        """In the parent: `read`, copied, and the chunk's pages given back.

        Chunks are taken in order, and a worker writes a chunk's rows within its span: the
        rows before the span's end are never read or written again.
        """
        taken = self.read(span[0], result)
        copied = replace(
            taken,
            filters=taken.filters.copy(),
            comparisons=None if taken.comparisons is None else taken.comparisons.copy(),
        )
        for rows in (self.filters, self.comparisons):
            if rows is not None:
                _release_rows(rows, *span)
        return copied


@dataclass(frozen=True, slots=True, repr=False)
class _Job:
    table: RecordTable
    plan: ColumnPlan
    schema: LinkageSchema
    secret: LinkageSecret
    encoders: Encoders  # built once here, inherited by forked workers: keys derived once
    on_invalid: OnInvalid
    ref_key: ReferenceKey | None
    envelopes: EnvelopeSealing | None = None

    def run(self, span: tuple[int, int]) -> EncodedRecords:
        start, stop = span
        columns = {
            name: self.table.column(column, start, stop)
            for name, column in self.plan.field_columns.items()
        }
        row_numbers = self.table.row_numbers[start:stop]
        # One process per core: compiled threads would oversubscribe the machine.
        encoded = encode_columns(
            columns,
            self.schema,
            self.secret,
            row_numbers=row_numbers,
            on_invalid=self.on_invalid,
            threads=False,
            encoders=self.encoders,
        )
        ids = self.table.column(self.plan.id_column, start, stop)
        kept = np.searchsorted(row_numbers, encoded.rows)  # row numbers increase
        local_ids = tuple(ids[position].strip() for position in kept.tolist())
        references = tuple(self.ref_key.references(local_ids)) if self.ref_key else ()
        sealed = self._seal(span, kept.tolist(), references, encoded.rows.tolist())
        return replace(encoded, local_ids=local_ids, references=references, envelopes=sealed)

    def _seal(
        self, span: tuple[int, int], kept: list[int], references: tuple[str, ...], rows: list[int]
    ) -> tuple[bytes, ...]:
        if self.envelopes is None:
            return ()
        values = {}
        for name, column in self.envelopes.columns.items():
            text = self.table.column(column, *span)
            values[name] = [text[position] for position in kept]
        return self.envelopes.seal(values, references, rows)


# A worker process's one job and where its encodings go, set once by its initializer.
_INSTALLED: list[tuple[_Job, _Shared | None]] = []


def _install(job: _Job, shared: _Shared | None) -> None:
    _INSTALLED[:] = [(job, shared)]


def _run_installed(span: tuple[int, int]) -> EncodedRecords:
    job, shared = _INSTALLED[0]
    result = job.run(span)
    return result if shared is None else shared.write(span[0], result)


def _report(
    result: EncodedRecords, span: tuple[int, int], progress: Callable[[int], None] | None
) -> EncodedRecords:
    if progress is not None:
        progress(span[1] - span[0])
    return result


def _concatenate(
    results: Sequence[EncodedRecords],
    schema: LinkageSchema,
    encoders: Encoders,
    whole: _Shared | None = None,  # every record's encodings already in one array each
) -> EncodedRecords:
    width = schema.encoded_bits // 8
    filters = None if whole is None else whole.filters
    if filters is None:
        filters = (
            np.concatenate([r.filters for r in results])
            if results
            else np.zeros((0, width), np.uint8)
        )
    return EncodedRecords(
        filters=filters,
        rows=np.concatenate([r.rows for r in results]) if results else np.zeros(0, np.int64),
        problems=tuple(problem for r in results for problem in r.problems),
        local_ids=tuple(chain.from_iterable(r.local_ids for r in results)),
        references=tuple(chain.from_iterable(r.references for r in results)),
        envelopes=tuple(chain.from_iterable(r.envelopes for r in results)),
        missing={name: sum(r.missing.get(name, 0) for r in results) for name in schema.field_names},
        comparisons=(
            whole.comparisons
            if whole is not None and whole.comparisons is not None
            else _concatenated_comparisons(results, encoders)
        ),
    )


def _concatenated_comparisons(
    results: Sequence[EncodedRecords], encoders: Encoders
) -> npt.NDArray[np.uint8] | None:
    if encoders.comparisons is None:
        return None
    pieces = [r.comparisons for r in results if r.comparisons is not None]
    width = 8 * encoders.comparisons.layout.row_words
    return np.concatenate(pieces) if pieces else np.zeros((0, width), np.uint8)


def _start_method() -> str:
    # fork starts workers in milliseconds, but must not copy a running OpenMP runtime:
    # once this process has run a parallel numba kernel, workers are spawned instead.
    # Without numba's parallel module loaded, no such kernel can have run.
    parallel = sys.modules.get("numba.np.ufunc.parallel")
    if parallel is None:
        return "fork"
    return "spawn" if getattr(parallel, "_is_initialized", True) else "fork"


def default_workers() -> int:
    """Cores this process may use."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
