"""Comparison words set aside on disk, sealed, and read back one family at a time."""

import io
from pathlib import Path

import numpy as np
import pytest

from linkage import spill as spill_module
from linkage.batch import DigestedBatch, write_batch
from linkage.batch_stream import read_file_for_matching, read_for_matching
from linkage.errors import LinkageError
from linkage.hits import write_hits
from linkage.match.engine import match_batches
from linkage.match.pool import pool_batches
from linkage.spill import SealedSpill, SpillSettings
from tests.linkage.field_data import SynthBatches, synth_batches
from tests.linkage.test_batch_stream import pieces
from tests.linkage.test_digested import grouped_batch


def words_of(records: int, words: int, seed: int) -> np.ndarray:
    return np.random.default_rng(seed).integers(1, 2**63, (records, words), dtype=np.uint64)


def filled(parts: list[np.ndarray], folder: Path | None = None, step: int = 7) -> SealedSpill:
    spill = SealedSpill(len(parts), len(parts[0]), parts[0].shape[1], folder)
    for start in range(0, len(parts[0]), step):
        for part, words in enumerate(parts):
            spill.append(part, words[start : start + step])
    spill.finish()
    return spill


def test_a_spill_gives_back_each_part_as_written_across_chunks(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setattr(spill_module, "_CHUNK_ROWS", 16)  # several sealed chunks a part
    parts = [words_of(100, 3, seed) for seed in range(4)]

    spill = filled(parts, tmp_path)

    assert np.array_equal(spill.head(1, 40), parts[1][:40])  # three chunks read, kept on disk
    assert np.array_equal(spill.head(1, 500), parts[1])
    assert [np.array_equal(spill.read(p), parts[p]) for p in (2, 0, 3, 1)] == [True] * 4
    assert list(tmp_path.iterdir()) == []  # unnamed files: nothing to find by name, ever


def test_a_spilled_part_is_read_once_and_its_file_is_gone_after() -> None:
    parts = [words_of(10, 2, seed) for seed in range(2)]
    spill = filled(parts)

    spill.read(0)
    spill.drop(1)

    for part in (0, 1):
        with pytest.raises(LinkageError, match=f"family {part + 1} was read already"):
            spill.read(part)
    assert repr(spill) == "SealedSpill(parts=2, records=10, on_disk=0)"


def test_what_is_on_disk_is_sealed_and_a_changed_byte_is_refused(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(spill_module, "_CHUNK_ROWS", 8)
    words = np.full((20, 2), 0x0123456789ABCDEF, dtype=np.uint64)
    spill = filled([words, words.copy()])
    handle = spill._files[0]
    assert handle is not None
    handle.seek(0)
    on_disk = handle.read()

    assert words[0].tobytes()[:8] not in on_disk  # the words are not there in the clear
    assert len(on_disk) == words.nbytes + 3 * 16  # three chunks, a tag each

    handle.seek(5)
    handle.write(bytes([on_disk[5] ^ 1]))
    with pytest.raises(LinkageError, match="family 1 was changed on disk") as caught:
        spill.read(0)
    assert "0123456789" not in str(caught.value)
    assert np.array_equal(spill.read(1), words)  # one part's damage is that part's only


def test_a_spill_refuses_a_part_of_another_length() -> None:
    spill = SealedSpill(2, 10, 2)
    spill.append(0, words_of(10, 2, 0))
    spill.append(1, words_of(9, 2, 1))

    with pytest.raises(LinkageError, match="another number of records"):
        spill.finish()


def test_a_folder_that_cannot_hold_the_spill_is_named_in_a_clear_error(tmp_path: Path) -> None:
    missing = tmp_path / "not-there"

    with pytest.raises(LinkageError, match=r"cannot set comparison words aside in .*not-there"):
        SealedSpill(3, 10, 2, missing)


def test_settings_spill_batches_of_more_records_than_allowed() -> None:
    assert SpillSettings(over_records=0).applies(1)
    assert not SpillSettings(over_records=10).applies(10)
    assert SpillSettings(over_records=10).applies(11)
    assert not SpillSettings().applies(1_000_000)


def test_a_reader_spills_only_batches_over_the_limit(tmp_path: Path) -> None:
    sink = io.BytesIO()
    write_batch(grouped_batch(records=300), sink)
    data = sink.getvalue()

    small = read_for_matching([data], spill=SpillSettings(over_records=300))
    large = read_for_matching([data], spill=SpillSettings(over_records=299, folder=tmp_path))

    assert isinstance(small, DigestedBatch) and isinstance(large, DigestedBatch)
    assert not small.comparisons.spilled and large.comparisons.spilled
    assert "spilled" in repr(large.comparisons)
    kept, spilled = small.comparisons.take(), large.comparisons.take()
    kept_parts = [kept.family(family) for family in range(3)]
    for family in range(3):
        assert np.array_equal(spilled.family(family), kept_parts[family])
    again = read_for_matching([data], spill=SpillSettings(over_records=0))
    assert isinstance(again, DigestedBatch)
    head = again.comparisons.head(9).take()  # the spill stays for the run
    rest = again.comparisons.take()
    for family in range(3):
        assert np.array_equal(head.family(family), kept_parts[family][:9])
        assert np.array_equal(rest.family(family), kept_parts[family])


@pytest.fixture(scope="module")
def synth(tmp_path_factory: pytest.TempPathFactory) -> SynthBatches:
    return synth_batches(tmp_path_factory.mktemp("synth"))


def test_a_run_of_spilled_batches_finds_the_same_hits(synth: SynthBatches, tmp_path: Path) -> None:
    paths = []
    for index, batch in enumerate(synth.batches):
        paths.append(tmp_path / f"{index}.arrow")
        write_batch(batch, paths[-1])
    spill = SpillSettings(over_records=0)

    expected, expected_report = match_batches([read_file_for_matching(p) for p in paths])
    found, report = match_batches([read_file_for_matching(p, spill=spill) for p in paths])

    write_hits(expected, tmp_path / "expected.json")
    write_hits(found, tmp_path / "found.json")
    assert len(expected.groups) > 100
    assert (tmp_path / "found.json").read_bytes() == (tmp_path / "expected.json").read_bytes()
    assert report == expected_report


def test_a_run_reads_a_spilled_family_back_only_when_it_compares_it(synth: SynthBatches) -> None:
    sink = io.BytesIO()
    write_batch(synth.batches[0], sink)
    read = read_for_matching(pieces(sink.getvalue(), 65536), spill=SpillSettings(over_records=0))
    assert isinstance(read, DigestedBatch)
    pool = pool_batches([read, *synth.batches[1:]])
    words = pool.family_words
    assert words is not None
    (spill,) = [b._families for b in words._batches if isinstance(b._families, SealedSpill)]
    families = spill.parts

    assert repr(spill).endswith(f"on_disk={families})")  # nothing read back yet
    first = words.family(0)
    assert words.family(0) is first  # read back once, kept until released
    assert repr(spill).endswith(f"on_disk={families - 1})")
    words.release(0)
    words.release(1)  # never read: dropped from disk unread
    assert repr(spill).endswith(f"on_disk={families - 2})")
    with pytest.raises(LinkageError, match="let go already"):
        words.family(1)
