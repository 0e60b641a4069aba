import base64
import io
import json
from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from linkage.arrow import string_array
from linkage.batch import Batch, import_clkhash, read_batch, write_batch
from linkage.errors import BatchError

FINGERPRINT = "ab" * 32


def make_batch(records: int = 3, filter_bytes: int = 16, seed: int = 0) -> Batch:
    rng = np.random.default_rng(seed)
    return Batch.create(
        agency="fiu",
        schema_fingerprint=FINGERPRINT,
        key_check="0123456789abcdef",
        references=[f"ref{index}" for index in range(records)],
        filters=rng.integers(0, 256, (records, filter_bytes), dtype=np.uint8),
    )


def to_bytes(batch: Batch) -> bytes:
    sink = io.BytesIO()
    write_batch(batch, sink)
    return sink.getvalue()


@settings(max_examples=25, deadline=None)
@given(
    records=st.integers(1, 40),
    filter_bytes=st.sampled_from([8, 16, 128]),
    seed=st.integers(0, 2**16),
)
def test_batches_round_trip_exactly(records: int, filter_bytes: int, seed: int) -> None:
    batch = make_batch(records, filter_bytes, seed)

    again = read_batch(to_bytes(batch))

    assert again.metadata() == batch.metadata()
    assert again.references == batch.references
    assert np.array_equal(again.filters, batch.filters)
    assert again.digest() == batch.digest()


def test_batch_files_round_trip_through_a_path(tmp_path: Path) -> None:
    batch = make_batch()

    write_batch(batch, tmp_path / "b.arrow")

    assert read_batch(tmp_path / "b.arrow").digest() == batch.digest()


def test_repr_shows_metadata_but_no_references_or_filters() -> None:
    batch = make_batch()

    assert "ref0" not in repr(batch)
    assert "records=3" in repr(batch)


def rewrite(
    batch: Batch, *, metadata: dict[str, str] | None = None, table: pa.Table | None = None
) -> bytes:
    original = pa.ipc.open_file(pa.py_buffer(to_bytes(batch))).read_all()
    table = table if table is not None else original
    meta = {key.decode(): value.decode() for key, value in original.schema.metadata.items()}
    meta.update({f"fieldlink.{key}": value for key, value in (metadata or {}).items()})
    sink = io.BytesIO()
    table = table.replace_schema_metadata({k: v for k, v in meta.items() if v != "<drop>"})
    with pa.ipc.new_file(sink, table.schema) as writer:
        writer.write_table(table)
    return sink.getvalue()


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"format": "fieldlink-batch/99"}, "unsupported batch format"),
        ({"record_count": "4"}, "metadata says 4 records"),
        ({"record_count": "many"}, "not a number"),
        ({"filter_bits": "64"}, "fixed-size binary of 8 bytes"),
        ({"key_check": "xyz"}, "key check value"),
        ({"agency": "<drop>"}, "lacks agency"),
    ],
)
def test_inconsistent_metadata_is_refused(change: dict[str, str], message: str) -> None:
    with pytest.raises(BatchError, match=message):
        read_batch(rewrite(make_batch(), metadata=change))


def test_duplicate_references_are_refused() -> None:
    batch = make_batch()
    table = pa.table({"ref": ["a", "a", "b"], "filter": pa.array([bytes(16)] * 3, pa.binary(16))})

    with pytest.raises(BatchError, match="unique"):
        read_batch(rewrite(batch, table=table))


@pytest.mark.parametrize("content", [b"", b"not arrow at all", b"ARROW1" + bytes(100)])
def test_non_batch_bytes_are_refused(content: bytes) -> None:
    with pytest.raises(BatchError, match="not a batch file"):
        read_batch(content)


def test_clkhash_output_is_imported_with_bit_order_preserved() -> None:
    first = bytes([0b1000_0000]) + bytes(7)  # clkhash: bit 0 is the MSB of byte 0
    document = {"clks": [base64.b64encode(first).decode(), base64.b64encode(bytes(8)).decode()]}

    batch = import_clkhash(
        json.loads(json.dumps(document)),
        agency="kmar",
        schema_fingerprint="clkhash:abc",
        key_check="00" * 8,
        references=["r1", "r2"],
    )

    assert batch.filter_bits == 64
    assert np.unpackbits(batch.filters[0], bitorder="little")[0] == 1
    assert batch.filters[1].sum() == 0


@pytest.mark.parametrize(
    "document", [{}, {"clks": []}, {"clks": ["!!"]}, [1, 2], {"clks": ["AAAA", "AAAAAAAA"]}]
)
def test_malformed_clkhash_output_is_refused(document: object) -> None:
    with pytest.raises(BatchError):
        import_clkhash(
            document,
            agency="kmar",
            schema_fingerprint="x",
            key_check="00" * 8,
            references=["r1", "r2"],
        )


@pytest.mark.parametrize("values", [[], ["a", "bb", ""], ["Peña", "ß", "日本", "x"]])
def test_string_arrays_are_built_exactly(values: list[str]) -> None:
    assert string_array(values).to_pylist() == values
