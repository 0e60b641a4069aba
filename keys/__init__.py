"""Key material on the agency side: linkage secrets, derived keys, key files."""

from keys.derivation import derive_key, hkdf_sha256
from keys.errors import KeyFileError, KeyMaterialError, WeakSecretError
from keys.secret import (
    LinkageSecret,
    ReferenceKey,
    generate_reference_key,
    generate_secret,
)
from keys.storage import read_reference_key, read_secret, write_reference_key, write_secret

__all__ = [
    "KeyFileError",
    "KeyMaterialError",
    "LinkageSecret",
    "ReferenceKey",
    "WeakSecretError",
    "derive_key",
    "generate_reference_key",
    "generate_secret",
    "hkdf_sha256",
    "read_reference_key",
    "read_secret",
    "write_reference_key",
    "write_secret",
]
