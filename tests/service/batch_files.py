"""Batch files for upload tests: real Arrow IPC files, random filters, obviously fake references."""

import io

import numpy as np
import pyarrow as pa

from linkage.batch import Batch, write_batch
from service.routes.uploads import BATCH_MEDIA_TYPE
from tests.service.factories import FINGERPRINT, KEY_CHECK

ARROW = {"Content-Type": BATCH_MEDIA_TYPE}


def make_batch(
    agency: str,
    *,
    records: int = 20,
    first: int = 0,
    seed: int = 0,
    filter_bits: int = 1024,
    fingerprint: str = FINGERPRINT,
    key_check: str = KEY_CHECK,
) -> Batch:
    """A batch with references f"{i:032x}" for i in first..first+records and random filters."""
    rng = np.random.default_rng(seed)
    filters = rng.integers(0, 256, size=(records, filter_bits // 8), dtype=np.uint8)
    return Batch.create(
        agency=agency,
        schema_fingerprint=fingerprint,
        key_check=key_check,
        references=[f"{index:032x}" for index in range(first, first + records)],
        filters=filters,
    )


def as_file(batch: Batch) -> bytes:
    """The batch written as a batch file, as `fieldlink encode` writes it."""
    sink = io.BytesIO()
    write_batch(batch, sink)
    return sink.getvalue()


def raw_arrow_file(batch: Batch, *, references: list[str] | None = None) -> bytes:
    """A batch written around linkage's checks: for files `Batch` itself would refuse."""
    width = batch.filter_bits // 8
    filters = pa.FixedSizeBinaryArray.from_buffers(
        pa.binary(width), len(batch), [None, pa.py_buffer(batch.filters.tobytes())]
    )
    refs = pa.array(references if references is not None else list(batch.references), pa.string())
    table = pa.Table.from_arrays([refs, filters], names=["ref", "filter"])
    table = table.replace_schema_metadata(
        {f"fieldlink.{k}": v for k, v in batch.metadata().items()}
    )
    sink = io.BytesIO()
    with pa.ipc.new_file(sink, table.schema) as writer:
        writer.write_table(table)
    return sink.getvalue()
