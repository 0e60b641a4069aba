"""Hostile batch files: compressed bodies (decompression bombs) and bytes that are not UTF-8."""

import io
from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest

from linkage.batch import read_batch
from linkage.errors import BatchError
from linkage.ipc_blocks import refuse_compressed
from tests.linkage.test_batch import make_batch, to_bytes

BOMB_RECORDS = 4096
BOMB_FILTER_BYTES = 8192  # 32 MiB of zero filters, a few kB compressed


def ipc_file(table: pa.Table, compression: str | None = None) -> bytes:
    sink = io.BytesIO()
    options = pa.ipc.IpcWriteOptions(compression=compression)
    with pa.ipc.new_file(sink, table.schema, options=options) as writer:
        writer.write_table(table)
    return sink.getvalue()


def batch_table(records: int = 3, filter_bytes: int = 16) -> pa.Table:
    return pa.ipc.open_file(pa.py_buffer(to_bytes(make_batch(records, filter_bytes)))).read_all()


def bomb(compression: str) -> bytes:
    # A well-formed batch whose filters are all zero: it compresses a thousandfold.
    table = batch_table(BOMB_RECORDS, BOMB_FILTER_BYTES)
    zeros = pa.FixedSizeBinaryArray.from_buffers(
        pa.binary(BOMB_FILTER_BYTES),
        BOMB_RECORDS,
        [None, pa.py_buffer(np.zeros(BOMB_RECORDS * BOMB_FILTER_BYTES, np.uint8))],
    )
    return ipc_file(table.set_column(1, "filter", zeros), compression)


@pytest.mark.parametrize("compression", ["zstd", "lz4"])
def test_a_compressed_batch_is_refused_before_anything_is_inflated(
    compression: str, tmp_path: Path
) -> None:
    data = bomb(compression)
    path = tmp_path / "bomb.arrow"
    path.write_bytes(data)
    assert len(data) < BOMB_RECORDS * BOMB_FILTER_BYTES // 100
    allocated = pa.total_allocated_bytes()

    for source in (data, path, io.BytesIO(data)):
        with pytest.raises(BatchError, match="compressed batch files are refused"):
            read_batch(source)

    assert pa.total_allocated_bytes() - allocated < 1024 * 1024


def test_uncompressed_files_pass_the_block_check_whatever_their_batches() -> None:
    table = batch_table()
    sink = io.BytesIO()
    with pa.ipc.new_file(sink, table.schema) as writer:
        for _ in range(3):
            writer.write_table(table)
    dictionary = pa.table({"kind": pa.array(["a", "b", "a"]).dictionary_encode()})

    refuse_compressed(sink.getvalue())
    refuse_compressed(ipc_file(dictionary))
    with pytest.raises(BatchError, match="compressed"):
        refuse_compressed(ipc_file(dictionary, "zstd"))


@pytest.mark.parametrize(
    "content",
    [b"ARROW1\0\0" + b"\xff" * 40 + b"ARROW1", b"ARROW1\0\0" + b"\x10\0\0\0" * 10 + b"ARROW1"],
)
def test_a_broken_footer_is_not_a_batch_file(content: bytes) -> None:
    with pytest.raises(BatchError, match="not a batch file"):
        refuse_compressed(content)


def with_metadata(metadata: dict[bytes, bytes]) -> bytes:
    table = batch_table()
    return ipc_file(table.replace_schema_metadata({**table.schema.metadata, **metadata}))


@pytest.mark.parametrize(
    "metadata",
    [{b"fieldlink.agency": b"\xff\xfepolitie"}, {b"fieldlink.\xc3": b"x"}],
    ids=["value", "key"],
)
def test_metadata_that_is_not_utf8_is_refused(metadata: dict[bytes, bytes]) -> None:
    with pytest.raises(BatchError, match="metadata is not valid UTF-8"):
        read_batch(with_metadata(metadata))


def test_references_that_are_not_utf8_are_refused() -> None:
    table = batch_table()
    raw = pa.array([b"ref0", b"\xff\xfe", b"ref2"], pa.binary())
    references = pa.StringArray.from_buffers(3, raw.buffers()[1], raw.buffers()[2])
    data = ipc_file(table.set_column(0, "ref", references))

    with pytest.raises(BatchError, match="references must be valid UTF-8"):
        read_batch(data)
