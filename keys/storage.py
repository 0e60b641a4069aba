"""Key files: JSON documents readable only by their owner (mode 0600)."""

import base64
import binascii
import json
import os
import stat
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from keys.errors import KeyFileError, WeakSecretError
from keys.secret import LinkageSecret, ReferenceKey, check_epoch

KEY_FILE_FORMAT = "fieldlink-key/1"
SECRET_KIND = "linkage-secret"  # noqa: S105 - a file kind label, not a password
REFERENCE_KIND = "reference-key"

_KeyT = TypeVar("_KeyT", LinkageSecret, ReferenceKey)


def write_secret(path: Path, secret: LinkageSecret) -> None:
    """Write a linkage secret to a new owner-only file; never overwrites an existing one."""
    header: dict[str, str | int] = {
        "kind": SECRET_KIND,
        "project": secret.project,
        "epoch": secret.epoch,
    }
    _write(path, header, secret.value)


def write_reference_key(path: Path, key: ReferenceKey) -> None:
    """Write an agency reference key to a new owner-only file; never overwrites one."""
    _write(path, {"kind": REFERENCE_KIND, "agency": key.agency}, key.value)


def read_secret(path: Path) -> LinkageSecret:
    """Load a linkage secret, refusing files that group or others can read.

    Files written before key epochs existed have no `epoch`: they hold epoch 1.
    """
    document, value = _read(path, SECRET_KIND)
    project, epoch = _label(path, document, "project"), _epoch(path, document)
    return _build(path, lambda: LinkageSecret(project=project, value=value, epoch=epoch))


def read_reference_key(path: Path) -> ReferenceKey:
    """Load an agency reference key, refusing files that group or others can read."""
    document, value = _read(path, REFERENCE_KIND)
    return _build(path, lambda: ReferenceKey(agency=_label(path, document, "agency"), value=value))


def write_new_json(path: Path, document: dict[str, Any], *, mode: int = 0o600) -> None:
    """Write a JSON document to a new file created with `mode`; never replaces a file.

    Raises:
        KeyFileError: The file exists already or cannot be created.
    """
    # O_EXCL: a key is never silently replaced; the mode applies from creation, so there
    # is no moment in which another user could open an owner-only file.
    try:
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
    except FileExistsError as err:
        raise KeyFileError(str(path), "already exists; refusing to overwrite a key") from err
    except OSError as err:
        raise KeyFileError(str(path), f"cannot be created ({err.strerror})") from err
    with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
        json.dump(document, handle, indent=2)
        handle.write("\n")


def read_owner_only_json(path: Path) -> Any:
    """Parse a JSON file after checking that only its owner can access it.

    Raises:
        KeyFileError: The file is missing, accessible by group or others (with the chmod
            that fixes it), or not JSON.
    """
    try:
        mode = path.stat().st_mode
    except FileNotFoundError as err:
        raise KeyFileError(str(path), "does not exist") from err
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise KeyFileError(
            str(path),
            f"is accessible by group or others (mode {stat.S_IMODE(mode):04o}); "
            f"run: chmod 600 {path}",
        )
    return read_json(path)


def read_json(path: Path) -> Any:
    """Parse a JSON file; a missing or unparsable file is a KeyFileError (no content shown)."""
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as err:
        raise KeyFileError(str(path), "does not exist") from err
    except (OSError, ValueError) as err:
        raise KeyFileError(str(path), "is not a JSON file") from err


def _write(path: Path, header: dict[str, str | int], value: bytes) -> None:
    document = {"format": KEY_FILE_FORMAT, **header, "secret": base64.b64encode(value).decode()}
    write_new_json(path, document)


def _read(path: Path, kind: str) -> tuple[dict[str, Any], bytes]:
    document = read_owner_only_json(path)
    try:
        value = base64.b64decode(document["secret"], validate=True)
    except (ValueError, KeyError, TypeError, binascii.Error) as err:
        raise KeyFileError(str(path), "is not a fieldlink key file") from err
    if not isinstance(document, dict) or document.get("format") != KEY_FILE_FORMAT:
        raise KeyFileError(str(path), f"is not a {KEY_FILE_FORMAT} key file")
    if document.get("kind") != kind:
        raise KeyFileError(str(path), f"holds a {document.get('kind')!s}, expected a {kind}")
    return document, value


def _label(path: Path, document: dict[str, Any], name: str) -> str:
    label = document.get(name)
    if not isinstance(label, str) or not label:
        raise KeyFileError(str(path), f"has no {name}")
    return label


def _epoch(path: Path, document: dict[str, Any]) -> int:
    try:
        return check_epoch(document.get("epoch", 1))
    except ValueError as err:
        raise KeyFileError(str(path), str(err)) from err


def _build(path: Path, make: Callable[[], _KeyT]) -> _KeyT:
    try:
        return make()
    except WeakSecretError as err:
        raise KeyFileError(str(path), str(err)) from err
