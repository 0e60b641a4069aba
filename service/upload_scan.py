"""An upload read in passes for its admission checks: their figures, never its records held.

A batch's filters and comparison encodings take about 2.2 kB a record with the shipped
`person` schema (2.2 GB at a million records, 44 GB at twenty million). What the upload
checks (`service.admission`) need of them are figures: each record's fill, the
near-duplicates of a sample of records, the content digest. So the upload, which the
spool opens again as often as asked and decrypts a chunk at a time, is read in passes
(`linkage.batch_stream.RowScan`), each holding one chunk and one slice of records:

1. `scan_upload`: every check of `linkage.batch_stream.read_streamed`, the references
   kept (the disjointness check needs them; they are small), and each record's fill of
   the blocks that carry its values (`service.probing.family_blocks`);
2. `measure_upload`: the content digest over the references and then the filters, and
   the blocks of the near-duplicate sample (drawn from the fills as
   `service.probing.near_duplicate_share` draws it) picked out as they pass;
3. the digest over the comparison encodings, and each slice of records compared with the
   sample.

The digest takes every filter before any comparison encoding, and a file of several
record batches holds them interleaved: hence passes 2 and 3. The figures are those the
in-memory functions of `service.probing` give for the same file and seed.
"""

from collections.abc import Callable, Iterable
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import pyarrow as pa

from linkage.batch import COMPARISON_COLUMN, COMPARISON_META_KEY
from linkage.batch_stream import RowScan, RowVisitor
from linkage.errors import BatchError
from linkage.match.layout import ComparisonLayout
from service.probing import (
    BlockColumn,
    ContentDigest,
    Measures,
    NearDuplicates,
    block_column,
    near_duplicate_sample,
    record_fill,
    thin_share_of_fill,
)

Opener = Callable[[], Iterable[bytes]]  # the upload's bytes in chunks, from the start each call


@dataclass(frozen=True, slots=True, repr=False)
class Scan:
    """What the first pass keeps of an upload: public metadata, references, fills.

    Attributes:
        agency: The agency label.
        schema_fingerprint: The schema's fingerprint.
        key_check: The key check value of the secret the records were encoded under.
        filter_bits: The filter length.
        records: The record count.
        layout: The comparison layout (public JSON), or None.
        references: The reference column as one Arrow array, checked unique.
        fill: Each record's `service.probing.record_fill` (0: encoded in no family).
    """

    agency: str
    schema_fingerprint: str
    key_check: str
    filter_bits: int
    records: int
    layout: str | None
    references: pa.Array
    fill: npt.NDArray[np.float64]

    def __repr__(self) -> str:
        return f"Scan(records={self.records}, bits={self.filter_bits})"

    @property
    def salted(self) -> bool:
        """Whether the records are encoded in salt families (`service.probing.is_salted`)."""
        return self.layout is not None and bool(ComparisonLayout.parse(self.layout).family_names)

    @property
    def blocks(self) -> BlockColumn:
        """The column whose rows carry the records' values."""
        return block_column(self.filter_bits, self.layout)


@dataclass(frozen=True, slots=True)
class Measured:
    """What the later passes measure: the content digest, the near-duplicate share."""

    content_digest: str  # `service.probing.content_digest`
    near_duplicate_share: float  # `service.probing.near_duplicate_share` with the seed


def scan_upload(source: Opener, *, size_bytes: int | None = None) -> Scan:
    """The first pass: the file checked, its references and each record's fill kept.

    Raises:
        BatchError: As `linkage.batch_stream.read_streamed` would for the same file.
    """
    rows = RowScan(source(), size_bytes=size_bytes)
    filter_bits, layout = int(rows.meta["filter_bits"]), rows.meta.get(COMPARISON_META_KEY)
    column = block_column(filter_bits, layout)
    fill = _Fill(rows.count, column)
    references = rows.walk_keeping_references({column.name: fill})
    return Scan(
        agency=rows.meta["agency"],
        schema_fingerprint=rows.meta["schema_fingerprint"],
        key_check=rows.meta["key_check"],
        filter_bits=filter_bits,
        records=rows.count,
        layout=layout,
        references=references,
        fill=fill.array(),
    )


def measure_upload(
    scan: Scan, source: Opener, *, size_bytes: int | None = None, seed: int = 0
) -> Measured:
    """The later passes over an upload that `scan_upload` read: digest, near-duplicates.

    Raises:
        BatchError: The file is not the one scanned (its record count differs).
    """
    digest = ContentDigest()
    digest.references(scan.references)
    sample = near_duplicate_sample(np.flatnonzero(scan.fill > 0), seed=seed)
    duplicates = NearDuplicates(sample)
    column = scan.blocks
    sampled = bool(len(sample))

    def take(first: int, rows: npt.NDArray[np.uint8]) -> None:
        duplicates.take(first, column.split(rows))

    def compare(first: int, rows: npt.NDArray[np.uint8]) -> None:
        duplicates.compare(first, column.split(rows))

    second: dict[str, list[RowVisitor]] = {"filter": [digest.rows]}
    third: dict[str, list[RowVisitor]] = {}
    if scan.layout is not None:
        third[COMPARISON_COLUMN] = [digest.rows]
    if sampled:
        second.setdefault(column.name, []).append(take)
        third.setdefault(column.name, []).append(compare)
    for visitors in (second, third):
        if visitors:
            _walk(scan, source, size_bytes, visitors)
    return Measured(digest.hexdigest(), duplicates.share())


def probing_measures(scan: Scan, measured: Measured) -> Measures:
    """The probing rules' figures of a scanned and measured upload."""
    return Measures(
        salted=scan.salted,
        records=scan.records,
        thin_share=lambda floor: thin_share_of_fill(scan.fill, floor),
        near_duplicate_share=lambda: measured.near_duplicate_share,
    )


def _walk(
    scan: Scan, source: Opener, size_bytes: int | None, visitors: dict[str, list[RowVisitor]]
) -> None:
    rows = RowScan(source(), size_bytes=size_bytes)
    if rows.count != scan.records:
        raise BatchError("the batch file changed between its checks")
    rows.walk({name: _each(*each) for name, each in visitors.items()})


def _each(*visitors: RowVisitor) -> RowVisitor:
    if len(visitors) == 1:
        return visitors[0]

    def visit(first: int, rows: npt.NDArray[np.uint8]) -> None:
        for visitor in visitors:
            visitor(first, rows)

    return visit


class _Fill:
    """Each record's fill, from its blocks' rows as they pass (`RowVisitor`)."""

    def __init__(self, count: int, column: BlockColumn) -> None:
        self.count, self.column = count, column
        self.target: npt.NDArray[np.float64] | None = None

    def __call__(self, first: int, rows: npt.NDArray[np.uint8]) -> None:
        # Made at the first slice: by then the record count is checked against the file.
        target = self.array()
        target[first : first + len(rows)] = record_fill(self.column.split(rows))

    def array(self) -> npt.NDArray[np.float64]:
        """Every record's fill (zeros until read)."""
        if self.target is None:
            self.target = np.zeros(self.count, dtype=np.float64)
        return self.target
