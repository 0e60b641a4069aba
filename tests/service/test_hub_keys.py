import os
from pathlib import Path

import pytest

from service.config import Settings
from service.hub_keys import HubKeyError, load_hub_keys, load_public_key, rotate, settings_keys


def test_first_start_creates_owner_only_keyrings(tmp_path: Path) -> None:
    keys = load_hub_keys(tmp_path)

    files = list((tmp_path / "keys").rglob("*"))
    assert {path.name for path in files} >= {"storage", "signing", "active"}
    for path in files:
        if path.is_file():
            assert path.stat().st_mode & 0o077 == 0
    assert len(keys.storage.active) == 32
    assert keys.storage.active_id != keys.signing.active_id


def test_keys_survive_a_restart(tmp_path: Path) -> None:
    first, second = load_hub_keys(tmp_path), load_hub_keys(tmp_path, create=False)

    assert first.storage.keys == second.storage.keys
    assert first.public_keys() == second.public_keys()


def test_missing_keys_without_create_say_how_to_fix(tmp_path: Path) -> None:
    with pytest.raises(HubKeyError, match="fieldlink hub init"):
        load_hub_keys(tmp_path, create=False)


def test_a_key_readable_by_others_is_refused(tmp_path: Path) -> None:
    keys = load_hub_keys(tmp_path)
    path = tmp_path / "keys" / "storage" / f"{keys.storage.active_id}.key"
    os.chmod(path, 0o644)

    with pytest.raises(HubKeyError, match="chmod 600"):
        load_hub_keys(tmp_path)


def test_rotation_keeps_old_keys_and_switches_the_active_one(tmp_path: Path) -> None:
    before = load_hub_keys(tmp_path)

    new_id = rotate(tmp_path, "signing")

    after = load_hub_keys(tmp_path, create=False)
    assert after.signing.active_id == new_id != before.signing.active_id
    assert set(before.public_keys()) < set(after.public_keys())
    assert after.storage.keys == before.storage.keys


def test_signatures_verify_with_the_published_public_key(tmp_path: Path) -> None:
    keys = load_hub_keys(tmp_path)
    signature = keys.signer().sign(b"head")

    load_public_key(keys.public_keys()[keys.signing.active_id]).verify(signature, b"head")


def test_repr_shows_ids_not_keys(tmp_path: Path) -> None:
    keys = load_hub_keys(tmp_path)

    text = repr(keys)
    assert keys.storage.active_id in text
    assert keys.storage.active.hex() not in text
    assert keys.signing.active.hex() not in text


def test_keys_from_the_environment_are_active_and_never_written(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    storage, signing = "11" * 32, "22" * 32
    monkeypatch.setenv("FIELDLINK_STORAGE_KEY", storage)
    monkeypatch.setenv("FIELDLINK_SIGNING_KEY", signing)

    keys = settings_keys(Settings(data_dir=tmp_path), create=True)

    assert keys.storage.active == bytes.fromhex(storage)
    assert keys.signing.active == bytes.fromhex(signing)
    assert not (tmp_path / "keys").exists()
    assert storage not in repr(keys) and signing not in repr(keys)


def test_an_environment_key_keeps_the_folders_keys_as_retired_ones(tmp_path: Path) -> None:
    old = load_hub_keys(tmp_path)

    keys = load_hub_keys(tmp_path, storage_key="33" * 32)

    assert keys.storage.active == bytes.fromhex("33" * 32)
    assert old.storage.active in keys.storage.keys.values()  # older batches stay readable


@pytest.mark.parametrize("value", ["not hex at all", "ab" * 16])
def test_a_bad_environment_key_is_named_but_never_shown(tmp_path: Path, value: str) -> None:
    with pytest.raises(HubKeyError, match="FIELDLINK_STORAGE_KEY") as raised:
        load_hub_keys(tmp_path, storage_key=value)

    assert value not in str(raised.value)
