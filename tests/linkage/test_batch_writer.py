"""The batch file written part by part (`linkage.batch_writer`, `encode_csv`): the same
batch as `Batch.create` + `write_batch` made of the whole file, for every reader."""

import os
from dataclasses import replace
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pyarrow as pa
import pytest

import keys
import keys.envelope
from keys import KeyKind, KeyPair, LinkageSecret, ReferenceKey, generate_keypair
from linkage import encode as encode_module
from linkage.agency import encode_csv
from linkage.batch import Batch, Comparisons, read_batch, write_batch
from linkage.batch_stream import pick_envelopes, read_reference_column, read_streamed
from linkage.batch_writer import BatchWriter
from linkage.comparisons import comparison_layout
from linkage.encode import OnInvalid, encode_table
from linkage.envelopes import EnvelopeRequest, open_batch_envelopes, plan_sealing
from linkage.errors import BatchError, InputError
from linkage.records import check_ids, plan_columns, read_csv
from linkage.schema import load_schema
from tests.factories import fake_people, to_csv

FIELDS = ("given_names", "surnames", "date_of_birth")


@pytest.fixture
def team() -> KeyPair:
    return generate_keypair("fieldlab-team", KeyKind.TEAM)


@pytest.fixture
def fixed_sealing_keys(
    team: KeyPair, secret: LinkageSecret, ref_key: ReferenceKey, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Each batch gets a fresh ephemeral key and each envelope a random nonce: here one key
    # and zero nonces for both ways of writing, so that their envelopes compare.
    fixed = keys.sealing_keys(team.public, project=secret.project, agency=ref_key.agency)
    monkeypatch.setattr(keys, "sealing_keys", lambda *_, **__: fixed)
    monkeypatch.setattr(keys.envelope, "os", SimpleNamespace(urandom=bytes))


def people_csv(folder: Path, count: int, invalid: tuple[int, ...] = ()) -> Path:
    people = fake_people(count, seed=7)
    for index in invalid:
        people[index]["date_of_birth"] = "31-02-1999"
    people[5]["record_id"] = ""  # no id: left out before encoding
    path = folder / "people.csv"
    path.write_text(to_csv(people), encoding="utf-8")
    return path


def whole_batch(
    path: Path, secret: LinkageSecret, ref_key: ReferenceKey, team: KeyPair, on_invalid: OnInvalid
) -> Batch:
    """The batch as `encode_csv` made it before: encoded whole, then `Batch.create`."""
    schema = load_schema()
    table = read_csv(path)
    plan = plan_columns(table.header, schema, id_column="record_id")
    bad = np.searchsorted(table.row_numbers, [p.row for p in check_ids(table, "record_id")])
    kept = table.without(bad.tolist())
    request = EnvelopeRequest(fields=FIELDS, team_key=team.public)
    sealing = plan_sealing(
        request, header=table.header, plan=plan, project=secret.project, agency=ref_key.agency
    )
    encoded = encode_table(
        kept, plan, schema, secret, on_invalid=on_invalid, ref_key=ref_key, envelopes=sealing
    )
    assert encoded.comparisons is not None
    return Batch.create(
        agency=ref_key.agency,
        schema_fingerprint=schema.fingerprint(),
        key_check=secret.key_check_value(),
        references=list(encoded.references),
        filters=encoded.filters,
        envelopes=sealing.envelopes(encoded.envelopes),
        comparisons=Comparisons(comparison_layout(schema).text, encoded.comparisons),
    )


def encode(
    path: Path,
    secret: LinkageSecret,
    ref_key: ReferenceKey,
    team: KeyPair,
    **options: object,
) -> Path:
    out = path.with_name("politie.arrow")
    encode_csv(
        path,
        schema=load_schema(),
        secret=secret,
        ref_key=ref_key,
        out=out,
        envelopes=EnvelopeRequest(fields=FIELDS, team_key=team.public),
        **options,  # type: ignore[arg-type]
    )
    return out


def assert_same_batch(read: Batch, expected: Batch, team: KeyPair) -> None:
    assert read.metadata() == expected.metadata()
    assert read.references == expected.references
    assert np.array_equal(read.filters, expected.filters)
    assert read.comparisons is not None and expected.comparisons is not None
    assert np.array_equal(read.comparisons.values, expected.comparisons.values)
    assert read.envelopes is not None and expected.envelopes is not None
    project = "test-project"  # the `secret` fixture's
    opened = open_batch_envelopes(team, read, project=project)
    assert opened == open_batch_envelopes(team, expected, project=project)
    # Spawned workers (once numba's threads ran in this process) seal with nonces of
    # their own: the bytes, and so the digest, compare only when the nonces were fixed.
    if read.envelopes.sealed == expected.envelopes.sealed:
        assert read.digest() == expected.digest()


@pytest.mark.usefixtures("fixed_sealing_keys")
@pytest.mark.parametrize("on_invalid", [OnInvalid.BLANK, OnInvalid.REJECT])
@pytest.mark.parametrize("workers", [1, 2])
def test_a_file_of_several_chunks_holds_the_batch_made_whole(
    tmp_path: Path,
    secret: LinkageSecret,
    ref_key: ReferenceKey,
    team: KeyPair,
    monkeypatch: pytest.MonkeyPatch,
    workers: int,
    on_invalid: OnInvalid,
) -> None:
    # REJECT leaves records out as it encodes (the count is known only at the end: the
    # parts go through a temporary stream); BLANK knows it before (written straight).
    path = people_csv(tmp_path, 300, invalid=(3, 70, 71, 150, 299))
    monkeypatch.setattr(encode_module, "CHUNK_ROWS", 64)
    expected = whole_batch(path, secret, ref_key, team, on_invalid)

    out = encode(path, secret, ref_key, team, workers=workers, on_invalid=on_invalid)

    data = out.read_bytes()
    assert pa.ipc.open_file(out).num_record_batches == 5  # a record batch a chunk
    read = read_batch(out)
    assert len(read) == (294 if on_invalid is OnInvalid.REJECT else 299)
    assert_same_batch(read, replace(expected, created_at=read.created_at), team)
    # Several record batches, each read alike by the streaming readers.
    streamed = read_streamed([data[i : i + 4096] for i in range(0, len(data), 4096)])
    assert streamed.sealed
    assert streamed.batch.references == read.references
    assert np.array_equal(streamed.batch.filters, read.filters)
    assert read_reference_column([data]).to_pylist() == list(read.references)
    wanted = [read.references[0], read.references[-1], read.references[100]]
    assert read.envelopes is not None
    picked = pick_envelopes([data], wanted)
    assert picked.envelopes == {
        ref: read.envelopes.sealed[read.references.index(ref)] for ref in wanted
    }
    assert [name for name in os.listdir(tmp_path) if name.startswith(".")] == []


@pytest.mark.usefixtures("fixed_sealing_keys")
@pytest.mark.parametrize("on_invalid", [OnInvalid.BLANK, OnInvalid.REJECT])
def test_a_file_of_one_chunk_is_byte_for_byte_write_batch(
    tmp_path: Path,
    secret: LinkageSecret,
    ref_key: ReferenceKey,
    team: KeyPair,
    on_invalid: OnInvalid,
) -> None:
    path = people_csv(tmp_path, 120, invalid=(9,))
    expected = whole_batch(path, secret, ref_key, team, on_invalid)

    out = encode(path, secret, ref_key, team, on_invalid=on_invalid)

    whole = tmp_path / "whole.arrow"
    write_batch(replace(expected, created_at=read_batch(out).created_at), whole)
    assert out.read_bytes() == whole.read_bytes()


@pytest.mark.usefixtures("fixed_sealing_keys")
@pytest.mark.parametrize("on_invalid", [OnInvalid.BLANK, OnInvalid.REJECT])
def test_a_failed_encoding_leaves_no_file_behind(
    tmp_path: Path,
    secret: LinkageSecret,
    ref_key: ReferenceKey,
    team: KeyPair,
    monkeypatch: pytest.MonkeyPatch,
    on_invalid: OnInvalid,
) -> None:
    path = people_csv(tmp_path, 200, invalid=tuple(range(0, 200, 5)))  # 20% invalid
    monkeypatch.setattr(encode_module, "CHUNK_ROWS", 64)

    with pytest.raises(InputError, match="have invalid values"):
        encode(path, secret, ref_key, team, on_invalid=on_invalid, max_invalid=0.05)

    assert sorted(os.listdir(tmp_path)) == ["people.csv"]  # no batch, map or temporary file


def part(batch: Batch, rows: slice) -> Batch:
    return replace(batch, references=batch.references[rows], filters=batch.filters[rows])


@pytest.fixture
def small() -> Batch:
    filters = np.arange(6 * 4, dtype=np.uint8).reshape(6, 4)
    return Batch.create(
        agency="politie",
        schema_fingerprint="f" * 64,
        key_check="0" * 16,
        references=[f"r{index}" for index in range(6)],
        filters=filters,
    )


@pytest.mark.parametrize("announced", [None, 6])
def test_parts_make_the_batch(tmp_path: Path, small: Batch, announced: int | None) -> None:
    out = tmp_path / "b.arrow"
    with BatchWriter(out, records=announced) as writer:
        writer.write(part(small, slice(0, 4)))
        writer.write(part(small, slice(4, 6)))
        assert writer.finish() == 6

    read = read_batch(out)
    assert read.references == small.references
    assert np.array_equal(read.filters, small.filters)
    assert read.metadata() == small.metadata()
    assert os.listdir(tmp_path) == ["b.arrow"]


def test_a_reference_repeated_across_parts_is_refused(tmp_path: Path, small: Batch) -> None:
    with BatchWriter(tmp_path / "b.arrow") as writer:
        writer.write(part(small, slice(0, 4)))
        repeated = replace(part(small, slice(4, 6)), references=("r4", "r2"))
        with pytest.raises(BatchError, match="line 7 of the reference map repeats one"):
            writer.write(repeated)

    assert os.listdir(tmp_path) == []  # the parts went to a temporary stream, now gone


def test_parts_of_other_metadata_or_count_are_refused(tmp_path: Path, small: Batch) -> None:
    with BatchWriter(tmp_path / "b.arrow", records=5) as writer:
        writer.write(part(small, slice(0, 4)))
        with pytest.raises(BatchError, match="same metadata"):
            writer.write(replace(part(small, slice(4, 6)), agency="fiod"))
        writer.write(part(small, slice(4, 6)))
        with pytest.raises(BatchError, match="5 records were announced, 6 written"):
            writer.finish()
    with BatchWriter(tmp_path / "c.arrow") as writer, pytest.raises(BatchError, match="one record"):
        writer.finish()
