import json
from pathlib import Path

import pytest

from keys import KeyFileError, LinkageSecret, read_secret, rotate_secret, write_secret
from keys.derivation import hkdf_expand, hkdf_extract, hkdf_sha256


def test_a_secret_file_without_an_epoch_holds_epoch_1(
    tmp_path: Path, secret: LinkageSecret
) -> None:
    path = tmp_path / "old.key"
    write_secret(path, secret)
    document = json.loads(path.read_text())
    del document["epoch"]
    path.write_text(json.dumps(document))

    assert read_secret(path) == secret
    assert read_secret(path).epoch == 1


def test_the_epoch_round_trips_through_the_file(tmp_path: Path, secret: LinkageSecret) -> None:
    later = LinkageSecret(project=secret.project, value=secret.value, epoch=7)
    write_secret(tmp_path / "later.key", later)

    assert read_secret(tmp_path / "later.key").epoch == 7
    assert json.loads((tmp_path / "later.key").read_text())["epoch"] == 7


@pytest.mark.parametrize("epoch", [0, -1, "2", True, 1.5, 10**7])
def test_invalid_epochs_in_files_are_refused(
    tmp_path: Path, secret: LinkageSecret, epoch: object
) -> None:
    path = tmp_path / "bad.key"
    write_secret(path, secret)
    document = json.loads(path.read_text())
    document["epoch"] = epoch
    path.write_text(json.dumps(document))

    with pytest.raises(KeyFileError, match="epoch"):
        read_secret(path)


def test_the_epoch_changes_no_derived_key_and_not_the_key_check_value(
    secret: LinkageSecret,
) -> None:
    relabelled = LinkageSecret(project=secret.project, value=secret.value, epoch=5)

    assert relabelled.key_check_value() == secret.key_check_value()
    assert relabelled.field_keys(["surnames"]) == secret.field_keys(["surnames"])
    assert relabelled != secret


def test_rotation_makes_a_new_secret_one_epoch_later(secret: LinkageSecret) -> None:
    rotated = rotate_secret(secret)

    assert (rotated.project, rotated.epoch) == (secret.project, 2)
    assert rotated.value != secret.value
    assert rotated.key_check_value() != secret.key_check_value()  # how the hub tells them apart
    assert "epoch=2" in repr(rotated)


def test_extract_then_expand_is_hkdf() -> None:
    prk = hkdf_extract(b"ikm", salt=b"salt")

    assert hkdf_expand(prk, info=b"info", length_bytes=80) == hkdf_sha256(
        b"ikm", salt=b"salt", info=b"info", length_bytes=80
    )
