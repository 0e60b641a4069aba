"""Key material on the client side: secrets, derived keys, key pairs, wrapping, envelopes.

The names below load their module on first use (PEP 562): a command that needs only the
project secret (`fieldlink encode`) never loads the `cryptography` package (20 ms).
"""

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from keys.derivation import derive_key, hkdf_sha256
    from keys.envelope import EnvelopeKeys, opening_keys, sealing_keys
    from keys.errors import (
        KeyFileError,
        KeyMaterialError,
        TamperedEnvelope,
        TamperedKey,
        WeakSecretError,
        WrongPassphrase,
    )
    from keys.keypair import (
        KeyKind,
        KeyPair,
        PublicKey,
        generate_keypair,
        public_path_for,
        read_private_key,
        read_public_key,
        write_private_key,
        write_public_key,
    )
    from keys.secret import (
        LinkageSecret,
        ReferenceKey,
        generate_reference_key,
        generate_secret,
        rotate_secret,
    )
    from keys.storage import read_reference_key, read_secret, write_reference_key, write_secret
    from keys.wrapping import (
        WrappedKey,
        read_wrapped_key,
        unwrap_secret,
        wrap_secret,
        write_wrapped_key,
    )

_HOMES = {
    "derive_key": "keys.derivation",
    "hkdf_sha256": "keys.derivation",
    "EnvelopeKeys": "keys.envelope",
    "opening_keys": "keys.envelope",
    "sealing_keys": "keys.envelope",
    "KeyFileError": "keys.errors",
    "KeyMaterialError": "keys.errors",
    "TamperedEnvelope": "keys.errors",
    "TamperedKey": "keys.errors",
    "WeakSecretError": "keys.errors",
    "WrongPassphrase": "keys.errors",
    "KeyKind": "keys.keypair",
    "KeyPair": "keys.keypair",
    "PublicKey": "keys.keypair",
    "generate_keypair": "keys.keypair",
    "public_path_for": "keys.keypair",
    "read_private_key": "keys.keypair",
    "read_public_key": "keys.keypair",
    "write_private_key": "keys.keypair",
    "write_public_key": "keys.keypair",
    "LinkageSecret": "keys.secret",
    "ReferenceKey": "keys.secret",
    "generate_reference_key": "keys.secret",
    "generate_secret": "keys.secret",
    "rotate_secret": "keys.secret",
    "read_reference_key": "keys.storage",
    "read_secret": "keys.storage",
    "write_reference_key": "keys.storage",
    "write_secret": "keys.storage",
    "WrappedKey": "keys.wrapping",
    "read_wrapped_key": "keys.wrapping",
    "unwrap_secret": "keys.wrapping",
    "wrap_secret": "keys.wrapping",
    "write_wrapped_key": "keys.wrapping",
}

__all__ = [
    "EnvelopeKeys",
    "KeyFileError",
    "KeyKind",
    "KeyMaterialError",
    "KeyPair",
    "LinkageSecret",
    "PublicKey",
    "ReferenceKey",
    "TamperedEnvelope",
    "TamperedKey",
    "WeakSecretError",
    "WrappedKey",
    "WrongPassphrase",
    "derive_key",
    "generate_keypair",
    "generate_reference_key",
    "generate_secret",
    "hkdf_sha256",
    "opening_keys",
    "public_path_for",
    "read_private_key",
    "read_public_key",
    "read_reference_key",
    "read_secret",
    "read_wrapped_key",
    "rotate_secret",
    "sealing_keys",
    "unwrap_secret",
    "wrap_secret",
    "write_private_key",
    "write_public_key",
    "write_reference_key",
    "write_secret",
    "write_wrapped_key",
]


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module 'keys' has no attribute {name!r}")
    value = getattr(import_module(home), name)
    globals()[name] = value  # the next access is a plain attribute
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_HOMES})
