"""Key material on the client side: secrets, derived keys, key pairs, wrapping, envelopes."""

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
