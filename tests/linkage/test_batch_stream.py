"""Batch files read as a stream of chunks: the same batch as `read_batch`, the same refusals,
only what was asked kept, and memory bounded by a chunk rather than by the file."""

import base64
import io
import json
import struct
import tracemalloc
from collections.abc import Callable, Iterator

import numpy as np
import pyarrow as pa
import pytest

from linkage.batch import (
    Batch,
    Comparisons,
    Envelopes,
    read_batch,
    released_envelope,
)
from linkage.batch_stream import pick_envelopes, read_reference_column, read_streamed
from linkage.errors import BatchError
from tests.linkage.test_batch import make_batch, rewrite, to_bytes
from tests.linkage.test_batch_robustness import batch_table, bomb, ipc_file, with_metadata

LAYOUT = json.dumps(
    {
        "format": "fieldlink-comparisons/1",
        "words": 3,
        "comparisons": [
            {"name": "surname", "method": "exact", "offset": 1, "words": 1, "crosswise": None},
            {"name": "born", "method": "exact", "offset": 2, "words": 1, "crosswise": None},
        ],
    }
)


def full_batch(records: int = 50, *, envelope_bytes: int = 0, seed: int = 0) -> Batch:
    """References, filters, comparison encodings, and envelopes of varying sizes."""
    rng = np.random.default_rng(seed)
    references = [f"ref-{index:06d}" for index in range(records)]
    sealed = tuple(rng.bytes(envelope_bytes or 1 + index % 300) for index in range(records))
    return Batch.create(
        agency="fiu",
        schema_fingerprint="ab" * 32,
        key_check="0123456789abcdef",
        references=references,
        filters=rng.integers(0, 256, (records, 16), dtype=np.uint8),
        envelopes=Envelopes(ephemeral_key="cd" * 32, team_key_id="ef" * 8, sealed=sealed),
        comparisons=Comparisons(
            layout=LAYOUT, values=rng.integers(0, 256, (records, 24), dtype=np.uint8)
        ),
    )


def pieces(data: bytes, size: int) -> Iterator[bytes]:
    return (data[start : start + size] for start in range(0, len(data), size))


def in_record_batches(data: bytes, rows: int) -> bytes:
    """The same file written with at most `rows` records per record batch."""
    table = pa.ipc.open_file(pa.py_buffer(data)).read_all()
    sink = io.BytesIO()
    with pa.ipc.new_file(sink, table.schema) as writer:
        writer.write_table(table, max_chunksize=rows)
    return sink.getvalue()


@pytest.mark.parametrize("chunk", [1, 7, 4096, 1 << 30])
@pytest.mark.parametrize("rows", [None, 16])
def test_a_streamed_batch_is_the_batch_read_whole_without_its_envelopes(
    chunk: int, rows: int | None
) -> None:
    data = to_bytes(full_batch())
    data = data if rows is None else in_record_batches(data, rows)
    whole = read_batch(data)

    streamed = read_streamed(pieces(data, chunk), size_bytes=len(data))

    assert streamed.sealed and streamed.batch.envelopes is None
    assert streamed.batch.metadata() | {"envelope_key": "cd" * 32, "team_key_id": "ef" * 8} == (
        whole.metadata()
    )
    assert streamed.batch.references == whole.references
    assert np.array_equal(streamed.batch.filters, whole.filters)
    assert streamed.batch.comparisons is not None and whole.comparisons is not None
    assert np.array_equal(streamed.batch.comparisons.values, whole.comparisons.values)
    assert streamed.references.to_pylist() == list(whole.references)
    assert read_reference_column(pieces(data, chunk)).to_pylist() == list(whole.references)


@pytest.mark.parametrize("chunk", [1, 7, 4096, 1 << 30])
@pytest.mark.parametrize("rows", [None, 16])
def test_picked_envelopes_are_those_a_whole_read_releases(chunk: int, rows: int | None) -> None:
    data = to_bytes(full_batch())
    data = data if rows is None else in_record_batches(data, rows)
    whole = read_batch(data)
    wanted = [whole.references[index] for index in (0, 15, 16, 17, 49)] + ["elsewhere"]

    picked = pick_envelopes(pieces(data, chunk), wanted)

    assert set(picked.envelopes) == set(wanted) - {"elsewhere"}
    for reference, sealed in picked.envelopes.items():
        expected = released_envelope(whole, whole.references.index(reference))
        assert sealed is not None and base64.b64encode(sealed).decode() == expected["sealed"]
        assert (picked.meta["envelope_key"], picked.meta["team_key_id"]) == (
            expected["ephemeral_key"],
            expected["team_key_id"],
        )


def test_a_batch_without_envelopes_names_the_references_it_holds() -> None:
    data = to_bytes(make_batch(records=5))

    picked = pick_envelopes([data], ["ref1", "ref4", "ref9"])

    assert picked.envelopes == {"ref1": None, "ref4": None}
    assert not read_streamed([data]).sealed


def truncated(data: bytes) -> list[bytes]:
    return [data[:cut] for cut in (7, 8, 20, len(data) // 2, len(data) - 11, len(data) - 1)]


def broken_files() -> dict[str, bytes]:
    """Files `read_batch` refuses, one fault each."""
    table = batch_table()
    raw = pa.array([b"ref0", b"\xff\xfe", b"ref2"], pa.binary())
    not_utf8 = pa.StringArray.from_buffers(3, raw.buffers()[1], raw.buffers()[2])
    with_null = pa.array([bytes(16), None, bytes(16)], pa.binary(16))
    sealed = to_bytes(full_batch(records=3))
    sealed_table = pa.ipc.open_file(pa.py_buffer(sealed)).read_all()
    empty_envelope = pa.array([b"x", b"", b"y"], pa.binary())
    files = {
        "format": rewrite(make_batch(), metadata={"format": "fieldlink-batch/99"}),
        "more records stated": rewrite(make_batch(), metadata={"record_count": "4"}),
        "fewer records stated": rewrite(make_batch(), metadata={"record_count": "2"}),
        "count not a number": rewrite(make_batch(), metadata={"record_count": "many"}),
        "filter bits": rewrite(make_batch(), metadata={"filter_bits": "64"}),
        "key check": rewrite(make_batch(), metadata={"key_check": "xyz"}),
        "no agency": rewrite(make_batch(), metadata={"agency": "<drop>"}),
        "metadata not utf-8": with_metadata({b"fieldlink.agency": b"\xff\xfepolitie"}),
        "repeated reference": rewrite(
            make_batch(),
            table=pa.table(
                {"ref": ["a", "a", "b"], "filter": pa.array([bytes(16)] * 3, pa.binary(16))}
            ),
        ),
        "reference not utf-8": ipc_file(table.set_column(0, "ref", not_utf8)),
        "filter missing": ipc_file(table.set_column(1, "filter", with_null)),
        "no ref column": ipc_file(table.drop_columns(["ref"])),
        "compressed": bomb("zstd"),
        "empty envelope": ipc_file(
            sealed_table.set_column(
                sealed_table.column_names.index("envelope"), "envelope", empty_envelope
            )
        ),
        "not arrow": b"not arrow at all",
        "empty": b"",
    }
    for number, cut in enumerate(truncated(to_bytes(full_batch(records=3)))):
        files[f"cut {number}"] = cut
    return files


@pytest.mark.parametrize("name", list(broken_files()))
def test_a_broken_file_is_refused_with_the_message_read_batch_gives(name: str) -> None:
    data = broken_files()[name]
    with pytest.raises(BatchError) as whole:
        read_batch(data)

    with pytest.raises(BatchError) as streamed:
        read_streamed(pieces(data, 5), size_bytes=len(data))

    assert str(streamed.value) == str(whole.value)


def test_envelopes_before_the_references_are_refused() -> None:
    table = pa.ipc.open_file(pa.py_buffer(to_bytes(full_batch(records=3)))).read_all()
    names = ["envelope", "ref", "filter", "comparisons"]
    data = ipc_file(table.select(names).replace_schema_metadata(table.schema.metadata))

    with pytest.raises(BatchError, match="'ref' must come before the column 'envelope'"):
        read_streamed([data])


def test_a_record_count_larger_than_the_file_is_refused_before_anything_is_allocated() -> None:
    data = rewrite(make_batch(), metadata={"record_count": str(10**12)})

    with pytest.raises(BatchError, match="more than the file can hold"):
        read_streamed([data], size_bytes=len(data))


def peak_bytes(read: Callable[[], object]) -> int:
    tracemalloc.start()
    try:
        read()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_reading_holds_what_it_keeps_and_one_chunk_not_the_file() -> None:
    # 4,000 records with 2 kB envelopes: an 8.3 MB file of which a run keeps 0.2 MB.
    batch = full_batch(records=4000, envelope_bytes=2048)
    data = to_bytes(batch)
    chunk = 256 * 1024
    wanted = list(batch.references[::1000])

    def chunks() -> Iterator[bytes]:
        view = io.BytesIO(data)  # one chunk at a time, as the vault decrypts them
        while piece := view.read(chunk):
            yield piece

    for read in (
        lambda: read_streamed(chunks(), size_bytes=len(data)),
        lambda: pick_envelopes(chunks(), wanted),
        lambda: read_reference_column(chunks()),
    ):
        assert peak_bytes(read) < len(data) // 8


def with_a_stated_length(data: bytes, length: int) -> bytes:
    """The file with its reference text buffer (and record batch body) stated `length` long."""
    schema_bytes = struct.unpack_from("<i", data, 12)[0]
    start = 8 + 8 + schema_bytes + 8  # the record batch message's header
    header = bytearray(data[start : start + struct.unpack_from("<i", data, start - 4)[0]])
    body = pa.ipc.read_message(pa.py_buffer(data[start - 8 :])).body.size
    text = sum(len(reference) for reference in read_batch(data).references)
    text_at = body - text - (-text % 8)  # the last buffer, padded to 8 bytes
    for old, new in (
        (struct.pack("<q", body), struct.pack("<q", 2 * length)),
        (struct.pack("<qq", text_at, text), struct.pack("<qq", text_at, length)),
    ):
        assert header.count(old) == 1
        header[header.index(old) : header.index(old) + len(old)] = new
    return data[:start] + bytes(header) + data[start + len(header) :]


def test_a_buffer_stated_longer_than_the_file_is_refused_before_it_is_allocated() -> None:
    table = pa.ipc.open_file(pa.py_buffer(to_bytes(make_batch()))).read_all()
    last = table.select(["filter", "ref"]).replace_schema_metadata(table.schema.metadata)
    data = with_a_stated_length(ipc_file(last), 1 << 40)  # the references' text: 1 TiB

    def attempt() -> None:
        with pytest.raises(BatchError, match="not a batch file"):
            read_streamed([data], size_bytes=len(data))

    assert peak_bytes(attempt) < 1 << 20
