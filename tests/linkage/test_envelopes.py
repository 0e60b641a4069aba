import io
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pytest

import linkage.encode as encode_module
from keys import (
    KeyKind,
    KeyPair,
    LinkageSecret,
    ReferenceKey,
    TamperedEnvelope,
    generate_keypair,
    sealing_keys,
)
from linkage.agency import encode_csv, read_refmap
from linkage.batch import Batch, Envelopes, read_batch, released_envelope, write_batch
from linkage.envelopes import (
    EnvelopeRequest,
    open_batch_envelopes,
    open_envelopes,
    open_released,
    plan_sealing,
)
from linkage.errors import BatchError, InputError
from linkage.records import plan_columns, read_csv
from linkage.schema import load_schema
from tests.factories import fake_people, to_csv

PROJECT = "test-project"  # the `secret` fixture's project
FIELDS = ("given_names", "surnames", "date_of_birth")


@pytest.fixture(scope="module")
def team() -> KeyPair:
    return generate_keypair("fieldlab-team", KeyKind.TEAM)


def sealed_batch(team: KeyPair, records: int = 4) -> Batch:
    keys = sealing_keys(team.public, project=PROJECT, agency="fiu")
    references = [f"ref{index}" for index in range(records)]
    envelopes = Envelopes(
        ephemeral_key=keys.ephemeral_key.hex(),
        team_key_id=keys.team_key_id,
        sealed=tuple(keys.seal(ref, {"surnames": f"Name {ref}"}) for ref in references),
    )
    return Batch.create(
        agency="fiu",
        schema_fingerprint="ab" * 32,
        key_check="0123456789abcdef",
        references=references,
        filters=np.zeros((records, 8), dtype=np.uint8),
        envelopes=envelopes,
    )


def to_bytes(batch: Batch) -> bytes:
    sink = io.BytesIO()
    write_batch(batch, sink)
    return sink.getvalue()


def rewrite(data: bytes, *, drop_meta: str = "", column: pa.Array | None = None) -> bytes:
    table = pa.ipc.open_file(pa.py_buffer(data)).read_all()
    meta = {
        k: v for k, v in table.schema.metadata.items() if k != f"fieldlink.{drop_meta}".encode()
    }
    if column is not None:
        table = table.set_column(table.column_names.index("envelope"), "envelope", column)
    sink = io.BytesIO()
    table = table.replace_schema_metadata(meta)
    with pa.ipc.new_file(sink, table.schema) as writer:
        writer.write_table(table)
    return sink.getvalue()


def test_envelopes_round_trip_through_batch_files(team: KeyPair) -> None:
    batch = sealed_batch(team)

    again = read_batch(to_bytes(batch))

    assert again.envelopes is not None and batch.envelopes is not None
    assert again.envelopes.sealed == batch.envelopes.sealed
    assert again.metadata()["team_key_id"] == team.key_id
    assert again.digest() == batch.digest()
    opened = open_batch_envelopes(team, again, project=PROJECT)
    assert opened["ref2"] == {"surnames": "Name ref2"}


def test_batches_without_envelopes_keep_their_metadata_and_digest() -> None:
    plain = Batch.create(
        agency="fiu",
        schema_fingerprint="ab" * 32,
        key_check="0123456789abcdef",
        references=["r"],
        filters=np.zeros((1, 8), dtype=np.uint8),
    )

    again = read_batch(to_bytes(plain))

    assert again.envelopes is None
    assert "team_key_id" not in again.metadata()
    assert pa.ipc.open_file(pa.py_buffer(to_bytes(plain))).read_all().column_names == [
        "ref",
        "filter",
    ]


def test_the_digest_covers_the_envelopes(team: KeyPair) -> None:
    batch = sealed_batch(team)
    assert batch.envelopes is not None
    sealed = (batch.envelopes.sealed[1], batch.envelopes.sealed[0], *batch.envelopes.sealed[2:])

    assert (
        replace(batch, envelopes=replace(batch.envelopes, sealed=sealed)).digest() != batch.digest()
    )


@pytest.mark.parametrize("dropped", ["envelope_key", "team_key_id"])
def test_envelopes_without_their_metadata_are_refused(team: KeyPair, dropped: str) -> None:
    with pytest.raises(BatchError, match="without their key metadata"):
        read_batch(rewrite(to_bytes(sealed_batch(team)), drop_meta=dropped))


@pytest.mark.parametrize(
    ("column", "message"),
    [
        (pa.array(["a", "b", "c", "d"]), "must be binary"),
        (pa.array([b"x", None, b"y", b"z"], type=pa.binary()), "without an envelope"),
        (pa.array([b"x", b"", b"y", b"z"], type=pa.binary()), "1-4096 bytes"),
        (pa.array([b"x", bytes(5000), b"y", b"z"], type=pa.binary()), "1-4096 bytes"),
    ],
)
def test_malformed_envelope_columns_are_refused(
    team: KeyPair, column: pa.Array, message: str
) -> None:
    with pytest.raises(BatchError, match=message):
        read_batch(rewrite(to_bytes(sealed_batch(team)), column=column))


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"ephemeral_key": "zz" * 32}, "64 hex"),
        ({"team_key_id": "abc"}, "16 hex"),
        ({"sealed": (b"x",)}, "one envelope per reference"),
    ],
)
def test_envelope_labels_are_validated(
    team: KeyPair, changes: dict[str, Any], message: str
) -> None:
    batch = sealed_batch(team)
    assert batch.envelopes is not None

    with pytest.raises(BatchError, match=message):
        replace(batch, envelopes=replace(batch.envelopes, **changes))


def test_envelopes_swapped_between_records_are_detected(team: KeyPair) -> None:
    batch = sealed_batch(team)
    assert batch.envelopes is not None
    sealed = list(batch.envelopes.sealed)
    sealed[1], sealed[2] = sealed[2], sealed[1]
    swapped = replace(batch, envelopes=replace(batch.envelopes, sealed=tuple(sealed)))

    with pytest.raises(TamperedEnvelope, match="envelope 1: envelope failed authentication"):
        open_batch_envelopes(team, read_batch(to_bytes(swapped)), project=PROJECT)


def test_envelopes_of_another_project_are_detected(team: KeyPair) -> None:
    with pytest.raises(TamperedEnvelope, match="envelope 0"):
        open_batch_envelopes(team, sealed_batch(team), project="another-project")


def test_open_envelopes_checks_the_stated_team_key(team: KeyPair) -> None:
    batch = sealed_batch(team)
    assert batch.envelopes is not None
    other_team = generate_keypair("other-team", KeyKind.TEAM)

    with pytest.raises(TamperedEnvelope, match="another team key"):
        open_envelopes(
            other_team,
            project=PROJECT,
            agency="fiu",
            ephemeral_key=bytes.fromhex(batch.envelopes.ephemeral_key),
            references=batch.references,
            sealed=batch.envelopes.sealed,
            team_key_id=batch.envelopes.team_key_id,
        )


def test_released_envelopes_open_for_the_team(team: KeyPair) -> None:
    batch, other = sealed_batch(team), sealed_batch(team)
    documents = [
        released_envelope(batch, 3),
        released_envelope(other, 0),
        released_envelope(batch, 1),
    ]

    opened = open_released(team, documents, project=PROJECT)

    assert opened == [
        {"surnames": "Name ref3"},
        {"surnames": "Name ref0"},
        {"surnames": "Name ref1"},
    ]
    assert set(documents[0]) == {
        "format",
        "agency",
        "reference",
        "ephemeral_key",
        "team_key_id",
        "sealed",
    }


def test_a_released_envelope_relabelled_by_the_hub_is_detected(team: KeyPair) -> None:
    batch = sealed_batch(team)
    good = released_envelope(batch, 0)
    swapped = {**released_envelope(batch, 1), "reference": good["reference"]}
    other_agency = {**good, "agency": "politie"}

    for document in (swapped, other_agency):
        with pytest.raises(TamperedEnvelope, match="envelope 1"):
            open_released(team, [good, document], project=PROJECT)


@pytest.mark.parametrize(
    "changes",
    [{"format": "other"}, {"sealed": "not base64!"}, {"ephemeral_key": "00"}, {"reference": 5}],
)
def test_malformed_released_envelopes_are_rejected(team: KeyPair, changes: dict[str, Any]) -> None:
    document = {**released_envelope(sealed_batch(team), 0), **changes}

    with pytest.raises(TamperedEnvelope, match="released envelope 0 is malformed"):
        open_released(team, [document], project=PROJECT)


def test_released_envelope_needs_a_batch_with_envelopes() -> None:
    plain = Batch.create(
        agency="fiu",
        schema_fingerprint="ab" * 32,
        key_check="0123456789abcdef",
        references=["r"],
        filters=np.zeros((1, 8), dtype=np.uint8),
    )

    with pytest.raises(BatchError, match="no envelopes"):
        released_envelope(plain, 0)
    with pytest.raises(InputError, match="no envelopes"):
        open_batch_envelopes(generate_keypair("t", KeyKind.TEAM), plain, project=PROJECT)


# encode_csv with envelopes


@pytest.fixture
def people_csv(tmp_path: Path) -> Path:
    people = fake_people(60, seed=5)
    people[3]["given_names"] = "  Ana  "
    people[4]["surnames"] = ""
    people[7]["date_of_birth"] = "31-02-1999"  # invalid: rejected below
    people[8]["record_id"] = ""  # no id: left out
    path = tmp_path / "people.csv"
    path.write_text(to_csv(people), encoding="utf-8")
    return path


def encode(
    people_csv: Path, secret: LinkageSecret, ref_key: ReferenceKey, team: KeyPair, **options: Any
) -> Path:
    fields = options.pop("fields", FIELDS)
    out = people_csv.with_name("politie.arrow")
    encode_csv(
        people_csv,
        schema=load_schema(),
        secret=secret,
        ref_key=ref_key,
        out=out,
        envelopes=EnvelopeRequest(fields=fields, team_key=team.public),
        **options,
    )
    return out


@pytest.mark.parametrize("workers", [1, 2])
def test_encoded_envelopes_hold_each_records_raw_values(
    people_csv: Path,
    secret: LinkageSecret,
    ref_key: ReferenceKey,
    team: KeyPair,
    workers: int,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(encode_module, "CHUNK_ROWS", 16)  # several chunks, on two processes
    out = encode(
        people_csv,
        secret,
        ref_key,
        team,
        fields=(*FIELDS, "record_id"),
        on_invalid=encode_module.OnInvalid.REJECT,
        workers=workers,
    )

    opened = open_batch_envelopes(team, read_batch(out), project=PROJECT)
    refmap = read_refmap(out.with_name("politie.refs.csv"))
    people = {person["record_id"]: person for person in fake_people(60, seed=5)}
    assert len(opened) == 58  # rows 7 and 8 left out
    for reference, details in opened.items():
        local_id = refmap[reference]
        assert details["record_id"] == local_id
        assert details["date_of_birth"] == people[local_id]["date_of_birth"]  # raw, not ISO
    assert opened[ref_key.reference("R000003")]["given_names"] == "Ana"  # trimmed
    assert "surnames" not in opened[ref_key.reference("R000004")]  # empty: left out


def test_the_local_id_is_sealed_only_when_listed(
    people_csv: Path, secret: LinkageSecret, ref_key: ReferenceKey, team: KeyPair
) -> None:
    opened = open_batch_envelopes(
        team, read_batch(encode(people_csv, secret, ref_key, team)), project=PROJECT
    )

    assert all(set(details) <= set(FIELDS) for details in opened.values())


def test_mapped_columns_are_named_by_their_field(
    tmp_path: Path, secret: LinkageSecret, ref_key: ReferenceKey, team: KeyPair
) -> None:
    people = [
        {"Voornaam" if k == "given_names" else k: v for k, v in p.items()} for p in fake_people(5)
    ]
    path = tmp_path / "people.csv"
    path.write_text(to_csv(people), encoding="utf-8")

    out = encode(
        path, secret, ref_key, team, fields=("given_names",), mapping={"Voornaam": "given_names"}
    )

    opened = open_batch_envelopes(team, read_batch(out), project=PROJECT)
    assert opened[ref_key.reference("R000000")] == {"given_names": people[0]["Voornaam"]}


def test_sealed_values_do_not_appear_in_the_batch_file(
    people_csv: Path, secret: LinkageSecret, ref_key: ReferenceKey, team: KeyPair
) -> None:
    data = encode(people_csv, secret, ref_key, team, fields=("surnames", "record_id")).read_bytes()

    for person in fake_people(60, seed=5)[:10]:
        assert person["record_id"].encode() not in data
        assert person["surnames"].encode() not in data or not person["surnames"]


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        (("shoe_size",), "neither a mapped schema field nor a column"),
        (("surnames", "surnames"), "repeats"),
        ((), "name 1-16 envelope fields"),
    ],
)
def test_unusable_field_lists_are_refused_before_writing(
    people_csv: Path,
    secret: LinkageSecret,
    ref_key: ReferenceKey,
    team: KeyPair,
    fields: tuple[str, ...],
    message: str,
) -> None:
    with pytest.raises(InputError, match=message):
        encode(people_csv, secret, ref_key, team, fields=fields)
    assert not people_csv.with_name("politie.arrow").exists()


def test_oversized_details_name_the_line_not_the_value(
    tmp_path: Path, secret: LinkageSecret, ref_key: ReferenceKey, team: KeyPair
) -> None:
    people = fake_people(3)
    for person in people:
        person["note"] = "x"
    people[1]["note"] = "Geheim " * 400
    path = tmp_path / "people.csv"
    path.write_text(to_csv(people), encoding="utf-8")

    with pytest.raises(InputError, match="line 3: envelope details exceed") as caught:
        encode(path, secret, ref_key, team, fields=("note",))
    assert "Geheim" not in str(caught.value)


def test_envelopes_need_references(secret: LinkageSecret, team: KeyPair, people_csv: Path) -> None:
    table = read_csv(people_csv)
    schema = load_schema()
    plan = plan_columns(table.header, schema, id_column="record_id")
    sealing = plan_sealing(
        EnvelopeRequest(fields=FIELDS, team_key=team.public),
        header=table.header,
        plan=plan,
        project=PROJECT,
        agency="politie",
    )

    with pytest.raises(ValueError, match="reference key"):
        encode_module.encode_table(table, plan, schema, secret, envelopes=sealing)
