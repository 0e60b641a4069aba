import os
from pathlib import Path

import pytest

from keys import (
    KeyFileError,
    LinkageSecret,
    ReferenceKey,
    read_reference_key,
    read_secret,
    write_reference_key,
    write_secret,
)


def test_secret_round_trips_through_an_owner_only_file(
    tmp_path: Path, secret: LinkageSecret
) -> None:
    path = tmp_path / "project.key"

    write_secret(path, secret)

    assert read_secret(path) == secret
    assert path.stat().st_mode & 0o777 == 0o600


@pytest.mark.parametrize("mode", [0o640, 0o604, 0o644, 0o660])
def test_group_or_world_readable_secret_files_are_refused(
    tmp_path: Path, secret: LinkageSecret, mode: int
) -> None:
    path = tmp_path / "project.key"
    write_secret(path, secret)
    os.chmod(path, mode)

    with pytest.raises(KeyFileError, match="chmod 600"):
        read_secret(path)


def test_existing_key_files_are_never_overwritten(tmp_path: Path, secret: LinkageSecret) -> None:
    path = tmp_path / "project.key"
    write_secret(path, secret)

    with pytest.raises(KeyFileError, match="already exists"):
        write_secret(path, LinkageSecret(project="other", value=bytes(32)))
    assert read_secret(path) == secret


def test_reference_key_is_not_accepted_as_a_secret(tmp_path: Path, ref_key: ReferenceKey) -> None:
    path = tmp_path / "agency.refkey"
    write_reference_key(path, ref_key)

    assert read_reference_key(path) == ref_key
    with pytest.raises(KeyFileError, match="expected a linkage-secret"):
        read_secret(path)


@pytest.mark.parametrize(
    "content",
    [
        "",
        "not json",
        '{"format": "other", "secret": ""}',
        '{"format": "fieldlink-key/1", "kind": "linkage-secret", "project": "p", "secret": "AAAA"}',
    ],
)
def test_malformed_key_files_get_a_clear_error(tmp_path: Path, content: str) -> None:
    path = tmp_path / "bad.key"
    path.write_text(content)
    path.chmod(0o600)

    with pytest.raises(KeyFileError) as caught:
        read_secret(path)

    assert str(path) in str(caught.value)


def test_missing_key_file_is_named(tmp_path: Path) -> None:
    with pytest.raises(KeyFileError, match="does not exist"):
        read_secret(tmp_path / "absent.key")


def test_key_file_text_never_appears_in_errors(tmp_path: Path, secret: LinkageSecret) -> None:
    path = tmp_path / "project.key"
    write_secret(path, secret)
    os.chmod(path, 0o644)

    with pytest.raises(KeyFileError) as caught:
        read_secret(path)

    assert path.read_text().split('"secret": ')[1][:20] not in str(caught.value)
