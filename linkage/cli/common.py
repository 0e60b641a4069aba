"""Pieces command modules share: environment paths, the reference key, usage errors, ids."""

import os
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TypeVar

from keys import generate_reference_key, read_reference_key, write_reference_key
from keys.secret import ReferenceKey
from linkage.errors import LinkageError
from linkage.names import same_name

ItemT = TypeVar("ItemT")


def env_path(name: str) -> Path | None:
    """A path from an environment variable, or None when it is unset."""
    value = os.environ.get(name)
    return Path(value) if value else None


def reference_key(path: Path, agency: str) -> ReferenceKey:
    """Load the agency's reference key, creating it (mode 0600) on first use.

    Agency names ignore case: a key whose label differs only in case is the agency's own,
    and a key file beside `path` named like it in another case ("Gemeente.refkey") is
    refused rather than joined by a second key, whose references would never agree.
    """
    if not path.exists():
        _refuse_other_spelling(path)
        write_reference_key(path, generate_reference_key(agency))
        print(f"created reference key for agency {agency} at {path} (mode 0600); keep it")
    key = read_reference_key(path)
    if not same_name(key.agency, agency):
        raise LinkageError(f"reference key {path} belongs to agency {key.agency}, not {agency}")
    return key


def _refuse_other_spelling(path: Path) -> None:
    folder = path.parent if str(path.parent) else Path(".")
    for other in sorted(folder.glob("*.refkey")) if path.suffix == ".refkey" else ():
        if other.name != path.name and same_name(other.name, path.name):
            raise LinkageError(
                f"reference key {other} exists for this agency (agency names ignore case); "
                f"pass --ref-key {other} instead of making a second key at {path}"
            )


def passphrase_from_env(variable: str | None) -> str | None:
    """The passphrase held in the environment variable named by --passphrase-env, if named."""
    if variable is None:
        return None
    value = os.environ.get(variable)
    if not value:
        raise LinkageError(f"--passphrase-env: the environment variable {variable} is not set")
    return value


class UsageError(LinkageError):
    """The command was called wrongly (exit status 2, as for argparse's own errors)."""


def by_id(
    items: Sequence[ItemT], spec: str, what: str, id_of: Callable[[ItemT], str], where: str = ""
) -> ItemT:
    """The item whose id is `spec` or starts with it (at least 4 characters, as lists print).

    Raises:
        LinkageError: No item has such an id (exit 1); the message ends with `where`.
        UsageError: The start is too short or fits several items.
    """
    wanted = spec.strip().lower()
    if len(wanted) < 4:
        raise UsageError(f"give at least 4 characters of the {what} id")
    found = [item for item in items if id_of(item).startswith(wanted)]
    if not found:
        raise LinkageError(f"no {what} {spec}{where}")
    if len(found) > 1:
        raise UsageError(f"{len(found)} {what}s{where} start with {spec}: give more of the id")
    return found[0]
