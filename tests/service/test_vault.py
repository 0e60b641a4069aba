from pathlib import Path

import pytest

from service import vault
from service.hub_keys import Keyring, load_hub_keys, rotate
from service.vault import VaultError, open_blob, reseal, seal


@pytest.fixture
def keyring(tmp_path: Path) -> Keyring:
    return load_hub_keys(tmp_path / "data").storage


def test_seal_and_open_round_trip_in_several_chunks(
    tmp_path: Path, keyring: Keyring, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(vault, "CHUNK_BYTES", 1000)
    data = bytes(range(256)) * 50  # 12,800 bytes: 13 chunks
    target = tmp_path / "blob.vault"

    written = seal(iter([data[:5000], data[5000:]]), target, keyring=keyring, name="u1")

    assert written == len(data)
    assert open_blob(target, keyring=keyring, name="u1") == data
    assert data[:64] not in target.read_bytes()


def test_an_empty_blob_round_trips(tmp_path: Path, keyring: Keyring) -> None:
    seal(iter([]), tmp_path / "b", keyring=keyring, name="u1")

    assert open_blob(tmp_path / "b", keyring=keyring, name="u1") == b""


def test_a_blob_opened_under_another_name_is_refused(tmp_path: Path, keyring: Keyring) -> None:
    seal(iter([b"batch"]), tmp_path / "b", keyring=keyring, name="u1")

    with pytest.raises(VaultError, match="fails authentication"):
        open_blob(tmp_path / "b", keyring=keyring, name="u2")


@pytest.mark.parametrize("cut", ["flip", "truncate", "drop_last_chunk"])
def test_altered_blobs_are_refused(
    tmp_path: Path, keyring: Keyring, monkeypatch: pytest.MonkeyPatch, cut: str
) -> None:
    monkeypatch.setattr(vault, "CHUNK_BYTES", 100)
    path = tmp_path / "b"
    seal(iter([b"x" * 250]), path, keyring=keyring, name="u1")
    raw = bytearray(path.read_bytes())
    chunk_bytes = 4 + 12 + 100 + 16
    if cut == "flip":
        raw[40] ^= 1
    elif cut == "truncate":
        del raw[-5:]
    else:  # a whole-chunk cut leaves well-formed chunks, but the new last is not marked last
        del raw[len(raw) - (4 + 12 + 50 + 16) :]
        assert len(raw) == 24 + 2 * chunk_bytes
    path.write_bytes(bytes(raw))

    with pytest.raises(VaultError):
        open_blob(path, keyring=keyring, name="u1")


def test_reseal_moves_a_blob_to_the_new_active_key(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    old = load_hub_keys(data_dir).storage
    seal(iter([b"batch"]), tmp_path / "b", keyring=old, name="u1")
    rotate(data_dir, "storage")
    new = load_hub_keys(data_dir).storage

    assert reseal(tmp_path / "b", keyring=new, name="u1") is True
    assert reseal(tmp_path / "b", keyring=new, name="u1") is False
    only_new = Keyring(keys={new.active_id: new.active}, active_id=new.active_id)
    assert open_blob(tmp_path / "b", keyring=only_new, name="u1") == b"batch"


def test_a_blob_sealed_with_an_unknown_key_names_the_key_id(
    tmp_path: Path, keyring: Keyring
) -> None:
    seal(iter([b"batch"]), tmp_path / "b", keyring=keyring, name="u1")
    other = load_hub_keys(tmp_path / "other").storage

    with pytest.raises(VaultError, match=keyring.active_id):
        open_blob(tmp_path / "b", keyring=other, name="u1")
