"""A batch file scanned in a pass (`RowScan`): the rows `read_batch` reads, by slices, the
same refusals, and nothing kept but what a visitor keeps (and the references, when asked)."""

import io
from collections.abc import Iterator

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pytest

from linkage import batch_stream
from linkage.batch import read_batch
from linkage.batch_stream import RowScan
from linkage.errors import BatchError
from tests.linkage.test_batch import make_batch, rewrite, to_bytes
from tests.linkage.test_batch_stream import (
    broken_files,
    full_batch,
    in_record_batches,
    peak_bytes,
    pieces,
)


class Rows:
    """A visitor that keeps what it is shown (for the test only), checking the order."""

    def __init__(self) -> None:
        self.parts: list[npt.NDArray[np.uint8]] = []
        self.next = 0

    def __call__(self, first: int, rows: npt.NDArray[np.uint8]) -> None:
        assert first == self.next
        self.parts.append(rows.copy())
        self.next = first + len(rows)

    def array(self) -> npt.NDArray[np.uint8]:
        return np.concatenate(self.parts)


@pytest.mark.parametrize("chunk", [7, 4096])
@pytest.mark.parametrize("rows", [None, 16])
@pytest.mark.parametrize("slice_bytes", [50, 4 << 20])
def test_visitors_see_every_row_read_batch_reads_in_order(
    chunk: int, rows: int | None, slice_bytes: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(batch_stream, "SCAN_SLICE_BYTES", slice_bytes)
    data = to_bytes(full_batch())
    data = data if rows is None else in_record_batches(data, rows)
    whole = read_batch(data)
    filters, comparisons = Rows(), Rows()

    scan = RowScan(pieces(data, chunk), size_bytes=len(data))
    references = scan.walk_keeping_references({"filter": filters, "comparisons": comparisons})

    assert scan.sealed and scan.count == len(whole)
    assert scan.meta["agency"] == whole.agency
    assert references.to_pylist() == list(whole.references)
    assert np.array_equal(filters.array(), whole.filters)
    assert whole.comparisons is not None
    assert np.array_equal(comparisons.array(), whole.comparisons.values)
    if slice_bytes == 50 and rows is None:
        assert len(filters.parts) == -(-len(whole) // 3)  # 16-byte filters: 3 to 50 bytes


def scanned(data: bytes) -> None:
    RowScan(pieces(data, 5), size_bytes=len(data)).walk_keeping_references({})


@pytest.mark.parametrize("name", list(broken_files()))
def test_a_broken_file_is_refused_with_the_message_read_batch_gives(name: str) -> None:
    data = broken_files()[name]
    with pytest.raises(BatchError) as whole:
        read_batch(data)

    with pytest.raises(BatchError) as streamed:
        scanned(data)

    assert str(streamed.value) == str(whole.value)


def test_a_repeated_reference_is_named_by_its_line_as_read_batch_names_it() -> None:
    batch = make_batch(records=6)
    table = pa.ipc.open_file(pa.py_buffer(to_bytes(batch))).read_all()
    references = ["r0", "r1", "r2", "r3", "r1", "r5"]
    data = rewrite(batch, table=table.set_column(0, "ref", pa.array(references, pa.string())))

    with pytest.raises(BatchError) as whole:
        read_batch(data)
    with pytest.raises(BatchError) as streamed:
        scanned(in_record_batches(data, 2))

    assert str(streamed.value) == str(whole.value)
    assert "line 6 of the reference map" in str(streamed.value)


def test_a_pass_holds_a_slice_and_a_chunk_not_the_file() -> None:
    # 4,000 records with 2 kB envelopes: an 8.3 MB file; the references kept are 40 kB.
    data = to_bytes(full_batch(records=4000, envelope_bytes=2048))
    chunk = 256 * 1024

    def chunks() -> Iterator[bytes]:
        view = io.BytesIO(data)  # one chunk at a time, as the vault decrypts them
        while piece := view.read(chunk):
            yield piece

    def scan() -> None:
        RowScan(chunks(), size_bytes=len(data)).walk_keeping_references(
            {"filter": lambda first, rows: None, "comparisons": lambda first, rows: None}
        )

    assert peak_bytes(scan) < len(data) // 8
