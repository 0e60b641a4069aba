"""Batches read for matching as salt-family digests: the same run, without the filters."""

import io
import json
import weakref
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pytest

from linkage.batch import (
    Batch,
    Comparisons,
    DigestedBatch,
    FamilyWords,
    read_batch,
    write_batch,
)
from linkage.batch_stream import read_file_for_matching, read_for_matching, read_streamed
from linkage.cli import main
from linkage.cli import match as cli_match
from linkage.errors import BatchError, LinkageError
from linkage.hits import write_hits
from linkage.match.engine import match_batches
from linkage.match.groups import family_digests
from linkage.match.layout import ComparisonLayout
from linkage.match.pool import pool_batches
from linkage.spill import SpillSettings
from tests.linkage.field_data import SynthBatches, synth_batches
from tests.linkage.test_batch import to_bytes
from tests.linkage.test_batch_stream import full_batch, in_record_batches, peak_bytes, pieces

FAMILIES = ("born", "name", "place")


def grouped_layout(words: int = 2) -> str:
    return json.dumps(
        {
            "format": "fieldlink-comparisons/1",
            "words": words,
            "comparisons": [
                {"name": "born", "method": "exact", "offset": 1, "words": 1, "crosswise": None}
            ],
            "families": list(FAMILIES),
            "group_filters": True,
        }
    )


def grouped_batch(records: int = 300, *, width: int = 16, seed: int = 0) -> Batch:
    """Group filters of three families (some records absent from some), comparison words."""
    rng = np.random.default_rng(seed)
    shapes = rng.integers(1, 256, (40, width), dtype=np.uint8)
    parts = []
    for family in range(len(FAMILIES)):
        label = rng.integers(0, 40, records)
        part = shapes[label].copy()
        part[rng.random(records) < 0.2 + 0.1 * family] = 0  # not in this family
        parts.append(part)
    return Batch.create(
        agency="politie",
        schema_fingerprint="ab" * 32,
        key_check="0123456789abcdef",
        references=[f"ref-{index:06d}" for index in range(records)],
        filters=np.concatenate(parts, axis=1),
        comparisons=Comparisons(
            layout=grouped_layout(),
            values=rng.integers(0, 256, (records, 16 * len(FAMILIES)), dtype=np.uint8),
        ),
    )


@pytest.mark.parametrize("chunk", [1, 7, 4096, 1 << 30])
@pytest.mark.parametrize("rows", [None, 16, 5000])
def test_a_digested_batch_holds_each_familys_digest_of_the_filters_read_whole(
    chunk: int, rows: int | None
) -> None:
    # 5000 records in one record batch: its filters are digested in several slices.
    whole = grouped_batch(records=6000 if rows == 5000 else 300)
    data = to_bytes(whole)
    data = data if rows is None else in_record_batches(data, rows)

    read = read_for_matching(pieces(data, chunk), size_bytes=len(data))

    assert isinstance(read, DigestedBatch)
    assert read.references == whole.references
    assert (read.agency, read.key_check, read.filter_bits) == (
        whole.agency,
        whole.key_check,
        whole.filter_bits,
    )
    assert np.array_equal(read.digests, family_digests(whole.filters, len(FAMILIES))[0])
    assert (read.digests == 0).any() and (read.digests != 0).any()
    assert whole.comparisons is not None
    values = whole.comparisons.values.view(np.uint64)
    words = read.comparisons.take()
    for family in range(len(FAMILIES)):
        assert np.array_equal(words.family(family), values[:, 2 * family : 2 * family + 2])
    assert "ref-" not in repr(read) and "taken" in repr(read.comparisons)


def test_a_batch_without_group_filters_is_read_as_read_streamed_reads_it() -> None:
    data = to_bytes(full_batch())

    read = read_for_matching(pieces(data, 4096), size_bytes=len(data))

    streamed = read_streamed(pieces(data, 4096), size_bytes=len(data)).batch
    assert isinstance(read, Batch)
    assert read.references == streamed.references
    assert np.array_equal(read.filters, streamed.filters)


def test_reading_for_matching_holds_the_digests_not_the_filters() -> None:
    # 20,000 records with three 128-byte group filters: 7.7 MB of filters, 0.5 MB of
    # digests, 1 MB of comparison words; read in 256 kB chunks as the vault gives them.
    batch = grouped_batch(records=20_000, width=128)
    data = to_bytes(batch)
    filters = batch.filters.nbytes

    def chunks() -> Iterator[bytes]:
        view = io.BytesIO(data)
        while piece := view.read(256 * 1024):
            yield piece

    whole = peak_bytes(lambda: read_streamed(chunks(), size_bytes=len(data)))
    digested = peak_bytes(lambda: read_for_matching(chunks(), size_bytes=len(data)))

    assert whole > filters
    assert whole - digested > 0.9 * filters  # what the whole read holds and this one not


def family_words(batch: Batch) -> FamilyWords:
    """The batch's comparison words as a digested read holds them."""
    assert batch.comparisons is not None
    layout = ComparisonLayout.parse(batch.comparisons.layout)
    values = batch.comparisons.values.view(np.uint64)
    words = layout.words
    parts = [values[:, f * words : (f + 1) * words].copy() for f in range(layout.families)]
    return FamilyWords(batch.comparisons.layout, parts, len(batch))


def digested(batch: Batch, *, families: int = 3, words: FamilyWords | None = None) -> DigestedBatch:
    return DigestedBatch(
        agency=batch.agency,
        schema_fingerprint=batch.schema_fingerprint,
        key_check=batch.key_check,
        filter_bits=batch.filter_bits,
        references=batch.references,
        digests=np.zeros((len(batch), families), dtype=np.uint64),
        created_at=batch.created_at,
        comparisons=words or family_words(batch),
    )


def test_a_digested_batch_must_have_a_digest_per_record_and_family() -> None:
    whole = grouped_batch(records=10)
    assert whole.comparisons is not None

    assert len(digested(whole)) == 10
    with pytest.raises(BatchError, match="one digest per record and salt family"):
        digested(whole, families=2)
    document = json.loads(grouped_layout()) | {"group_filters": False}
    with pytest.raises(BatchError, match="only a batch with group filters"):
        plain = replace(whole.comparisons, layout=json.dumps(document))
        digested(replace(whole, comparisons=plain))
    with pytest.raises(BatchError, match="one array per family"):
        taken = family_words(whole).take()
        FamilyWords(whole.comparisons.layout, [taken.family(0), taken.family(1)], 10)


def test_comparison_words_go_to_one_run_only() -> None:
    words = family_words(grouped_batch(records=10))
    head = words.head(4)

    taken = words.take()

    parts = [taken.family(family) for family in range(3)]
    assert [len(part) for part in parts] == [10, 10, 10] and head.records == 4
    assert np.array_equal(head.take().family(1), parts[1][:4])
    with pytest.raises(LinkageError, match="taken already"):
        taken.family(1)
    with pytest.raises(LinkageError, match="went to a run already: read it again"):
        words.take()
    with pytest.raises(LinkageError, match="went to a run already"):
        words.head(2)


@pytest.fixture(scope="module")
def synth(tmp_path_factory: pytest.TempPathFactory) -> SynthBatches:
    return synth_batches(tmp_path_factory.mktemp("synth"))


def test_digested_batches_match_as_the_batches_they_were_read_from(
    synth: SynthBatches, tmp_path: Path
) -> None:
    digested = []
    for batch in synth.batches:
        sink = io.BytesIO()
        write_batch(batch, sink)
        read = read_for_matching(pieces(sink.getvalue(), 65536))
        assert isinstance(read, DigestedBatch)
        digested.append(read)

    expected, expected_report = match_batches(synth.batches)
    found, report = match_batches(digested)

    write_hits(expected, tmp_path / "expected.json")
    write_hits(found, tmp_path / "found.json")
    assert len(expected.groups) > 100
    assert (tmp_path / "found.json").read_bytes() == (tmp_path / "expected.json").read_bytes()
    assert report == expected_report


def test_a_pool_of_digested_batches_has_no_filters_to_give(synth: SynthBatches) -> None:
    sink = io.BytesIO()
    write_batch(synth.batches[0], sink)
    read = read_for_matching([sink.getvalue()])
    pool = pool_batches([read, *synth.batches[1:]])

    with pytest.raises(LinkageError, match="read as family digests"):
        _ = pool.filters
    assert len(pool.digest_parts) == len(synth.batches)
    assert read_batch(sink.getvalue()).references == read.references


def test_a_run_lets_go_of_each_familys_words_once_compared(synth: SynthBatches) -> None:
    # Each digested batch's words, held by the run alone: weakly referenced here.
    batches, held = [], []
    for batch in synth.batches:
        words = family_words(batch)
        assert isinstance(words._families, list)
        held += [weakref.ref(part) for part in words._families]
        found = _digests(batch)
        read = digested(batch, families=found.shape[1], words=words)
        batches.append(replace(read, digests=found))
    alive_at: dict[str, int] = {}

    def progress(stage: str, fraction: float) -> None:
        alive_at.setdefault(stage.split(" (")[0], sum(ref() is not None for ref in held))

    hits, _ = match_batches(batches, progress=progress)

    assert len(hits.groups) > 100
    assert alive_at["choosing threshold"] == len(held) > 2 * len(synth.batches)
    assert alive_at["learning weights"] == 0 and alive_at["grouping"] == 0
    with pytest.raises(LinkageError, match="went to a run already"):
        match_batches(batches)


def _digests(batch: Batch) -> npt.NDArray[np.uint64]:
    assert batch.comparisons is not None
    families = ComparisonLayout.parse(batch.comparisons.layout).families
    return family_digests(batch.filters, families)[0]


@pytest.mark.parametrize("spill", [[], ["--spill-over", "0"]], ids=["in-memory", "spilled"])
def test_fieldlink_match_reads_batch_files_as_digests_and_finds_the_same_hits(
    synth: SynthBatches, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, spill: list[str]
) -> None:
    paths = []
    for index, batch in enumerate(synth.batches):
        paths.append(tmp_path / f"{index}.arrow")
        write_batch(batch, paths[-1])
    expected, _ = match_batches(synth.batches)
    write_hits(expected, tmp_path / "expected.json")
    read: list[str] = []

    def counted(path: Path, *, spill: SpillSettings) -> Batch | DigestedBatch:
        found = read_file_for_matching(path, spill=spill)
        assert isinstance(found, DigestedBatch)
        read.append("spilled" if found.comparisons.spilled else "in memory")
        return found

    monkeypatch.setattr(cli_match, "read_file_for_matching", counted)

    assert main(["match", *map(str, paths), "--out", str(tmp_path / "hits.json"), *spill]) == 0

    assert read == ["spilled" if spill else "in memory"] * len(paths)
    assert (tmp_path / "hits.json").read_bytes() == (tmp_path / "expected.json").read_bytes()


def test_a_cut_or_corrupted_file_of_group_filters_is_refused_as_a_batch_error() -> None:
    data = to_bytes(grouped_batch(records=300))
    rng = np.random.default_rng(5)

    for cut in range(0, len(data), 997):  # cut anywhere: inside a header, a column, the footer
        with pytest.raises(BatchError):
            read_for_matching(pieces(data[:cut], 4096), size_bytes=cut)
    for at in rng.integers(0, len(data), 40).tolist():  # one byte changed anywhere
        broken = bytearray(data)
        broken[at] ^= 0xFF
        try:
            read = read_for_matching(pieces(bytes(broken), 4096), size_bytes=len(broken))
        except BatchError:
            continue
        assert isinstance(read, DigestedBatch) and len(read) == 300  # a flipped value bit
