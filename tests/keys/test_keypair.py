import base64
import json
import os
import re
from pathlib import Path

import pytest

from keys import (
    KeyFileError,
    KeyKind,
    KeyPair,
    PublicKey,
    WeakSecretError,
    WrongPassphrase,
    generate_keypair,
    public_path_for,
    read_private_key,
    read_public_key,
    write_private_key,
    write_public_key,
)
from keys.keypair import PRIVATE_KEY_FORMAT

PASSPHRASE = "correct horse battery"


@pytest.fixture(scope="module")
def pair() -> KeyPair:
    return generate_keypair("politie", KeyKind.AGENCY)


def edit(path: Path, **changes: object) -> None:
    document = json.loads(path.read_text())
    document.update(changes)
    path.write_text(json.dumps(document))


def test_pairs_round_trip_through_owner_only_and_shareable_files(
    tmp_path: Path, pair: KeyPair
) -> None:
    private, public = tmp_path / "politie.key", tmp_path / "politie.pub.json"

    write_private_key(private, pair)
    write_public_key(public, pair.public)

    again = read_private_key(private)
    assert (again.private, again.public) == (pair.private, pair.public)
    assert read_public_key(public) == pair.public
    assert private.stat().st_mode & 0o777 == 0o600
    assert public.stat().st_mode & 0o777 == 0o644 & ~_umask()  # shareable


def _umask() -> int:
    current = os.umask(0)
    os.umask(current)
    return current


def test_key_ids_are_16_hex_stable_and_distinct(pair: KeyPair) -> None:
    other = generate_keypair("politie", KeyKind.AGENCY)

    assert re.fullmatch("[0-9a-f]{16}", pair.key_id)
    assert (
        pair.key_id
        == pair.public.key_id
        == PublicKey.from_document(pair.public.to_document()).key_id
    )
    assert other.key_id != pair.key_id


def test_repr_shows_labels_but_no_key_material(pair: KeyPair) -> None:
    shown = repr(pair) + str(pair) + repr(pair.public)

    assert pair.key_id in shown
    assert pair.private.hex() not in shown
    assert repr(pair.private) not in shown
    assert base64.b64encode(pair.private).decode() not in shown


def test_passphrase_protected_files_open_only_with_the_passphrase(
    tmp_path: Path, pair: KeyPair
) -> None:
    path = tmp_path / "politie.key"
    write_private_key(path, pair, passphrase=PASSPHRASE)

    assert read_private_key(path, passphrase=PASSPHRASE).private == pair.private
    assert base64.b64encode(pair.private).decode() not in path.read_text()
    protection = json.loads(path.read_text())["protection"]
    assert (protection["kdf"], protection["n"], protection["r"], protection["p"]) == (
        "scrypt",
        2**15,
        8,
        1,
    )
    with pytest.raises(WrongPassphrase, match="wrong passphrase"):
        read_private_key(path, passphrase="incorrect horse")
    with pytest.raises(KeyFileError, match="protected by a passphrase"):
        read_private_key(path)


def test_two_protected_files_of_one_key_use_different_salts(tmp_path: Path, pair: KeyPair) -> None:
    write_private_key(tmp_path / "a.key", pair, passphrase=PASSPHRASE)
    write_private_key(tmp_path / "b.key", pair, passphrase=PASSPHRASE)

    salts = {
        json.loads((tmp_path / n).read_text())["protection"]["salt"] for n in ("a.key", "b.key")
    }
    assert len(salts) == 2


def test_short_passphrases_are_refused(tmp_path: Path, pair: KeyPair) -> None:
    with pytest.raises(WeakSecretError):
        write_private_key(tmp_path / "k.key", pair, passphrase="short")
    assert not (tmp_path / "k.key").exists()


def test_relabelling_a_protected_file_is_detected(tmp_path: Path, pair: KeyPair) -> None:
    path = tmp_path / "politie.key"
    write_private_key(path, pair, passphrase=PASSPHRASE)
    edit(path, owner="fiu")

    with pytest.raises(WrongPassphrase):
        read_private_key(path, passphrase=PASSPHRASE)


def test_a_private_key_with_a_foreign_public_key_is_refused(tmp_path: Path, pair: KeyPair) -> None:
    path = tmp_path / "politie.key"
    write_private_key(path, pair)
    other = generate_keypair("politie", KeyKind.AGENCY).public
    edit(path, public_key=base64.b64encode(other.key).decode(), key_id=other.key_id)

    with pytest.raises(KeyFileError, match="does not belong"):
        read_private_key(path)


@pytest.mark.parametrize(
    "protection",
    [
        {"kdf": "scrypt", "n": 2**30, "r": 8, "p": 1, "salt": "AAAAAAAAAAAAAAAAAAAAAA==",
         "cipher": "aes-256-gcm", "nonce": "AAAAAAAAAAAAAAAA"},
        {"kdf": "argon2", "cipher": "aes-256-gcm"},
        {"kdf": "scrypt", "n": 1000, "r": 8, "p": 1, "salt": "", "cipher": "aes-256-gcm",
         "nonce": ""},
        "scrypt",
    ],
)  # fmt: skip
def test_unusable_protection_parameters_are_refused_before_any_work(
    tmp_path: Path, pair: KeyPair, protection: object
) -> None:
    path = tmp_path / "politie.key"
    write_private_key(path, pair, passphrase=PASSPHRASE)
    edit(path, protection=protection)

    with pytest.raises(KeyFileError, match="protection is malformed"):
        read_private_key(path, passphrase=PASSPHRASE)


@pytest.mark.parametrize("mode", [0o640, 0o604, 0o644])
def test_private_key_files_readable_by_others_are_refused(
    tmp_path: Path, pair: KeyPair, mode: int
) -> None:
    path = tmp_path / "politie.key"
    write_private_key(path, pair)
    path.chmod(mode)

    with pytest.raises(KeyFileError, match="chmod 600"):
        read_private_key(path)


def test_key_files_are_never_overwritten(tmp_path: Path, pair: KeyPair) -> None:
    path = tmp_path / "politie.key"
    write_private_key(path, pair)

    with pytest.raises(KeyFileError, match="already exists"):
        write_private_key(path, generate_keypair("politie", KeyKind.AGENCY))
    with pytest.raises(KeyFileError, match="already exists"):
        write_public_key(path, pair.public)
    assert read_private_key(path).private == pair.private


def test_the_kind_can_be_required(tmp_path: Path, pair: KeyPair) -> None:
    write_private_key(tmp_path / "a.key", pair)
    write_public_key(tmp_path / "a.pub.json", pair.public)

    with pytest.raises(KeyFileError, match="expected a team key"):
        read_public_key(tmp_path / "a.pub.json", kind=KeyKind.TEAM)
    with pytest.raises(KeyFileError, match="expected a team key"):
        read_private_key(tmp_path / "a.key", kind=KeyKind.TEAM)


@pytest.mark.parametrize(
    "changes",
    [
        {"format": "other"},
        {"kind": "custodian"},
        {"owner": ""},
        {"key_id": "0" * 16},
        {"public_key": "not base64!"},
        {"public_key": base64.b64encode(bytes(31)).decode()},
    ],
)
def test_malformed_public_key_files_get_a_clear_error(
    tmp_path: Path, pair: KeyPair, changes: dict[str, str]
) -> None:
    path = tmp_path / "a.pub.json"
    write_public_key(path, pair.public)
    edit(path, **changes)

    with pytest.raises(KeyFileError) as caught:
        read_public_key(path)
    assert str(path) in str(caught.value)


def test_a_private_key_file_is_not_a_public_key_file(tmp_path: Path, pair: KeyPair) -> None:
    write_private_key(tmp_path / "a.key", pair)

    with pytest.raises(KeyFileError, match="fieldlink-public-key/1"):
        read_public_key(tmp_path / "a.key")
    assert json.loads((tmp_path / "a.key").read_text())["format"] == PRIVATE_KEY_FORMAT


@pytest.mark.parametrize("owner", ["", " politie", "x" * 81, "line\nbreak"])
def test_owner_labels_must_be_short_printable_text(owner: str) -> None:
    with pytest.raises(ValueError, match="owner"):
        generate_keypair(owner, KeyKind.TEAM)


@pytest.mark.parametrize(
    ("private", "public"),
    [
        ("team.key", "team.pub.json"),
        ("team.key.json", "team.pub.json"),
        ("team", "team.pub.json"),
        (".key", ".key.pub.json"),
    ],
)
def test_the_public_half_goes_beside_the_private_file(private: str, public: str) -> None:
    assert public_path_for(Path("keys") / private) == Path("keys") / public
