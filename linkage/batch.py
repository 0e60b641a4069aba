"""The batch file: an Arrow IPC file of references and filters with validated metadata.

This is the wire format between agencies and the hub, so the hub may import this module.
It knows nothing of secrets: it carries the public key check value and schema fingerprint.
"""

import base64
import binascii
import hashlib
import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any, Self

import numpy as np
import numpy.typing as npt
import pyarrow as pa

from linkage.arrow import string_array
from linkage.errors import BatchError, LinkageError
from linkage.ipc_blocks import refuse_compressed
from linkage.match.layout import ComparisonLayout
from linkage.spill import SealedSpill

BATCH_FORMAT = "fieldlink-batch/1"
MAX_FILTER_BITS = 65536
ENVELOPE_COLUMN = "envelope"
COMPARISON_COLUMN = "comparisons"
COMPARISON_META_KEY = "comparison_layout"
ENVELOPE_FIELDS_META_KEY = "envelope_fields"
RELEASED_ENVELOPE_FORMAT = "fieldlink-envelope/1"
MAX_ENVELOPE_BYTES = 4096
_HEX = re.compile(r"^[0-9a-f]+$")
_ENVELOPE_META_KEYS = ("envelope_key", "team_key_id")
_META_KEYS = (
    "format",
    "agency",
    "schema_fingerprint",
    "key_check",
    "filter_bits",
    "record_count",
    "created_at",
)


@dataclass(frozen=True, slots=True, repr=False)
class Envelopes:
    """A batch's sealed disclosure envelopes: one opaque byte string per record.

    Only the project team can open them (`linkage.envelopes`); the hub stores them as they
    are and releases single ones (`released_envelope`).

    Attributes:
        ephemeral_key: The batch's ephemeral X25519 public key, 64 hex digits.
        team_key_id: Id of the team public key the envelopes are sealed to, 16 hex digits.
        sealed: One sealed envelope per record, in the batch's record order.
        fields: The names of the details sealed in them (schema fields or columns), so a
            data officer can check what the team could read before sending; empty in
            batches made before the names were recorded.
    """

    ephemeral_key: str
    team_key_id: str
    sealed: tuple[bytes, ...]
    fields: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if len(self.ephemeral_key) != 64 or not _HEX.match(self.ephemeral_key):
            raise BatchError("envelope key must be 64 hex digits")
        if len(self.team_key_id) != 16 or not _HEX.match(self.team_key_id):
            raise BatchError("team key id must be 16 hex digits")
        sizes = [len(envelope) for envelope in self.sealed]
        if sizes and not 0 < min(sizes) <= max(sizes) <= MAX_ENVELOPE_BYTES:
            raise BatchError(f"envelopes must be 1-{MAX_ENVELOPE_BYTES} bytes each")
        if any(not name or "," in name or len(name) > 80 for name in self.fields):
            raise BatchError("envelope field names must be 1-80 characters without commas")

    def __repr__(self) -> str:
        return f"Envelopes(records={len(self.sealed)}, team_key_id={self.team_key_id})"


@dataclass(frozen=True, slots=True, repr=False)
class Comparisons:
    """A batch's per-field comparison encodings (`linkage.comparisons`), for field scoring.

    Attributes:
        layout: The public layout document (JSON, `linkage.match.layout`): which bytes of
            a row hold which comparison.
        values: records x bytes, one row per record in the batch's record order.
    """

    layout: str
    values: npt.NDArray[np.uint8]

    def __post_init__(self) -> None:
        if self.values.ndim != 2 or self.values.shape[1] % 8 or not self.values.shape[1]:
            raise BatchError("comparison encodings must be whole 64-bit words")
        ComparisonLayout.parse(self.layout).check_width(self.values.shape[1])

    def __repr__(self) -> str:
        return f"Comparisons(records={len(self.values)}, bytes={self.values.shape[1]})"


@dataclass(frozen=True, slots=True, repr=False)
class Batch:
    """One agency's encoded records: pseudonymous references, packed filters, envelopes."""

    agency: str
    schema_fingerprint: str
    key_check: str
    filter_bits: int
    references: tuple[str, ...]
    filters: npt.NDArray[np.uint8]  # records x filter_bits // 8
    created_at: str
    envelopes: Envelopes | None = None  # sealed disclosure envelopes, when the agency made them
    comparisons: Comparisons | None = None  # field-level encodings, when the schema has them

    def __post_init__(self) -> None:
        _check_metadata(self)
        if self.filters.ndim != 2 or self.filters.shape[1] * 8 != self.filter_bits:
            raise BatchError(f"filters must be {self.filter_bits // 8} bytes each")
        if self.filters.shape[0] != len(self.references):
            raise BatchError("one filter per reference is required")
        if len(set(self.references)) != len(self.references):
            raise BatchError(f"references must be unique ({_first_duplicate(self.references)})")
        if self.envelopes is not None and len(self.envelopes.sealed) != len(self.references):
            raise BatchError("one envelope per reference is required")
        if self.comparisons is not None and len(self.comparisons.values) != len(self.references):
            raise BatchError("one comparison encoding per reference is required")

    def __len__(self) -> int:
        return len(self.references)

    def __repr__(self) -> str:
        sealed = f", envelopes_for={self.envelopes.team_key_id}" if self.envelopes else ""
        return (
            f"Batch(agency={self.agency!r}, records={len(self)}, bits={self.filter_bits}, "
            f"schema={self.schema_fingerprint[:12]}, key_check={self.key_check}{sealed})"
        )

    @classmethod
    def create(
        cls,
        *,
        agency: str,
        schema_fingerprint: str,
        key_check: str,
        references: list[str],
        filters: npt.NDArray[np.uint8],
        envelopes: Envelopes | None = None,
        comparisons: Comparisons | None = None,
    ) -> Self:
        """A new batch stamped with the current time."""
        return cls(
            agency=agency,
            schema_fingerprint=schema_fingerprint,
            key_check=key_check,
            filter_bits=int(filters.shape[1]) * 8,
            references=tuple(references),
            filters=filters,
            created_at=datetime.now(UTC).isoformat(timespec="seconds"),
            envelopes=envelopes,
            comparisons=comparisons,
        )

    def metadata(self) -> dict[str, str]:
        """The public metadata, as stored in the file."""
        meta = {
            "format": BATCH_FORMAT,
            "agency": self.agency,
            "schema_fingerprint": self.schema_fingerprint,
            "key_check": self.key_check,
            "filter_bits": str(self.filter_bits),
            "record_count": str(len(self)),
            "created_at": self.created_at,
        }
        if self.envelopes is not None:
            meta["envelope_key"] = self.envelopes.ephemeral_key
            meta["team_key_id"] = self.envelopes.team_key_id
            if self.envelopes.fields:
                meta[ENVELOPE_FIELDS_META_KEY] = ",".join(self.envelopes.fields)
        if self.comparisons is not None:
            meta[COMPARISON_META_KEY] = self.comparisons.layout
        return meta

    def digest(self) -> str:
        """SHA-256 over metadata, references, filters and envelopes: the content identity."""
        hasher = hashlib.sha256(json.dumps(self.metadata(), sort_keys=True).encode())
        hasher.update("\n".join(self.references).encode())
        hasher.update(np.ascontiguousarray(self.filters).tobytes())
        if self.envelopes is not None:
            sizes = np.fromiter(map(len, self.envelopes.sealed), dtype=">u4")
            hasher.update(sizes.tobytes())
            hasher.update(b"".join(self.envelopes.sealed))
        if self.comparisons is not None:
            hasher.update(np.ascontiguousarray(self.comparisons.values).tobytes())
        return hasher.hexdigest()


class FamilyWords:
    """A digested batch's comparison encodings, one array per salt family, for one run.

    A run's salt families are compared one after the other, and once a family's pairs
    have their levels its words are not read again. So the run that pools the batch takes
    the words (`take`) and lets each family's go when it is done: at 1,000,000 records a
    side that is 2 GB less by the end of the comparing step. A large batch's words wait
    on disk, sealed (`linkage.spill.SealedSpill`), until the run reads its family. Taken
    once: matching the same `DigestedBatch` again is refused; read the batch again for
    another run.

    Attributes:
        layout: The public layout document (JSON, `linkage.match.layout`), as in the batch.
        records: Records (rows of each family's array).
    """

    __slots__ = ("_families", "layout", "records")

    def __init__(
        self, layout: str, families: list[npt.NDArray[np.uint64]] | SealedSpill, records: int
    ) -> None:
        parsed = ComparisonLayout.parse(layout)
        if isinstance(families, SealedSpill):
            if families.parts != parsed.families:
                raise BatchError("comparison words must be one array per family")
        elif len(families) != parsed.families or any(
            words.shape != (records, parsed.words) for words in families
        ):
            raise BatchError("comparison words must be one array per family, a row per record")
        self.layout, self.records = layout, records
        self._families: list[npt.NDArray[np.uint64]] | SealedSpill | None = families

    @property
    def spilled(self) -> bool:
        """Whether the words wait on disk (sealed) rather than in memory."""
        return isinstance(self._families, SealedSpill)

    def take(self) -> "TakenWords":
        """The families' words, handed over: this holder keeps none of them.

        Raises:
            LinkageError: A run took them already.
        """
        families, self._families = self._held(), None
        return TakenWords(families)

    def head(self, count: int) -> "FamilyWords":
        """The first `count` records' words, copied (the rest stays to be taken)."""
        families = self._held()
        if isinstance(families, SealedSpill):
            parts = [families.head(part, count) for part in range(families.parts)]
        else:
            parts = [words[:count].copy() for words in families]
        return FamilyWords(self.layout, parts, min(count, self.records))

    def _held(self) -> list[npt.NDArray[np.uint64]] | SealedSpill:
        if self._families is None:
            raise LinkageError("this batch's comparison words went to a run already: read it again")
        return self._families

    def __repr__(self) -> str:
        taken = ", taken" if self._families is None else ", spilled" if self.spilled else ""
        return f"FamilyWords(records={self.records}{taken})"


class TakenWords:
    """One batch's comparison words as a run took them: each family's handed over once.

    In memory, `family` hands the array over and keeps no reference; spilled, it reads the
    family back from its sealed file, which is then gone.
    """

    __slots__ = ("_families",)

    def __init__(self, families: Sequence[npt.NDArray[np.uint64]] | SealedSpill) -> None:
        self._families: list[npt.NDArray[np.uint64] | None] | SealedSpill = (
            families if isinstance(families, SealedSpill) else list(families)
        )

    def family(self, family: int) -> npt.NDArray[np.uint64]:
        """One family's words (records x words), handed over.

        Raises:
            LinkageError: The family was handed over already.
        """
        if isinstance(self._families, SealedSpill):
            return self._families.read(family)
        words, self._families[family] = self._families[family], None
        if words is None:
            raise LinkageError(f"salt family {family + 1}'s comparison words were taken already")
        return words

    def drop(self, family: int) -> None:
        """Let go of one family's words without reading them."""
        if isinstance(self._families, SealedSpill):
            self._families.drop(family)
        else:
            self._families[family] = None

    def __repr__(self) -> str:
        return f"TakenWords(spilled={isinstance(self._families, SealedSpill)})"


@dataclass(frozen=True, slots=True, repr=False)
class DigestedBatch:
    """A batch as salt-group matching reads it: filters reduced to one digest per family.

    With group filters (`ComparisonLayout.group_filters`) matching compares nothing of a
    record's filter but a 64-bit digest of each salt family's part of it
    (`linkage.match.groups.family_digests`). `linkage.batch_stream.read_for_matching`
    computes those digests as the filters pass and keeps them instead: 56 bytes a record
    for the hardened schema's seven families in place of 896 (1.7 GB at 1,000,000 records
    a side). Its comparison encodings are held family by family, for one run
    (`FamilyWords`). It cannot be written back: a batch file carries the filters.

    Attributes:
        digests: records x families; 0 where the record is not in the family.
        comparisons: The comparison encodings, one array of words per family.
        The others: as `Batch`'s.
    """

    agency: str
    schema_fingerprint: str
    key_check: str
    filter_bits: int
    references: tuple[str, ...]
    digests: npt.NDArray[np.uint64]
    created_at: str
    comparisons: FamilyWords

    def __post_init__(self) -> None:
        _check_metadata(self)
        layout = ComparisonLayout.parse(self.comparisons.layout)
        if not layout.group_filters:
            raise BatchError("only a batch with group filters can be read as digests")
        if self.digests.shape != (len(self.references), layout.families):
            raise BatchError("one digest per record and salt family is required")
        if self.comparisons.records != len(self.references):
            raise BatchError("one comparison encoding per reference is required")
        if len(set(self.references)) != len(self.references):
            raise BatchError(f"references must be unique ({_first_duplicate(self.references)})")

    def __len__(self) -> int:
        return len(self.references)

    def __repr__(self) -> str:
        return (
            f"DigestedBatch(agency={self.agency!r}, records={len(self)}, "
            f"families={self.digests.shape[1]}, schema={self.schema_fingerprint[:12]}, "
            f"key_check={self.key_check})"
        )


# What a run matches: a batch as read, or one digested for salt-group matching.
MatchBatch = Batch | DigestedBatch


def released_envelope(batch: Batch, index: int) -> dict[str, str]:
    """The JSON document the hub relays to the team for one record's envelope.

    Everything in it is public or sealed: the agency, the record's pseudonymous reference,
    the batch's ephemeral key, the team key id, and the sealed bytes (base64). The team
    opens it with `linkage.envelopes.open_released`.

    Raises:
        BatchError: The batch has no envelopes.
    """
    if batch.envelopes is None:
        raise BatchError("the batch has no envelopes")
    return {
        "format": RELEASED_ENVELOPE_FORMAT,
        "agency": batch.agency,
        "reference": batch.references[index],
        "ephemeral_key": batch.envelopes.ephemeral_key,
        "team_key_id": batch.envelopes.team_key_id,
        "sealed": base64.b64encode(batch.envelopes.sealed[index]).decode(),
    }


def _check_metadata(batch: Batch | DigestedBatch) -> None:
    if not batch.agency or len(batch.agency) > 80:
        raise BatchError("agency must be 1-80 characters")
    if len(batch.schema_fingerprint) > 128 or not batch.schema_fingerprint:
        raise BatchError("schema fingerprint is missing or too long")
    if len(batch.key_check) != 16 or not _HEX.match(batch.key_check):
        raise BatchError("key check value must be 16 hex digits")
    if not 8 <= batch.filter_bits <= MAX_FILTER_BITS or batch.filter_bits % 8:
        raise BatchError(f"filter_bits must be a multiple of 8 in 8..{MAX_FILTER_BITS}")


def refmap_line(index: int) -> int:
    """The line of the batch's reference map (`NAME.refs.csv`) holding record `index` (0-based).

    The map lists the references in the batch's order under a header line, so a batch's
    records are named by the same file lines as the CSV records they came from are.
    """
    return index + 2


def _first_duplicate(references: tuple[str, ...]) -> str:
    seen: set[str] = set()
    for index, reference in enumerate(references):
        if reference in seen:
            return f"the record on line {refmap_line(index)} of the reference map repeats one"
        seen.add(reference)
    return "none"


def record_batch(batch: Batch) -> pa.RecordBatch:
    """A batch's records as one Arrow record batch, its columns as a batch file holds them.

    No metadata: the file's schema carries it (`write_batch`, `linkage.batch_writer`).
    """
    columns = [string_array(batch.references), _fixed_binary(batch.filters)]
    names = ["ref", "filter"]
    if batch.envelopes is not None:
        columns.append(pa.array(batch.envelopes.sealed, type=pa.binary()))
        names.append(ENVELOPE_COLUMN)
    if batch.comparisons is not None:
        columns.append(_fixed_binary(batch.comparisons.values))
        names.append(COMPARISON_COLUMN)
    return pa.RecordBatch.from_arrays(columns, names=names)


def write_batch(batch: Batch, sink: Path | IO[bytes]) -> None:
    """Write a batch as an Arrow IPC file (columns `ref` and `filter`, metadata on the schema)."""
    table = pa.Table.from_batches([record_batch(batch)])
    table = table.replace_schema_metadata(
        {f"fieldlink.{k}": v for k, v in batch.metadata().items()}
    )
    if isinstance(sink, Path):
        with pa.OSFile(str(sink), "wb") as out, pa.ipc.new_file(out, table.schema) as writer:
            writer.write_table(table)
        return
    # A caller's file object stays open: closing it is the caller's business.
    with pa.ipc.new_file(pa.PythonFile(sink, mode="w"), table.schema) as writer:
        writer.write_table(table)


def _fixed_binary(rows: npt.NDArray[np.uint8]) -> pa.FixedSizeBinaryArray:
    return pa.FixedSizeBinaryArray.from_buffers(
        pa.binary(rows.shape[1]), len(rows), [None, pa.py_buffer(np.ascontiguousarray(rows))]
    )


def read_batch(source: Path | bytes | IO[bytes]) -> Batch:
    """Read and validate a batch file; every inconsistency is a BatchError.

    Args:
        source: A path, the file's bytes, or a binary file object.

    Returns:
        The batch, validated: format, metadata, filter width, record count, unique references.
    """
    table = _read_table(source)
    meta, count = _header(table.schema)
    if table.num_rows != count:
        raise BatchError(f"metadata says {count} records, the file holds {table.num_rows}")
    return _batch(table, meta)


def check_batch_schema(schema: pa.Schema) -> dict[str, str]:
    """Every check of `read_batch` that needs no record: metadata, columns and their types.

    For readers that see the schema before the records (`linkage.batch_stream`): the
    checks are `read_batch`'s own, run on an empty table of the schema, so a file is
    refused with the same message either way.

    Returns:
        The fieldlink metadata, without the `fieldlink.` prefix.
    """
    try:
        meta, _ = _header(schema)
        _batch(schema.empty_table(), meta)
    except UnicodeDecodeError as err:  # a column name or metadata that is not UTF-8
        raise BatchError("not a batch file (an Arrow IPC file was expected)") from err
    return meta


def _header(schema: pa.Schema) -> tuple[dict[str, str], int]:
    meta = _metadata(schema)
    missing = [key for key in _META_KEYS if key not in meta]
    if missing:
        raise BatchError(f"batch metadata lacks {', '.join(missing)}")
    if meta["format"] != BATCH_FORMAT:
        raise BatchError(f"unsupported batch format (this fieldlink reads {BATCH_FORMAT})")
    _int(meta, "filter_bits")
    return meta, _int(meta, "record_count")


def _batch(table: pa.Table, meta: dict[str, str]) -> Batch:
    if len(set(table.column_names)) != len(table.column_names):
        raise BatchError("batch has two columns of the same name")
    filter_bits = _int(meta, "filter_bits")
    return Batch(
        agency=meta["agency"],
        schema_fingerprint=meta["schema_fingerprint"],
        key_check=meta["key_check"],
        filter_bits=filter_bits,
        references=_references(table),
        filters=_filters(table, filter_bits),
        created_at=meta["created_at"],
        envelopes=_envelopes(table, meta),
        comparisons=_comparisons(table, meta),
    )


def _read_table(source: Path | bytes | IO[bytes]) -> pa.Table:
    # A compressed file is refused before pyarrow inflates anything (linkage.ipc_blocks).
    try:
        if isinstance(source, Path):
            with pa.memory_map(str(source)) as mapped:
                refuse_compressed(memoryview(mapped.read_buffer()))
                mapped.seek(0)
                return _validated(pa.ipc.open_file(mapped).read_all())
        buffer = source if isinstance(source, bytes) else source.read()
        refuse_compressed(buffer)
        return _validated(pa.ipc.open_file(pa.py_buffer(buffer)).read_all())
    except FileNotFoundError as err:
        raise BatchError(f"{source!s}: does not exist") from err
    except (pa.ArrowInvalid, pa.ArrowIOError, OSError, UnicodeDecodeError) as err:
        # (a column name that is not UTF-8 fails when the table is checked)
        raise BatchError("not a batch file (an Arrow IPC file was expected)") from err


_TEXT_AS_BYTES = {pa.string(): pa.binary(), pa.large_string(): pa.large_binary()}


def _validated(table: pa.Table) -> pa.Table:
    # Arrow's file reader takes buffer offsets as the file states them: a damaged file can
    # make a later read of the table run past its buffers (a crash, not an error). Each
    # column is checked in full first, so that it is refused as a BatchError instead; text
    # columns as bytes, since their UTF-8 is checked later with its own message.
    for column in table.columns:
        as_bytes = _TEXT_AS_BYTES.get(column.type)
        for chunk in column.chunks:
            (chunk.view(as_bytes) if as_bytes is not None else chunk).validate(full=True)
    return table


def _metadata(schema: pa.Schema) -> dict[str, str]:
    try:
        return {
            key.decode().removeprefix("fieldlink."): value.decode()
            for key, value in (schema.metadata or {}).items()
            if key.startswith(b"fieldlink.")
        }
    except UnicodeDecodeError as err:
        raise BatchError("batch metadata is not valid UTF-8") from err


def _int(meta: dict[str, str], key: str) -> int:
    try:
        return int(meta[key])
    except ValueError as err:
        raise BatchError(f"batch metadata {key} is not a number") from err


def _references(table: pa.Table) -> tuple[str, ...]:
    if "ref" not in table.column_names or not pa.types.is_string(table.schema.field("ref").type):
        raise BatchError("batch lacks a text column 'ref'")
    column = table.column("ref")
    if column.null_count:
        raise BatchError("batch has records without a reference")
    try:
        column.validate(full=True)  # Arrow reads string columns without checking UTF-8
    except pa.ArrowInvalid as err:
        raise BatchError("references must be valid UTF-8") from err
    references = tuple(column.to_pylist())
    if any(not reference or len(reference) > 128 for reference in references):
        raise BatchError("references must be 1-128 characters")
    return references


def _filters(table: pa.Table, filter_bits: int) -> npt.NDArray[np.uint8]:
    if "filter" not in table.column_names:
        raise BatchError("batch lacks a column 'filter'")
    kind = table.schema.field("filter").type
    if not pa.types.is_fixed_size_binary(kind) or kind.byte_width * 8 != filter_bits:
        raise BatchError(f"filters must be fixed-size binary of {filter_bits // 8} bytes")
    return _fixed_rows(table, "filter", "a filter")


def _comparisons(table: pa.Table, meta: dict[str, str]) -> Comparisons | None:
    # Batches of schemas without comparisons (and older batches) have neither.
    has_column = COMPARISON_COLUMN in table.column_names
    if COMPARISON_META_KEY not in meta and not has_column:
        return None
    if COMPARISON_META_KEY not in meta or not has_column:
        raise BatchError("batch has comparison encodings without their layout, or the reverse")
    if not pa.types.is_fixed_size_binary(table.schema.field(COMPARISON_COLUMN).type):
        raise BatchError(f"column '{COMPARISON_COLUMN}' must be fixed-size binary")
    values = _fixed_rows(table, COMPARISON_COLUMN, "a comparison encoding")
    return Comparisons(layout=meta[COMPARISON_META_KEY], values=values)


def _fixed_rows(table: pa.Table, name: str, what: str) -> npt.NDArray[np.uint8]:
    kind = table.schema.field(name).type
    column = table.column(name).combine_chunks()
    if column.null_count:
        raise BatchError(f"batch has records without {what}")
    data = np.frombuffer(column.buffers()[1], dtype=np.uint8)
    start = column.offset * kind.byte_width
    rows = data[start : start + len(column) * kind.byte_width]
    return rows.reshape(len(column), kind.byte_width).copy()


def _envelopes(table: pa.Table, meta: dict[str, str]) -> Envelopes | None:
    # Batches made without envelopes (and every batch older than envelopes) have neither
    # the column nor the metadata; having one without the other is a broken file.
    labelled = [key for key in _ENVELOPE_META_KEYS if key in meta]
    has_column = ENVELOPE_COLUMN in table.column_names
    if not labelled and not has_column:
        return None
    if len(labelled) != len(_ENVELOPE_META_KEYS) or not has_column:
        raise BatchError("batch has envelopes without their key metadata, or the reverse")
    kind = table.schema.field(ENVELOPE_COLUMN).type
    if not (pa.types.is_binary(kind) or pa.types.is_large_binary(kind)):
        raise BatchError(f"column '{ENVELOPE_COLUMN}' must be binary")
    column = table.column(ENVELOPE_COLUMN)
    if column.null_count:
        raise BatchError("batch has records without an envelope")
    return Envelopes(
        ephemeral_key=meta["envelope_key"],
        team_key_id=meta["team_key_id"],
        sealed=tuple(column.to_pylist()),
        fields=tuple(name for name in meta.get(ENVELOPE_FIELDS_META_KEY, "").split(",") if name),
    )


def import_clkhash(
    document: Any, *, agency: str, schema_fingerprint: str, key_check: str, references: list[str]
) -> Batch:
    """Turn clkhash output (`{"clks": [base64, ...]}`) into a batch.

    Args:
        document: The parsed JSON of clkhash's output file.
        agency: The agency the encodings belong to.
        schema_fingerprint: Identifies the clkhash schema the encodings were made with.
        key_check: Key check value of the secret the encodings were made with.
        references: One pseudonymous reference per encoding, in order.

    Returns:
        The batch.
    """
    clks = document.get("clks") if isinstance(document, dict) else None
    if not isinstance(clks, list) or not clks:
        raise BatchError('not clkhash output: expected {"clks": [...]} with at least one entry')
    try:
        raw = [base64.b64decode(clk, validate=True) for clk in clks]
    except (binascii.Error, TypeError, ValueError) as err:
        raise BatchError("clkhash output holds an entry that is not base64") from err
    widths = {len(item) for item in raw}
    if len(widths) != 1:
        raise BatchError("clkhash encodings differ in length")
    filters = np.frombuffer(b"".join(raw), dtype=np.uint8).reshape(len(raw), -1)
    # clkhash packs bit 0 as the most significant bit of byte 0; fieldlink packs it as the
    # least significant. Reversing the bits of each byte keeps bit positions meaningful.
    filters = np.unpackbits(filters, axis=1, bitorder="big")
    filters = np.packbits(filters, axis=1, bitorder="little")
    return Batch.create(
        agency=agency,
        schema_fingerprint=schema_fingerprint,
        key_check=key_check,
        references=references,
        filters=filters,
    )
