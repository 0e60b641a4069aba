"""Batch files read front to back from a stream of byte chunks, keeping only what is asked.

The hub keeps each upload sealed in 8 MiB chunks (`service.vault`) and decrypts it a chunk
at a time. `linkage.batch.read_batch` needs the whole file at hand: Arrow's file reader
starts from the footer, at the end. But an Arrow IPC file is the IPC stream format between
its 8-byte magic and its footer: a schema message, then record batch messages, each a
flatbuffer header and a body holding the columns' buffers one after another
(arrow/format/Message.fbs). This module walks those messages as the bytes arrive and hands
each column's buffers to what the caller asked for:

- `read_streamed`: a batch without its envelopes. Filters and comparison encodings
  are copied straight into their final arrays, references decoded; envelopes are
  checked by their sizes and skipped.
- `read_for_matching` (and `read_file_for_matching` for a file on disk): what a run
  needs. For batches of group filters, each filter is reduced to its salt families'
  digests as it passes and the comparison encodings are split by family
  (`linkage.batch.DigestedBatch`); other batches as `read_streamed` reads them.
- `read_reference_column`: the references alone (the upload checks compare them with
  the agency's earlier uploads).
- `RowScan`: one pass handing the fixed-size columns' rows to visitors a slice at a
  time, keeping nothing but the references when asked (the upload checks, which read an
  upload in several passes rather than hold its filters and comparison encodings).
- `pick_envelopes`: the envelopes of some references only (a release), found by row.

So a reader holds what it returns plus one chunk, never the file or its envelopes.

What it accepts is what `read_batch` accepts, refused with the same messages (the schema
checks are `read_batch`'s own, `check_batch_schema`), within three limits that files of
`fieldlink encode` never reach: record batch bodies are uncompressed (`read_batch`
refuses compressed ones too, `linkage.ipc_blocks`); columns are of plain types (numbers,
text, binary, lists and structs of them: no dictionary, union, null or view columns); and
a record batch lays out its buffers in column order, references before envelopes. The hub
reads uploads only this way, so what it checked on upload is what it matches and releases.
"""

import struct
from collections.abc import Callable, Collection, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

from linkage.batch import (
    COMPARISON_COLUMN,
    COMPARISON_META_KEY,
    ENVELOPE_COLUMN,
    MAX_ENVELOPE_BYTES,
    Batch,
    Comparisons,
    DigestedBatch,
    FamilyWords,
    check_batch_schema,
    refmap_line,
)
from linkage.errors import BatchError
from linkage.ipc_blocks import COMPRESSED, MAGIC
from linkage.match.groups import family_digests
from linkage.match.layout import ComparisonLayout
from linkage.spill import SealedSpill, SpillSettings

__all__ = [
    "Picked",
    "RowScan",
    "RowVisitor",
    "Streamed",
    "pick_envelopes",
    "read_file_for_matching",
    "read_for_matching",
    "read_reference_column",
    "read_streamed",
]

NOT_IPC = "not a batch file (an Arrow IPC file was expected)"
FILE_CHUNK = 8 << 20  # bytes read at a time from a batch file on disk
_CONTINUATION = 0xFFFFFFFF
_MAX_METADATA = 16 * 1024 * 1024  # a message header: the schema, or one batch's buffer list
_MAX_FOOTER = 16 * 1024 * 1024
_SCHEMA, _DICTIONARY_BATCH, _RECORD_BATCH = 1, 2, 3  # MessageHeader union members
_MESSAGE_HEADER_TYPE, _MESSAGE_HEADER, _MESSAGE_BODY_LENGTH = 1, 2, 3
_BATCH_LENGTH, _BATCH_NODES, _BATCH_BUFFERS, _BATCH_COMPRESSION, _BATCH_VARIADIC = range(5)


@dataclass(frozen=True, slots=True, repr=False)
class Streamed:
    """A batch file read for matching: everything but the envelopes.

    Attributes:
        batch: The batch, checked as `read_batch` checks it, without its envelopes.
        references: The reference column as one Arrow array (for checks over many).
        sealed: Whether the file carries envelopes (checked, not kept).
    """

    batch: Batch
    references: pa.Array
    sealed: bool

    def __repr__(self) -> str:
        return f"Streamed({self.batch!r}, sealed={self.sealed})"


@dataclass(frozen=True, slots=True, repr=False)
class Picked:
    """What a batch file holds for some references.

    Attributes:
        meta: The file's fieldlink metadata (public: agency, keys' ids, counts).
        envelopes: Each asked reference the file holds -> its sealed envelope, or None
            when the file carries no envelopes. References it does not hold are absent.
    """

    meta: dict[str, str]
    envelopes: dict[str, bytes | None] = field(default_factory=dict)

    def __repr__(self) -> str:
        return f"Picked(found={len(self.envelopes)})"


def read_streamed(chunks: Iterable[bytes], *, size_bytes: int | None = None) -> Streamed:
    """Read a batch file from its bytes in chunks, its envelopes checked and left out.

    Args:
        chunks: The file's bytes, in chunks of any size, front to back.
        size_bytes: The file's size when known: no array larger than it is allocated
            before the bytes that fill it have arrived.

    Raises:
        BatchError: As `read_batch` would for the same file, or past the limits above.
    """
    walker = _Walker(chunks, size_bytes)
    meta, count = walker.start()
    return _streamed(walker, meta, count)


def _streamed(walker: "_Walker", meta: dict[str, str], count: int) -> Streamed:
    """The rest of `read_streamed`, from the schema on."""
    schema = walker.schema
    filter_bits = int(meta["filter_bits"])
    filters = _Rows(count, filter_bits // 8, "a filter")
    references = _References()
    handlers: dict[str, _Handler] = {"ref": references, "filter": filters}
    comparisons = None
    if COMPARISON_COLUMN in schema.names:
        width = schema.field(COMPARISON_COLUMN).type.byte_width
        comparisons = _Rows(count, width, "a comparison encoding")
        handlers[COMPARISON_COLUMN] = comparisons
    sealed = ENVELOPE_COLUMN in schema.names
    if sealed:
        handlers[ENVELOPE_COLUMN] = _Envelopes(schema.field(ENVELOPE_COLUMN).type, None)
    walker.walk(handlers, count)
    column = references.column()
    batch = Batch(
        agency=meta["agency"],
        schema_fingerprint=meta["schema_fingerprint"],
        key_check=meta["key_check"],
        filter_bits=filter_bits,
        references=tuple(column.to_pylist()),
        filters=filters.array(),
        created_at=meta["created_at"],
        comparisons=(
            Comparisons(layout=meta["comparison_layout"], values=comparisons.array())
            if comparisons is not None
            else None
        ),
    )
    return Streamed(batch=batch, references=column, sealed=sealed)


def read_for_matching(
    chunks: Iterable[bytes],
    *,
    size_bytes: int | None = None,
    spill: SpillSettings | None = None,
) -> Batch | DigestedBatch:
    """A batch file read for a run: as `read_streamed` reads it, or digested when it can be.

    A batch whose comparison layout has group filters comes back as a `DigestedBatch`:
    each record's filter reduced to its salt families' digests as the bytes pass, a few
    thousand records at a time, so the filters are never held. With `spill`, a batch of
    more records than it allows keeps its comparison words on disk, sealed, family by
    family (`linkage.spill`), for the run to read back one family at a time. Others come
    back as `read_streamed`'s batch. Either way every check of `read_streamed` is made.
    """
    walker = _Walker(chunks, size_bytes)
    meta, count = walker.start()
    layout = _group_layout(meta)
    if layout is None:
        return _streamed(walker, meta, count).batch
    filter_bits = int(meta["filter_bits"])
    if filter_bits % (8 * layout.families):
        raise BatchError("the filters do not split into the layout's salt families")
    digests = _Digests(count, filter_bits // 8, layout.families)
    references = _References()
    width = walker.schema.field(COMPARISON_COLUMN).type.byte_width
    if width != layout.row_words * 8:
        raise BatchError("comparison encodings must be whole 64-bit words")
    comparisons = _FamilyRows(count, layout.words, layout.families, spill)
    handlers: dict[str, _Handler] = {
        "ref": references,
        "filter": digests,
        COMPARISON_COLUMN: comparisons,
    }
    if ENVELOPE_COLUMN in walker.schema.names:
        handlers[ENVELOPE_COLUMN] = _Envelopes(walker.schema.field(ENVELOPE_COLUMN).type, None)
    walker.walk(handlers, count)
    return DigestedBatch(
        agency=meta["agency"],
        schema_fingerprint=meta["schema_fingerprint"],
        key_check=meta["key_check"],
        filter_bits=filter_bits,
        references=tuple(references.column().to_pylist()),
        digests=digests.array(),
        created_at=meta["created_at"],
        comparisons=comparisons.family_words(meta[COMPARISON_META_KEY]),
    )


def read_file_for_matching(
    path: Path, *, spill: SpillSettings | None = None
) -> Batch | DigestedBatch:
    """`read_for_matching` of a batch file on disk, read in 8 MiB chunks."""
    with path.open("rb") as handle:
        chunks = iter(lambda: handle.read(FILE_CHUNK), b"")
        return read_for_matching(chunks, size_bytes=path.stat().st_size, spill=spill)


def _group_layout(meta: dict[str, str]) -> ComparisonLayout | None:
    """The file's comparison layout when it has group filters (digests serve matching)."""
    text = meta.get(COMPARISON_META_KEY)
    if text is None:
        return None
    layout = ComparisonLayout.parse(text)
    return layout if layout.group_filters else None


def read_reference_column(chunks: Iterable[bytes], *, size_bytes: int | None = None) -> pa.Array:
    """The reference column of a batch file (one Arrow array); every other column skipped."""
    walker = _Walker(chunks, size_bytes)
    _, count = walker.start()
    references = _References()
    walker.walk({"ref": references}, count)
    return references.column()


RowVisitor = Callable[[int, npt.NDArray[np.uint8]], None]
SCAN_SLICE_BYTES = 16 << 20  # bytes of a fixed-size column handed to a visitor at a time


class RowScan:
    """One pass over a batch file, handing fixed-size columns' rows to visitors by slices.

    Opening reads and checks the schema (`meta`, `count`, `sealed` are then known), so a
    caller can choose its visitors by them; `walk` reads the records. Every check of
    `read_streamed` is made (columns without a visitor are checked and passed over), but
    nothing is kept but the references, when asked (`walk_keeping_references`): each
    visitor gets (first row, rows as records x bytes) for slices of about
    `SCAN_SLICE_BYTES`, in row order, and the rows are overwritten by the next slice. So a
    pass holds one chunk and one slice; a caller that must see the file several times (the
    upload checks, `service.upload_scan`) opens it again for each pass.

    Attributes:
        meta: The file's fieldlink metadata (public: agency, keys' ids, counts, layout).
        count: The record count the metadata states; a visitor sees rows only once the
            file is known to be large enough to hold them.
        sealed: Whether the file carries envelopes (checked by `walk`, never kept).
    """

    def __init__(self, chunks: Iterable[bytes], *, size_bytes: int | None = None) -> None:
        """Read up to the schema and check it.

        Raises:
            BatchError: As `read_streamed` would for the same file.
        """
        self._walker = _Walker(chunks, size_bytes)
        self.meta, self.count = self._walker.start()
        self.sealed = ENVELOPE_COLUMN in self._walker.schema.names

    def __repr__(self) -> str:
        return f"RowScan(records={self.count}, sealed={self.sealed})"

    def walk(self, visitors: dict[str, RowVisitor]) -> None:
        """Read the records, handing each visited column's rows to its visitor.

        Args:
            visitors: Column name ('filter', 'comparisons') -> what sees its rows.

        Raises:
            BatchError: As `read_streamed` would for the same file.
        """
        self._walk(visitors, _References(), keep=False)

    def walk_keeping_references(self, visitors: dict[str, RowVisitor]) -> pa.Array:
        """`walk`, keeping the reference column (one Arrow array), refused if one repeats.

        Raises:
            BatchError: As `read_streamed` would for the same file (a repeated reference
                as `read_batch` refuses it, by its line).
        """
        kept = _References()
        self._walk(visitors, kept, keep=True)
        column = kept.column()
        _check_unique(column)
        return column

    def _walk(self, visitors: dict[str, RowVisitor], kept: "_References", *, keep: bool) -> None:
        schema = self._walker.schema
        handlers: dict[str, _Handler] = {"ref": kept if keep else _checked(kept)}
        for name, what in (("filter", "a filter"), (COMPARISON_COLUMN, "a comparison encoding")):
            if name in schema.names:
                width = schema.field(name).type.byte_width
                handlers[name] = _RowVisits(width, what, visitors.get(name))
        if self.sealed:
            handlers[ENVELOPE_COLUMN] = _Envelopes(schema.field(ENVELOPE_COLUMN).type, None)
        self._walker.walk(handlers, self.count)


def _checked(references: "_References") -> "_Handler":
    """The reference handler's checks, its arrays let go of at once."""

    def check(body: _Body, node: _Node, buffers: Sequence[_Buffer], first: int) -> None:
        references(body, node, buffers, first)
        references.parts.clear()

    return check


def _check_unique(column: pa.Array) -> None:
    """Refuse a repeated reference as `Batch` does, naming the first repeat by its line."""
    distinct = pc.unique(column)
    if len(distinct) == len(column):
        return
    ids = pc.index_in(column, value_set=distinct).to_numpy(zero_copy_only=False)
    repeats = np.ones(len(column), dtype=bool)
    repeats[np.unique(ids, return_index=True)[1]] = False  # each reference's first record
    line = refmap_line(int(np.argmax(repeats)))
    raise BatchError(
        f"references must be unique (the record on line {line} of the reference map repeats one)"
    )


def pick_envelopes(
    chunks: Iterable[bytes], wanted: Collection[str], *, size_bytes: int | None = None
) -> Picked:
    """The sealed envelopes of the `wanted` references that the batch file holds.

    Only the references and the envelopes of their rows are kept: the rest of each
    envelope column passes by unread, as do filters and comparison encodings.
    """
    walker = _Walker(chunks, size_bytes)
    meta, count = walker.start()
    asked = pa.array(sorted(wanted), pa.string())
    references = _References()
    picked = Picked(meta)
    handlers: dict[str, _Handler] = {"ref": references}
    if ENVELOPE_COLUMN in walker.schema.names:

        def rows() -> list[int]:
            positions = pc.index_in(references.last, value_set=asked)
            return np.flatnonzero(positions.is_valid().to_numpy(zero_copy_only=False)).tolist()

        def keep(row: int, sealed: bytes) -> None:
            picked.envelopes[references.last[row].as_py()] = sealed

        kind = walker.schema.field(ENVELOPE_COLUMN).type
        handlers[ENVELOPE_COLUMN] = _Envelopes(kind, _Pick(rows, keep))
    walker.walk(handlers, count)
    if ENVELOPE_COLUMN not in walker.schema.names:
        found = pc.is_in(asked, value_set=references.column())
        picked.envelopes.update(
            (reference, None)
            for reference in asked.filter(found).to_pylist()
            if reference is not None
        )
    return picked


# ------------------------------------------------------------------------- the byte stream


_EMPTY = memoryview(b"")


class _Source:
    """The file's bytes, read front to back over chunks of any size; short means broken."""

    def __init__(self, chunks: Iterable[bytes], size_bytes: int | None) -> None:
        self._chunks: Iterator[bytes] = iter(chunks)
        self.size_bytes = size_bytes  # when known: no read asks for more than is left
        self._chunk = _EMPTY
        self.position = 0  # bytes of the file consumed

    def read(self, size: int) -> bytearray:
        """The next `size` bytes (allocated only if the file can still hold them)."""
        if self.size_bytes is not None and size > self.size_bytes - self.position:
            raise BatchError(NOT_IPC)  # a length stated in the file that the file lacks
        out = bytearray(size)
        self.read_into(memoryview(out))
        return out

    def read_into(self, target: memoryview) -> None:
        """Fill `target` with the next bytes."""
        filled = 0
        while filled < len(target):
            piece = self._take(len(target) - filled)
            target[filled : filled + len(piece)] = piece
            filled += len(piece)

    def skip(self, size: int) -> None:
        """Pass over the next `size` bytes."""
        while size > 0:
            size -= len(self._take(size))

    def rest(self, limit: int) -> bytes:
        """Everything left, at most `limit` bytes (more: not a batch file)."""
        pieces = [bytes(self._chunk)]
        total = len(pieces[0])
        self._chunk = _EMPTY
        for chunk in self._chunks:
            total += len(chunk)
            if total > limit:
                raise BatchError(NOT_IPC)
            pieces.append(chunk)
        self.position += total
        return b"".join(pieces)

    def _take(self, size: int) -> memoryview:
        while not self._chunk:
            self._chunk = _EMPTY  # an empty slice of the last chunk would keep it alive
            chunk = next(self._chunks, None)
            if chunk is None:
                raise BatchError(NOT_IPC)  # cut off
            self._chunk = memoryview(chunk)
        piece, self._chunk = self._chunk[:size], self._chunk[size:]
        self.position += len(piece)
        return piece


@dataclass(frozen=True, slots=True)
class _Buffer:
    offset: int  # within the body
    length: int


@dataclass(frozen=True, slots=True)
class _Node:
    length: int
    nulls: int


class _Body:
    """One record batch's body, its buffers read (or passed over) in order."""

    def __init__(self, source: _Source, length: int) -> None:
        self.source, self.length, self.at = source, length, 0

    def read(self, buffer: _Buffer, size: int | None = None) -> bytearray:
        """The first `size` bytes of the buffer (all of it by default)."""
        size = buffer.length if size is None else size
        self._seek(buffer, size)
        data = self.source.read(size)
        self.at += size
        return data

    def read_into(self, buffer: _Buffer, target: memoryview, start: int = 0) -> None:
        """The buffer's bytes from `start` on, into `target` (parts read in order)."""
        self._seek(_Buffer(buffer.offset + start, buffer.length - start), len(target))
        self.source.read_into(target)
        self.at += len(target)

    def slices(self, buffer: _Buffer, spans: Sequence[tuple[int, int]]) -> Iterator[bytes]:
        """The buffer's bytes start..end for each span (ascending, not overlapping)."""
        for start, end in spans:
            self._seek(_Buffer(buffer.offset + start, buffer.length - start), end - start)
            yield bytes(self.source.read(end - start))
            self.at += end - start

    def finish(self) -> None:
        """Pass over the rest of the body."""
        self.source.skip(self.length - self.at)
        self.at = self.length

    def _seek(self, buffer: _Buffer, size: int) -> None:
        if size > buffer.length or buffer.offset < self.at:
            raise BatchError(NOT_IPC)  # a column shorter than its rows, or out of order
        self.source.skip(buffer.offset - self.at)
        self.at = buffer.offset


_Handler = Callable[[_Body, _Node, Sequence[_Buffer], int], None]


# ------------------------------------------------------------------------- the messages


class _Walker:
    """Walks a batch file's messages: the schema first, then each record batch's body."""

    def __init__(self, chunks: Iterable[bytes], size_bytes: int | None) -> None:
        self.source = _Source(chunks, size_bytes)
        self.schema = pa.schema([])
        self.layouts: list[tuple[int, int]] = []  # nodes and buffers of each column
        self.size_bytes = size_bytes

    def start(self) -> tuple[dict[str, str], int]:
        """Read up to the schema, check it; its metadata and the record count it states."""
        if bytes(self.source.read(8))[: len(MAGIC)] != MAGIC:
            raise BatchError(NOT_IPC)
        message = self._message()
        if message is None or message.kind != _SCHEMA or message.body_length:
            raise BatchError(NOT_IPC)
        try:
            self.schema = pa.ipc.read_schema(pa.py_buffer(message.framed))
        except (pa.ArrowException, OSError) as err:  # Arrow's IO status is an OSError
            raise BatchError(NOT_IPC) from err
        meta = check_batch_schema(self.schema)
        self.layouts = [_layout(item.type) for item in self.schema]
        names = self.schema.names
        if ENVELOPE_COLUMN in names and names.index(ENVELOPE_COLUMN) < names.index("ref"):
            raise BatchError(f"the column 'ref' must come before the column '{ENVELOPE_COLUMN}'")
        return meta, int(meta["record_count"])

    def walk(self, handlers: dict[str, _Handler], count: int) -> None:
        """Hand each record batch's columns to their handlers; then check the file's end."""
        rows = 0
        while (message := self._message()) is not None:
            if message.kind != _RECORD_BATCH:
                raise BatchError(NOT_IPC)  # dictionaries: no column of a batch file has one
            length, nodes, buffers = _record_batch(message.header)
            if not rows:
                self._check_count(count)  # before a handler allocates for `count` records
            if rows + length > count:
                handlers = {}  # more records than stated: only counted, for the message
            self._batch(message.body_length, length, nodes, buffers, handlers, rows)
            rows += length
        if rows != count:
            raise BatchError(f"metadata says {count} records, the file holds {rows}")
        footer = self.source.rest(_MAX_FOOTER)
        tail = len(MAGIC) + 4
        if len(footer) <= tail or footer[-len(MAGIC) :] != MAGIC:
            raise BatchError(NOT_IPC)
        (declared,) = struct.unpack_from("<i", footer, len(footer) - tail)
        if declared != len(footer) - tail:
            raise BatchError(NOT_IPC)

    def _check_count(self, count: int) -> None:
        """Refuse a record count that the fixed-size columns alone would make too big."""
        widest = sum(
            item.type.byte_width for item in self.schema if pa.types.is_fixed_size_binary(item.type)
        )
        if count < 0 or (self.size_bytes is not None and count * widest > self.size_bytes):
            raise BatchError(f"metadata says {count} records, more than the file can hold")

    def _batch(
        self,
        body_length: int,
        length: int,
        nodes: list[_Node],
        buffers: list[_Buffer],
        handlers: dict[str, _Handler],
        first_row: int,
    ) -> None:
        if len(nodes) != sum(n for n, _ in self.layouts) or len(buffers) != sum(
            b for _, b in self.layouts
        ):
            raise BatchError(NOT_IPC)
        _check_buffers(buffers, body_length)
        body = _Body(self.source, body_length)
        node_at = buffer_at = 0
        for item, (node_count, buffer_count) in zip(self.schema, self.layouts, strict=True):
            node = nodes[node_at]
            if node.length != length or not 0 <= node.nulls <= length:
                raise BatchError(NOT_IPC)
            handler = handlers.get(item.name)
            if handler is not None:
                handler(body, node, buffers[buffer_at : buffer_at + buffer_count], first_row)
            node_at, buffer_at = node_at + node_count, buffer_at + buffer_count
        body.finish()

    def _message(self) -> "_Message | None":
        """The next message's header, its body not yet read; None at the end-of-stream mark."""
        (length,) = struct.unpack("<I", self.source.read(4))
        if length == _CONTINUATION:
            (length,) = struct.unpack("<I", self.source.read(4))
        if length == 0:
            return None
        if length > _MAX_METADATA:
            raise BatchError(NOT_IPC)
        metadata = bytes(self.source.read(length))
        return _Message.parse(metadata)


@dataclass(frozen=True, slots=True)
class _Message:
    kind: int
    header: "_Flat"
    body_length: int
    framed: bytes  # the message as Arrow reads one: marker, length, metadata

    @classmethod
    def parse(cls, metadata: bytes) -> "_Message":
        flat = _Flat(metadata)
        try:
            message = flat.root()
            kind = flat.scalar(message, _MESSAGE_HEADER_TYPE, "<B")
            header_at = flat.field(message, _MESSAGE_HEADER)
            body_length = flat.scalar(message, _MESSAGE_BODY_LENGTH, "<q")
            header = _Flat(metadata, flat.table(header_at)) if header_at is not None else None
        except (struct.error, ValueError) as err:
            raise BatchError(NOT_IPC) from err
        if header is None or body_length < 0:
            raise BatchError(NOT_IPC)
        framed = struct.pack("<Ii", _CONTINUATION, len(metadata)) + metadata
        return cls(kind=kind, header=header, body_length=body_length, framed=framed)


def _record_batch(header: "_Flat") -> tuple[int, list[_Node], list[_Buffer]]:
    try:
        table = header.at
        if header.field(table, _BATCH_COMPRESSION) is not None:
            raise BatchError(COMPRESSED)
        if header.structs(table, _BATCH_VARIADIC, "<q"):
            raise BatchError(NOT_IPC)  # view columns: none in a batch file
        length = header.scalar(table, _BATCH_LENGTH, "<q")
        nodes = [_Node(*item) for item in header.structs(table, _BATCH_NODES, "<qq")]
        buffers = [_Buffer(*item) for item in header.structs(table, _BATCH_BUFFERS, "<qq")]
    except (struct.error, ValueError) as err:
        raise BatchError(NOT_IPC) from err
    if length < 0:
        raise BatchError(NOT_IPC)
    return length, nodes, buffers


def _check_buffers(buffers: Sequence[_Buffer], body_length: int) -> None:
    """Buffers lie inside the body, in order, not overlapping (empty ones anywhere)."""
    end = 0
    for buffer in buffers:
        if buffer.offset < 0 or buffer.length < 0:
            raise BatchError(NOT_IPC)
        if not buffer.length:
            continue
        if buffer.offset < end or buffer.offset + buffer.length > body_length:
            raise BatchError(NOT_IPC)
        end = buffer.offset + buffer.length


def _layout(kind: pa.DataType) -> tuple[int, int]:
    """How many field nodes and buffers a column of this type has in a record batch."""
    plain = (
        pa.types.is_primitive(kind)
        or pa.types.is_decimal(kind)
        or pa.types.is_string(kind)
        or pa.types.is_large_string(kind)
        or pa.types.is_binary(kind)
        or pa.types.is_large_binary(kind)
        or pa.types.is_fixed_size_binary(kind)
    )
    nested = (
        pa.types.is_list(kind)
        or pa.types.is_large_list(kind)
        or pa.types.is_fixed_size_list(kind)
        or pa.types.is_struct(kind)
        or pa.types.is_map(kind)
    )
    if not (plain or nested) or pa.types.is_null(kind) or pa.types.is_dictionary(kind):
        raise BatchError(
            "batch columns must be numbers, text, binary, or lists and structs of them"
        )
    nodes, buffers = 1, kind.num_buffers
    for index in range(kind.num_fields):
        child_nodes, child_buffers = _layout(kind.field(index).type)
        nodes, buffers = nodes + child_nodes, buffers + child_buffers
    return nodes, buffers


class _Flat:
    """A flatbuffer's tables, scalars and vectors of structs; every offset checked."""

    def __init__(self, data: bytes, at: int = 0) -> None:
        self.data, self.at = data, at

    def root(self) -> int:
        return self.table(0)

    def table(self, at: int) -> int:
        return self._within(at + self._unpack("<I", at))

    def field(self, table: int, index: int) -> int | None:
        vtable = self._within(table - self._unpack("<i", table))
        slot = 4 + 2 * index
        if slot + 2 > self._unpack("<H", vtable):
            return None
        relative = self._unpack("<H", vtable + slot)
        return self._within(table + relative) if relative else None

    def scalar(self, table: int, index: int, layout: str) -> int:
        at = self.field(table, index)
        return 0 if at is None else self._unpack(layout, at)

    def structs(self, table: int, index: int, layout: str) -> list[tuple[int, ...]]:
        at = self.field(table, index)
        if at is None:
            return []
        start = self.table(at)  # a vector is reached like a table: through a uoffset_t
        count, size = self._unpack("<I", start), struct.calcsize(layout)
        end = start + 4 + count * size
        if end > len(self.data):
            raise ValueError("vector runs past the end of the header")
        return list(struct.iter_unpack(layout, self.data[start + 4 : end]))

    def _unpack(self, layout: str, at: int) -> int:
        (value,) = struct.unpack_from(layout, self.data, self._within(at))
        return int(value)

    def _within(self, at: int) -> int:
        if not 0 <= at < len(self.data):
            raise ValueError("offset outside the header")
        return at


# ------------------------------------------------------------------------- the columns


class _References:
    """The reference column, one checked Arrow array per record batch."""

    def __init__(self) -> None:
        self.parts: list[pa.Array] = []

    @property
    def last(self) -> pa.Array:
        """The current record batch's references."""
        return self.parts[-1]

    def __call__(self, body: _Body, node: _Node, buffers: Sequence[_Buffer], first: int) -> None:
        if node.nulls:
            raise BatchError("batch has records without a reference")
        offsets = body.read(buffers[1], (node.length + 1) * 4)
        data = body.read(buffers[2])
        try:  # from_buffers validates the offsets itself
            array = pa.Array.from_buffers(
                pa.string(), node.length, [None, pa.py_buffer(offsets), pa.py_buffer(data)]
            )
            array.validate()
        except pa.ArrowInvalid as err:
            raise BatchError(NOT_IPC) from err
        try:
            array.validate(full=True)  # Arrow reads string columns without checking UTF-8
        except pa.ArrowInvalid as err:
            raise BatchError("references must be valid UTF-8") from err
        if node.length:
            lengths = pc.min_max(pc.utf8_length(array)).as_py()
            if lengths["min"] < 1 or lengths["max"] > 128:
                raise BatchError("references must be 1-128 characters")
        self.parts.append(array)

    def column(self) -> pa.Array:
        """Every record batch's references, as one array."""
        if len(self.parts) == 1:
            return self.parts[0]
        return pa.chunked_array(self.parts, pa.string()).combine_chunks()


class _Rows:
    """A fixed-size binary column copied into its rows of one array as the bytes pass.

    The array is made when the first record batch arrives: by then the record count has
    been checked against the file's size.
    """

    def __init__(self, count: int, width: int, what: str) -> None:
        self.count, self.width, self.what = count, width, what
        self.target: npt.NDArray[np.uint8] | None = None

    def __call__(self, body: _Body, node: _Node, buffers: Sequence[_Buffer], first: int) -> None:
        if node.nulls:
            raise BatchError(f"batch has records without {self.what}")
        rows = self.array()[first : first + node.length]
        body.read_into(buffers[1], rows.data.cast("B"))

    def array(self) -> npt.NDArray[np.uint8]:
        """Every record's row (count x width)."""
        if self.target is None:
            self.target = np.empty((self.count, self.width), dtype=np.uint8)
        return self.target


def _row_slices(
    body: _Body, buffer: _Buffer, rows: int, scratch: npt.NDArray[Any]
) -> Iterator[tuple[int, npt.NDArray[Any]]]:
    """A fixed-size column's rows read into `scratch` a slice at a time: (first row, rows).

    `scratch` holds as many rows as a slice (`_SLICE_ROWS`, fewer for a short column), in
    the column's row width; each slice is overwritten by the next.
    """
    width = scratch.shape[1] * scratch.itemsize  # bytes a row
    if rows * width > buffer.length:
        raise BatchError(NOT_IPC)  # a column shorter than its rows
    for start in range(0, rows, max(1, len(scratch))):
        part = scratch[: min(len(scratch), rows - start)]
        body.read_into(buffer, part.data.cast("B"), start * width)
        yield start, part


_SLICE_ROWS = 4096  # rows a reducing handler reads at a time (`_row_slices`)


class _Digests:
    """The filter column reduced to salt-family digests (`family_digests`) as it passes.

    The filters of a record batch are read a slice of rows at a time (`_row_slices`), so a
    reader holds the digests and one slice, never the filters.
    """

    def __init__(self, count: int, width: int, families: int) -> None:
        self.count, self.width, self.families = count, width, families
        self.target: npt.NDArray[np.uint64] | None = None

    def __call__(self, body: _Body, node: _Node, buffers: Sequence[_Buffer], first: int) -> None:
        if node.nulls:
            raise BatchError("batch has records without a filter")
        target = self.array()
        scratch = np.empty((min(_SLICE_ROWS, node.length), self.width), dtype=np.uint8)
        for start, rows in _row_slices(body, buffers[1], node.length, scratch):
            digests, _ = family_digests(rows, self.families)
            target[first + start : first + start + len(rows)] = digests

    def array(self) -> npt.NDArray[np.uint64]:
        """Every record's digests (count x families)."""
        if self.target is None:
            self.target = np.empty((self.count, self.families), dtype=np.uint64)
        return self.target


class _FamilyRows:
    """The comparison column split, as it passes, into one array of words per family.

    Read a slice of rows at a time (`_row_slices`), each family's words then copied into
    its own array (`linkage.batch.FamilyWords`), or appended to the family's sealed file
    when the batch spills (`linkage.spill.SealedSpill`).
    """

    def __init__(self, count: int, words: int, families: int, spill: SpillSettings | None) -> None:
        self.count, self.words, self.families = count, words, families
        self.targets: list[npt.NDArray[np.uint64]] = []
        self.spill: SealedSpill | None = None
        if spill is not None and spill.applies(count):
            self.spill = SealedSpill(families, count, words, spill.folder)

    def __call__(self, body: _Body, node: _Node, buffers: Sequence[_Buffer], first: int) -> None:
        if node.nulls:
            raise BatchError("batch has records without a comparison encoding")
        width = self.words * self.families
        scratch = np.empty((min(_SLICE_ROWS, node.length), width), dtype=np.uint64)
        for start, rows in _row_slices(body, buffers[1], node.length, scratch):
            for family in range(self.families):
                part = rows[:, family * self.words : (family + 1) * self.words]
                if self.spill is not None:
                    self.spill.append(family, part)
                else:
                    self.arrays()[family][first + start : first + start + len(rows)] = part

    def arrays(self) -> list[npt.NDArray[np.uint64]]:
        """Each family's words (count x words), held in memory."""
        if not self.targets:
            shape = (self.count, self.words)
            self.targets = [np.empty(shape, dtype=np.uint64) for _ in range(self.families)]
        return self.targets

    def family_words(self, layout: str) -> FamilyWords:
        """What was read: the families' arrays, or their spill (sealed, finished)."""
        if self.spill is None:
            return FamilyWords(layout, self.arrays(), self.count)
        self.spill.finish()
        return FamilyWords(layout, self.spill, self.count)


class _RowVisits:
    """A fixed-size binary column handed to a visitor a slice of rows at a time (`RowScan`).

    Without a visitor the column is only checked (no record without a value, no column
    shorter than its rows) and passed over.
    """

    def __init__(self, width: int, what: str, visitor: "RowVisitor | None") -> None:
        self.width, self.what, self.visitor = width, what, visitor

    def __call__(self, body: _Body, node: _Node, buffers: Sequence[_Buffer], first: int) -> None:
        if node.nulls:
            raise BatchError(f"batch has records without {self.what}")
        if self.visitor is None:
            if node.length * self.width > buffers[1].length:
                raise BatchError(NOT_IPC)  # a column shorter than its rows
            return
        rows = min(max(1, SCAN_SLICE_BYTES // max(1, self.width)), node.length)
        scratch = np.empty((rows, self.width), dtype=np.uint8)
        for start, part in _row_slices(body, buffers[1], node.length, scratch):
            self.visitor(first + start, part)


@dataclass(frozen=True, slots=True)
class _Pick:
    """Which rows of a record batch to keep the envelopes of, and where they go."""

    rows: Callable[[], list[int]]  # the rows wanted of the current record batch, ascending
    keep: Callable[[int, bytes], None]  # (row within the record batch, sealed envelope)


class _Envelopes:
    """The envelope column: every size checked; envelopes passed over, or some picked."""

    def __init__(self, kind: pa.DataType, pick: _Pick | None) -> None:
        self.wide = pa.types.is_large_binary(kind)
        self.pick = pick

    def __call__(self, body: _Body, node: _Node, buffers: Sequence[_Buffer], first: int) -> None:
        if node.nulls:
            raise BatchError("batch has records without an envelope")
        width = 8 if self.wide else 4
        raw = body.read(buffers[1], (node.length + 1) * width)
        offsets = np.frombuffer(raw, dtype="<i8" if self.wide else "<i4").astype(np.int64)
        if node.length:
            sizes = np.diff(offsets)
            if offsets[0] < 0 or sizes.min() < 0 or offsets[-1] > buffers[2].length:
                raise BatchError(NOT_IPC)
            if not 0 < sizes.min() <= sizes.max() <= MAX_ENVELOPE_BYTES:
                raise BatchError(f"envelopes must be 1-{MAX_ENVELOPE_BYTES} bytes each")
        if self.pick is None:
            return
        rows = self.pick.rows()
        spans = [(int(offsets[row]), int(offsets[row + 1])) for row in rows]
        for row, sealed in zip(rows, body.slices(buffers[2], spans), strict=True):
            self.pick.keep(row, sealed)
