"""An Arrow IPC file's record batch headers, read without pyarrow: is any body compressed?

Arrow IPC may compress each buffer of a record batch (LZ4 or zstd), and pyarrow inflates a
buffer to the size its header declares before anything can be checked: a 142 kB file
declared 1.4 GB. Batch files are never compressed (`linkage.batch.write_batch`), so the
reader refuses compressed ones outright, having looked only at the file's footer and at the
message headers it points to (flatbuffers, parsed here with `struct`).

Layout (arrow/format/File.fbs, Message.fbs): the file ends with a Footer flatbuffer, its
length (int32) and the magic `ARROW1`. The Footer lists Blocks (offset, metadata length,
body length) for dictionaries and record batches; at each offset is a Message flatbuffer,
after a 0xFFFFFFFF continuation marker and its length (or, in the legacy format, only the
length). A Message whose header is a RecordBatch (or a DictionaryBatch, which holds one)
declares its compression in the RecordBatch's `compression` field; absent means none.
"""

import struct

from linkage.errors import BatchError

MAGIC = b"ARROW1"
_FOOTER_DICTIONARIES, _FOOTER_RECORD_BATCHES = 2, 3
_MESSAGE_HEADER_TYPE, _MESSAGE_HEADER = 1, 2
_DICTIONARY_BATCH, _RECORD_BATCH = 2, 3
_DICTIONARY_DATA = 1
_RECORD_BATCH_COMPRESSION = 3
_BLOCK_BYTES = 24  # offset: int64, metaDataLength: int32, padding, bodyLength: int64
_CONTINUATION = 0xFFFFFFFF
_NOT_IPC = "not a batch file (an Arrow IPC file was expected)"
COMPRESSED = (
    "compressed batch files are refused: write it uncompressed (as `fieldlink encode` does)"
)


def refuse_compressed(data: bytes | memoryview) -> None:
    """Raise BatchError unless every dictionary and record batch body is uncompressed.

    Args:
        data: The whole IPC file (a memory map's view does not copy it).

    Raises:
        BatchError: The file is compressed, or its footer or headers are not readable.
    """
    view = memoryview(data).cast("B") if isinstance(data, memoryview) else memoryview(data)
    try:
        for offset in _block_offsets(view):
            if _message_compressed(view, offset):
                raise BatchError(COMPRESSED)
    except (struct.error, IndexError, ValueError) as err:
        raise BatchError(_NOT_IPC) from err


def _block_offsets(view: memoryview) -> list[int]:
    size = len(view)
    if size < 2 * len(MAGIC) + 4 or bytes(view[: len(MAGIC)]) != MAGIC:
        raise BatchError(_NOT_IPC)
    if bytes(view[size - len(MAGIC) :]) != MAGIC:
        raise BatchError(_NOT_IPC)
    (footer_bytes,) = struct.unpack_from("<i", view, size - len(MAGIC) - 4)
    start = size - len(MAGIC) - 4 - footer_bytes
    if footer_bytes <= 0 or start < len(MAGIC):
        raise BatchError(_NOT_IPC)
    footer = _table(view, start)
    offsets = []
    for field in (_FOOTER_DICTIONARIES, _FOOTER_RECORD_BATCHES):
        vector = _field(view, footer, field)
        if vector is None:
            continue
        count, first = _vector(view, vector)
        offsets += [_unpack(view, "<q", first + index * _BLOCK_BYTES) for index in range(count)]
    return offsets


def _message_compressed(view: memoryview, offset: int) -> bool:
    prefix = _unpack(view, "<I", offset)
    start = offset + 8 if prefix == _CONTINUATION else offset + 4
    message = _table(view, start)
    kind_at = _field(view, message, _MESSAGE_HEADER_TYPE)
    header_at = _field(view, message, _MESSAGE_HEADER)
    if kind_at is None or header_at is None:
        return False  # no batch in this message, so no body to inflate
    kind, header = view[kind_at], _table(view, header_at)
    if kind == _DICTIONARY_BATCH:
        data_at = _field(view, header, _DICTIONARY_DATA)
        if data_at is None:
            return False
        header, kind = _table(view, data_at), _RECORD_BATCH
    return kind == _RECORD_BATCH and _field(view, header, _RECORD_BATCH_COMPRESSION) is not None


def _table(view: memoryview, at: int) -> int:
    # A uoffset_t at `at` points to the table.
    return _within(view, at + _unpack(view, "<I", at))


def _field(view: memoryview, table: int, index: int) -> int | None:
    # A table starts with an soffset_t to its vtable: [vtable bytes, table bytes, fields...].
    vtable = _within(view, table - _unpack(view, "<i", table))
    vtable_bytes = _unpack(view, "<H", vtable)
    slot = 4 + 2 * index
    if slot + 2 > vtable_bytes:
        return None
    relative = _unpack(view, "<H", vtable + slot)
    return _within(view, table + relative) if relative else None


def _vector(view: memoryview, at: int) -> tuple[int, int]:
    start = _table(view, at)  # a vector is reached like a table: through a uoffset_t
    count = _unpack(view, "<I", start)
    if start + 4 + count * _BLOCK_BYTES > len(view):
        raise ValueError("vector runs past the end of the file")
    return count, start + 4


def _unpack(view: memoryview, layout: str, at: int) -> int:
    (value,) = struct.unpack_from(layout, view, _within(view, at))
    return int(value)


def _within(view: memoryview, at: int) -> int:
    if not 0 <= at < len(view):
        raise ValueError("offset outside the file")
    return at
