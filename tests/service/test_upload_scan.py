"""Admission reads an upload in passes (`service.upload_scan`): the figures the in-memory
checks give (content digest, thin and near-duplicate shares), without holding the upload."""

import time
import tracemalloc
import uuid
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest

from linkage import batch_stream
from linkage.batch import Batch, read_batch
from linkage.errors import BatchError
from linkage.synth import generate
from service import probing
from service.admission import admit
from service.models import Project
from service.probing import content_digest, family_blocks, near_duplicate_share, thin_share
from service.upload_scan import Measured, Scan, measure_upload, scan_upload
from tests.linkage.test_batch_stream import full_batch, in_record_batches
from tests.service.batch_files import as_file, make_batch
from tests.service.probing_data import atoms, encode_rows, read_rows, sweep


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, bytes]:
    """Batch files of each kind admission meets, encoded by the agency path where it matters."""
    folder = tmp_path_factory.mktemp("scan")
    generate(folder / "synth", persons=150, seed=1)
    rows = read_rows(folder / "synth" / "gemeente.csv")
    swept = sweep(rows, targets=15)
    classic = rows + atoms(len(rows) // 10, rows[0])
    return {
        "salted": encode_rows(rows, folder / "a", agency="gemeente"),
        "salted sweep": encode_rows(swept, folder / "b", agency="gemeente"),
        "classic with atoms": encode_rows(
            classic, folder / "c", agency="gemeente", schema="person-classic"
        ),
        "filters only": as_file(make_batch("gemeente", records=300)),
        "envelopes": as_file(full_batch(records=200)),
        "text references": as_file(
            Batch.create(
                agency="gemeente",
                schema_fingerprint="ab" * 32,
                key_check="0123456789abcdef",
                references=[f"réf-{index}-ü€𝄞" for index in range(40)],
                filters=np.random.default_rng(0).integers(0, 256, (40, 16), dtype=np.uint8),
            )
        ),
    }


def scanned(data: bytes, *, seed: int = 0) -> tuple[Scan, Measured]:
    def source() -> Iterator[bytes]:
        return (data[start : start + 4099] for start in range(0, len(data), 4099))

    scan = scan_upload(source, size_bytes=len(data))
    return scan, measure_upload(scan, source, size_bytes=len(data), seed=seed)


KINDS = [
    "salted",
    "salted sweep",
    "classic with atoms",
    "filters only",
    "envelopes",
    "text references",
]


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("rows", [None, 7])
def test_the_streamed_content_digest_is_the_digest_of_the_batch_read_whole(
    files: dict[str, bytes], kind: str, rows: int | None
) -> None:
    data = files[kind] if rows is None else in_record_batches(files[kind], rows)

    _, measured = scanned(data)

    assert measured.content_digest == content_digest(read_batch(files[kind]))


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("rows", [None, 7])
@pytest.mark.parametrize("seed", [0, 1])
def test_streamed_shares_are_those_of_the_batch_in_memory(
    files: dict[str, bytes], kind: str, rows: int | None, seed: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(batch_stream, "SCAN_SLICE_BYTES", 20_000)  # slices of a few records
    monkeypatch.setattr(probing, "NEAR_DUPLICATE_SAMPLE", 60)  # a sample smaller than a batch
    data = files[kind] if rows is None else in_record_batches(files[kind], rows)
    blocks = family_blocks(read_batch(data))

    scan, measured = scanned(data, seed=seed)

    assert np.array_equal(scan.fill, probing.record_fill(blocks))
    for floor in (0.0, 0.05):
        assert probing.thin_share_of_fill(scan.fill, floor) == thin_share(blocks, floor)
    assert measured.near_duplicate_share == near_duplicate_share(blocks, seed=seed)
    assert scan.references.to_pylist() == list(read_batch(data).references)


def test_the_figures_of_probes_are_those_that_refuse_them(files: dict[str, bytes]) -> None:
    # (so that the equality above is not that of zeros)
    _, swept = scanned(files["salted sweep"])
    atoms, _ = scanned(files["classic with atoms"])

    assert swept.near_duplicate_share > 0.15
    assert probing.thin_share_of_fill(atoms.fill, 0.05) > probing.MAX_THIN_SHARE


# --------------------------------------------------------------------------- memory


RECORDS = 200_000


def large_upload(path: Path, template: bytes) -> int:
    """A salted batch file of RECORDS random records shaped as `template`'s, written in
    record batches of 20,000: the bytes its filters and comparison encodings take."""
    schema = pa.ipc.open_file(pa.py_buffer(template)).schema
    metadata = dict(schema.metadata) | {b"fieldlink.record_count": str(RECORDS).encode()}
    schema = schema.with_metadata(metadata)
    widths = {name: schema.field(name).type.byte_width for name in ("filter", "comparisons")}
    rng = np.random.default_rng(0)
    step = 20_000
    with pa.OSFile(str(path), "wb") as sink, pa.ipc.new_file(sink, schema) as writer:
        for first in range(0, RECORDS, step):
            columns = {"ref": pa.array([f"{i:032x}" for i in range(first, first + step)])}
            for name, width in widths.items():
                shape = (step, width)
                bits = rng.integers(0, 256, shape, dtype=np.uint8)
                bits &= rng.integers(0, 256, shape, dtype=np.uint8)  # a quarter of bits set
                columns[name] = pa.FixedSizeBinaryArray.from_buffers(
                    pa.binary(width), step, [None, pa.py_buffer(bits.tobytes())]
                )
            writer.write_batch(pa.record_batch([columns[n] for n in schema.names], schema=schema))
    return RECORDS * sum(widths.values())


def test_admission_holds_a_fraction_of_the_upload(
    files: dict[str, bytes], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # 200,000 records of the person schema: 448 MB of filters and comparison encodings.
    # Before admission read in passes its traced peak was 586 MB; in passes, 68 MB.
    monkeypatch.setattr(probing, "NEAR_DUPLICATE_SAMPLE", 100)  # the time, not the memory
    path = tmp_path / "large.arrow"
    held = large_upload(path, files["salted"])
    meta = read_batch(files["salted"])
    project = Project(
        id=uuid.uuid4(),
        schema_fingerprint=meta.schema_fingerprint,
        key_check=meta.key_check,
        upload_budget_records=None,
        max_near_duplicate_share=0.15,
        min_fill_share=0.05,
        require_salted_encodings=True,
    )

    def source() -> Iterator[bytes]:
        with path.open("rb") as handle:  # 8 MiB chunks, as the spool decrypts them
            yield from iter(lambda: handle.read(8 << 20), b"")

    tracemalloc.start()
    started = time.perf_counter()
    try:
        admitted = admit(
            source,
            size_bytes=path.stat().st_size,
            project=project,
            agency="gemeente",
            filter_bits_in_use=(),
            earlier_references=[(uuid.uuid4(), pa.array(["elsewhere"]))],
            seed=0,
        )
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    seconds = time.perf_counter() - started

    assert admitted.record_count == RECORDS
    assert peak < held // 4, f"peak {peak} bytes of {held} ({seconds:.1f} s)"


def test_a_file_that_changes_between_passes_is_refused() -> None:
    first, second = as_file(make_batch("gemeente", records=5)), as_file(make_batch("x", records=6))
    opened = iter([first, second])

    def source() -> Iterator[bytes]:
        return iter([next(opened)])

    scan = scan_upload(source)

    with pytest.raises(BatchError, match="changed between its checks"):
        measure_upload(scan, source)


def test_the_share_is_the_same_however_many_records_are_compared_at_a_time(
    files: dict[str, bytes], monkeypatch: pytest.MonkeyPatch
) -> None:
    blocks = family_blocks(read_batch(files["salted sweep"]))
    whole = near_duplicate_share(blocks)  # every record in one comparison with the sample

    monkeypatch.setattr(probing, "COMPARE_RECORDS", 7)

    assert near_duplicate_share(blocks) == whole > 0.15
