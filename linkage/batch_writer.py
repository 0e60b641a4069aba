"""Writing a batch file part by part, as an encoder finishes its records.

`linkage.batch.write_batch` writes a `Batch` held whole in memory: at 1,904 bytes a record
(filters, comparison encodings, envelopes) that is 19 GB at 10,000,000 records. A
`BatchWriter` takes the records a part at a time (each part a `Batch` of some records,
validated like any batch) and writes each as one Arrow record batch of the file, in the
order given; it keeps only the references, to refuse a repeated one across parts.

The file is the one `write_batch` writes, but for its records being split in several
record batches: every reader of batch files takes it (`read_batch`, `linkage.batch_stream`),
reads the same batch from it, and a file of one part is byte for byte `write_batch`'s.

A batch file states its record count in the schema, before the records. When the count
is known beforehand the parts go straight into the file. When it is not (an encoder that
leaves invalid records out knows only at the end), they go to a temporary Arrow IPC stream
beside the file first, and are copied into the file record batch by record batch by
`finish`, which knows the count then.
"""

import os
import tempfile
from pathlib import Path
from types import TracebackType
from typing import Self

import pyarrow as pa

from linkage.batch import Batch, record_batch, refmap_line
from linkage.errors import BatchError


class BatchWriter:
    """Writes a batch file from parts of its records (`Batch`es of equal metadata).

    Use it as a context manager: on leaving, whatever was not finished is closed and the
    temporary stream removed; the file at `path` is then incomplete, so write it to a
    temporary name and rename it only after `finish` (as `linkage.agency` does).

    Args:
        path: Where the batch file goes.
        records: The number of records the parts will hold, when known beforehand (then no
            temporary stream is written); `finish` checks it.
    """

    def __init__(self, path: Path, *, records: int | None = None) -> None:
        self.path = path
        self.records = records
        self.written = 0
        self._metadata: dict[str, str] | None = None  # the first part's, record count aside
        self._schema: pa.Schema | None = None
        self._sink: pa.NativeFile | None = None
        self._writer: pa.ipc.RecordBatchStreamWriter | pa.ipc.RecordBatchFileWriter | None = None
        self._spool: Path | None = None
        self._seen: set[str] = set()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self._close()
        self._remove_spool()

    def write(self, part: Batch) -> None:
        """Append a part's records; its metadata must be the first part's (count aside).

        Raises:
            BatchError: Its metadata differs from the first part's, or a reference repeats
                one written before.
        """
        metadata = _without_count(part.metadata())
        if self._metadata is None:
            self._metadata = metadata
            self._open(part, metadata)
        elif metadata != self._metadata:
            raise BatchError("every part of a batch must have the same metadata")
        if self._writer is None:
            raise BatchError("the batch file is finished or closed already")
        self._check_unique(part.references)
        self._writer.write_batch(record_batch(part))
        self.written += len(part)

    def finish(self) -> int:
        """Complete the file: copy the parts in when they went to the temporary stream.

        Returns:
            The number of records written.

        Raises:
            BatchError: No part was written, or not the number of records announced.
        """
        if self._metadata is None or self._schema is None:
            raise BatchError("a batch file needs at least one record")
        if self.records is not None and self.written != self.records:
            raise BatchError(f"{self.records} records were announced, {self.written} written")
        if self._spool is None:
            self._close()
            return self.written
        self._close()  # the stream: complete, to be read back
        schema = _file_schema(self._schema, self._metadata, self.written)
        with (
            pa.OSFile(str(self.path), "wb") as sink,
            pa.ipc.new_file(sink, schema) as writer,
            pa.OSFile(str(self._spool), "rb") as source,
            pa.ipc.open_stream(source) as reader,
        ):
            # One record batch in memory at a time, read into memory rather than mapped.
            for batch in reader:
                writer.write_batch(batch)
        self._remove_spool()
        return self.written

    def _open(self, first: Batch, metadata: dict[str, str]) -> None:
        self._schema = record_batch(first).schema
        if self.records is not None:
            self._sink = pa.OSFile(str(self.path), "wb")
            schema = _file_schema(self._schema, metadata, self.records)
            self._writer = pa.ipc.new_file(self._sink, schema)
            return
        descriptor, name = tempfile.mkstemp(
            dir=self.path.parent, prefix=f".{self.path.name}.", suffix=".parts"
        )
        os.close(descriptor)
        self._spool = Path(name)
        self._sink = pa.OSFile(name, "wb")
        self._writer = pa.ipc.new_stream(self._sink, self._schema)

    def _check_unique(self, references: tuple[str, ...]) -> None:
        if self._seen.isdisjoint(references) and len(set(references)) == len(references):
            self._seen.update(references)
            return
        for index, reference in enumerate(references):  # only to name the first repeat
            if reference in self._seen:
                line = refmap_line(self.written + index)
                raise BatchError(
                    f"references must be unique (the record on line {line} of the reference "
                    "map repeats one)"
                )
            self._seen.add(reference)

    def _close(self) -> None:
        writer, sink, self._writer, self._sink = self._writer, self._sink, None, None
        try:
            if writer is not None:
                writer.close()
        finally:
            if sink is not None:
                sink.close()

    def _remove_spool(self) -> None:
        if self._spool is not None:
            self._spool.unlink(missing_ok=True)
            self._spool = None


def _without_count(metadata: dict[str, str]) -> dict[str, str]:
    # The key stays, in its place: the file's schema states the count there.
    return metadata | {"record_count": ""}


def _file_schema(schema: pa.Schema, metadata: dict[str, str], records: int) -> pa.Schema:
    # In `Batch.metadata`'s order, as `write_batch` stores it.
    counted = {
        key: str(records) if key == "record_count" else value for key, value in metadata.items()
    }
    return schema.with_metadata({f"fieldlink.{k}": v for k, v in counted.items()})
