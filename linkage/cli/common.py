"""Pieces every command module shares: paths from the environment, the agency reference key."""

import os
from pathlib import Path

from keys import generate_reference_key, read_reference_key, write_reference_key
from keys.secret import ReferenceKey
from linkage.errors import LinkageError


def env_path(name: str) -> Path | None:
    """A path from an environment variable, or None when it is unset."""
    value = os.environ.get(name)
    return Path(value) if value else None


def reference_key(path: Path, agency: str) -> ReferenceKey:
    """Load the agency's reference key, creating it (mode 0600) on first use."""
    if not path.exists():
        write_reference_key(path, generate_reference_key(agency))
        print(f"created reference key for agency {agency} at {path} (mode 0600); keep it")
    key = read_reference_key(path)
    if key.agency != agency:
        raise LinkageError(f"reference key {path} belongs to agency {key.agency}, not {agency}")
    return key


def passphrase_from_env(variable: str | None) -> str | None:
    """The passphrase held in the environment variable named by --passphrase-env, if named."""
    if variable is None:
        return None
    value = os.environ.get(variable)
    if not value:
        raise LinkageError(f"--passphrase-env: the environment variable {variable} is not set")
    return value
