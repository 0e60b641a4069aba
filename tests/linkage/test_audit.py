import copy
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from linkage.audit import (
    AUDIT_FORMAT,
    GENESIS_HASH,
    RECEIPT_FORMAT,
    canonical_entry,
    entry_hash,
    format_time,
    sign_checkpoint,
    sign_receipt,
    signing_key_id,
    verify_export,
    verify_receipt,
)
from linkage.cli import main

KEY_ID = "00112233aabbccdd"
START = datetime(2026, 5, 1, 9, 30, tzinfo=UTC)


def public_hex(key: Ed25519PrivateKey) -> str:
    return key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw).hex()


def entry_fields(sequence: int) -> dict[str, Any]:
    return {
        "sequence": sequence,
        "at": format_time(START + timedelta(seconds=sequence)),
        "request_id": f"req-{sequence}",
        "principal_id": "6c1f4a52-52a4-4d0e-9d43-0d0f0e3c8f10",
        "agency_id": "0b8e0c1c-6e57-4f0b-9a53-1f7b8a4b2c11",
        "role": "analyst",
        "action": "runs-list_runs",
        "method": "GET",
        "project_id": None,
        "resource": "/v1/projects/{project_id}/runs",
        "outcome": 200,
        "records": sequence % 3 or None,
    }


def build_chain(count: int) -> list[dict[str, Any]]:
    entries, previous = [], GENESIS_HASH
    for sequence in range(1, count + 1):
        entry = entry_fields(sequence) | {"previous_hash": previous}
        entry["entry_hash"] = previous = entry_hash(entry)
        entries.append(entry)
    return entries


def checkpoint(
    key: Ed25519PrivateKey, entry: dict[str, Any], key_id: str = KEY_ID
) -> dict[str, Any]:
    sequence, head = entry["sequence"], entry["entry_hash"]
    return {
        "sequence": sequence,
        "entry_hash": head,
        "key_id": key_id,
        "signed_at": format_time(START),
        "signature": sign_checkpoint(key, sequence, head),
    }


def export(key: Ed25519PrivateKey, count: int = 25, every: int = 10) -> dict[str, Any]:
    """A full export: checkpoints every `every` entries plus the signed head."""
    entries = build_chain(count)
    signed = sorted({*range(every, count + 1, every), count} - {0})
    return {
        "format": AUDIT_FORMAT,
        "from_sequence": 1,
        "to_sequence": count,
        "public_keys": {KEY_ID: public_hex(key)},
        "checkpoints": [checkpoint(key, entries[sequence - 1]) for sequence in signed],
        "entries": entries,
    }


def rehash_from(entries: list[dict[str, Any]], index: int) -> None:
    """What a forger does: recompute every hash from `index` on so the links hold again."""
    previous = entries[index - 1]["entry_hash"] if index else GENESIS_HASH
    for entry in entries[index:]:
        entry["previous_hash"] = previous
        entry["entry_hash"] = previous = entry_hash(entry)


@pytest.fixture
def key() -> Ed25519PrivateKey:
    return Ed25519PrivateKey.generate()


def test_an_untouched_export_verifies(key: Ed25519PrivateKey) -> None:
    result = verify_export(export(key), trusted_keys=[public_hex(key)])

    assert result.ok
    assert (result.entries_checked, result.checkpoints_checked) == (25, 3)
    assert result.problem is None
    assert result.first_bad_sequence is None


def test_an_altered_entry_is_named(key: Ed25519PrivateKey) -> None:
    document = export(key)
    document["entries"][16]["outcome"] = 403

    result = verify_export(document)

    assert not result.ok
    assert result.problem == "entry 17 was altered"
    assert result.first_bad_sequence == 17
    assert result.entries_checked == 16


def test_a_removed_entry_is_named(key: Ed25519PrivateKey) -> None:
    document = export(key)
    del document["entries"][17]

    result = verify_export(document)

    assert result.problem == "entry 18 is missing"
    assert result.first_bad_sequence == 18


def test_several_removed_entries_are_named_as_a_range(key: Ed25519PrivateKey) -> None:
    document = export(key)
    del document["entries"][17:20]

    assert verify_export(document).problem == "entries 18 to 20 are missing"


def test_swapped_entries_are_named(key: Ed25519PrivateKey) -> None:
    document = export(key)
    entries = document["entries"]
    entries[19], entries[20] = entries[20], entries[19]

    result = verify_export(document)

    assert result.problem == "entries 20 and 21 are out of order"
    assert result.first_bad_sequence == 20


def test_a_duplicated_entry_is_named(key: Ed25519PrivateKey) -> None:
    document = export(key)
    document["entries"].insert(5, copy.deepcopy(document["entries"][4]))

    assert verify_export(document).problem == "entry 5 appears twice"


def test_a_cut_off_tail_shows_against_a_later_checkpoint(key: Ed25519PrivateKey) -> None:
    document = export(key)
    del document["entries"][20:]

    result = verify_export(document)

    assert result.problem == (
        "the export ends before signed checkpoint 25 (entries removed at the end)"
    )
    assert result.first_bad_sequence == 21


def test_a_cut_off_tail_with_its_checkpoint_leaves_entries_unsigned(
    key: Ed25519PrivateKey,
) -> None:
    document = export(key)
    del document["entries"][22:]
    del document["checkpoints"][-1]

    result = verify_export(document)

    assert result.problem == (
        "entries 21 to 22 are not covered by a signed checkpoint "
        "(the export's signed head was removed)"
    )
    assert result.first_bad_sequence == 21
    assert verify_export(document, require_signed_head=False).ok


def test_a_forged_checkpoint_signature_is_named(key: Ed25519PrivateKey) -> None:
    document = export(key)
    signature = document["checkpoints"][0]["signature"]
    document["checkpoints"][0]["signature"] = ("00" if signature[:2] != "00" else "11") + signature[
        2:
    ]

    result = verify_export(document)

    assert result.problem == "checkpoint at 10 has a bad signature"
    assert result.first_bad_sequence == 10


def test_a_rewritten_chain_shows_against_the_next_checkpoint(key: Ed25519PrivateKey) -> None:
    document = export(key)
    document["entries"][14]["outcome"] = 200 if document["entries"][14]["outcome"] != 200 else 204
    rehash_from(document["entries"], 14)

    result = verify_export(document)

    assert result.problem == (
        "entries 11 to 20 were rewritten (signed checkpoint 20 does not match them)"
    )
    assert result.first_bad_sequence == 11


def test_a_rehashed_entry_breaks_the_link_to_the_next(key: Ed25519PrivateKey) -> None:
    document = export(key)
    entries = document["entries"]
    entries[15]["records"] = 99
    entries[15]["entry_hash"] = entry_hash(entries[15])

    result = verify_export(document)

    assert result.problem == (
        "the chain breaks between entries 16 and 17 "
        "(one of them was altered and its hash recomputed)"
    )
    assert result.first_bad_sequence == 16


def test_a_pinned_key_rejects_checkpoints_signed_by_another(key: Ed25519PrivateKey) -> None:
    forger = Ed25519PrivateKey.generate()
    document = export(forger)  # a whole forged log, signed and listed with the forger's key

    unpinned = verify_export(document)
    pinned = verify_export(document, trusted_keys=[public_hex(key)])

    assert unpinned.ok  # self-consistent: only a pinned key tells it apart
    assert pinned.problem == f"checkpoint at 10 is signed by key {KEY_ID}, which is not pinned"
    assert pinned.first_bad_sequence == 10


def test_a_checkpoint_naming_an_unlisted_key_fails(key: Ed25519PrivateKey) -> None:
    document = export(key)
    document["checkpoints"][1]["key_id"] = "ffffffffffffffff"

    assert verify_export(document).problem == (
        "checkpoint at 20 names an unknown key ffffffffffffffff"
    )


def test_a_partial_export_starts_from_its_first_entry(key: Ed25519PrivateKey) -> None:
    document = export(key)
    document["from_sequence"] = 11
    document["entries"] = document["entries"][10:]
    document["checkpoints"] = document["checkpoints"][1:]

    result = verify_export(document)

    assert result.ok
    assert (result.entries_checked, result.checkpoints_checked) == (15, 2)


def test_a_full_export_must_start_at_the_genesis(key: Ed25519PrivateKey) -> None:
    document = export(key)
    del document["entries"][0]

    assert verify_export(document).problem == "entry 1 is missing"


def test_an_entry_with_extra_fields_is_malformed(key: Ed25519PrivateKey) -> None:
    document = export(key)
    document["entries"][2]["note"] = "added later"

    result = verify_export(document)

    assert result.problem == "the entry at position 3 is malformed"
    assert result.entries_checked == 2


@pytest.mark.parametrize(
    "document",
    [None, [], {"format": "fieldlink-hits/1"}, {"format": AUDIT_FORMAT, "entries": "x"}],
    ids=["null", "list", "other format", "entries not a list"],
)
def test_something_else_is_not_an_export(document: Any) -> None:
    result = verify_export(document)

    assert not result.ok
    assert result.problem is not None
    assert AUDIT_FORMAT in result.problem


def test_an_empty_export_verifies(key: Ed25519PrivateKey) -> None:
    document = export(key, count=0)

    result = verify_export(document)

    assert result.ok
    assert result.entries_checked == 0


def test_canonical_form_is_sorted_compact_json_of_the_fixed_fields() -> None:
    entry = entry_fields(1) | {"previous_hash": GENESIS_HASH, "extra": "ignored"}

    text = canonical_entry(entry).decode("ascii")

    assert text.startswith('{"action":"runs-list_runs","agency_id":')
    assert " " not in text
    assert "extra" not in text


def test_the_entry_hash_is_stable() -> None:
    # A golden value: changing the canonical form or the label breaks every stored chain.
    entry = entry_fields(1) | {"previous_hash": GENESIS_HASH}

    assert entry_hash(entry) == GOLDEN_HASH


def test_times_are_utc_with_microseconds() -> None:
    moment = datetime(2026, 5, 1, 11, 30, 0, 5, tzinfo=UTC).astimezone()

    assert format_time(moment) == "2026-05-01T11:30:00.000005Z"


GOLDEN_HASH = "af4a95a3ea944184c94e28a51daa75903225b6ac8f30228e6bfbc9b3d9ee93f4"


def test_the_cli_says_ok_and_asks_to_pin_keys(
    key: Ed25519PrivateKey, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "export.json"
    path.write_text(json.dumps(export(key)), encoding="utf-8")

    status = main(["audit", "verify", str(path)])

    lines = capsys.readouterr().out.splitlines()
    assert status == 0
    assert lines[0] == "ok: 25 entries, 3 signed checkpoints"
    assert "--public-key" in lines[1]


def test_the_cli_refuses_an_unreadable_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "export.json"
    path.write_text("{not json", encoding="utf-8")

    status = main(["audit", "verify", str(path)])

    assert status == 1
    assert "not a readable JSON file" in capsys.readouterr().err


def test_the_cli_refuses_a_malformed_public_key(tmp_path: Path) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["audit", "verify", str(tmp_path / "x.json"), "--public-key", "xyz"])

    assert exit_info.value.code == 2


def test_token_ids_are_covered_where_set_and_older_entries_verify_as_they_were(
    key: Ed25519PrivateKey,
) -> None:
    document = export(key)
    old, new = document["entries"][:10], document["entries"][10:]
    for entry in old:
        entry["token_id"] = None  # exported by a hub that records tokens, from before it did
    for entry in new:
        entry["token_id"] = "1d6e3a0e-4c1f-4b8e-9f57-3a9f0c1b2d44"
    rehash_from(document["entries"], 10)
    resigned = sorted({cp["sequence"] for cp in document["checkpoints"]})
    document["checkpoints"] = [checkpoint(key, document["entries"][s - 1]) for s in resigned]
    altered = copy.deepcopy(document)
    altered["entries"][12]["token_id"] = "00000000-0000-0000-0000-000000000000"

    assert verify_export(document, trusted_keys=[public_hex(key)]).ok
    assert verify_export(altered).problem == "entry 13 was altered"


def test_a_purge_receipt_verifies_offline_and_names_what_is_wrong(
    key: Ed25519PrivateKey,
) -> None:
    body = {
        "format": RECEIPT_FORMAT,
        "project_id": "9a3b1c3e-0f4e-4d7a-8f1e-2b6c5d4e3f21",
        "project": "Carousel",
        "counts": {"batches": 4, "hits": 120},
        "key_id": signing_key_id(public_hex(key)),
        "public_key": public_hex(key),
    }
    receipt = body | {"signature": sign_receipt(key, body)}
    other = Ed25519PrivateKey.generate()

    assert verify_receipt(receipt, trusted_keys=[public_hex(key)]).ok
    assert not verify_receipt(receipt | {"counts": {"batches": 0, "hits": 0}}).ok
    assert "not pinned" in str(verify_receipt(receipt, [public_hex(other)]).problem)
    assert not verify_receipt(receipt | {"key_id": "0" * 16}).ok
    assert not verify_receipt({"format": "something else"}).ok
