"""Public keys as the hub handles them: raw X25519 bytes and the key id computed from them.

The hub never imports `keys` (it must never hold a linkage secret), so the key id of
`keys.keypair.key_id_of` is computed here again with hashlib: a truncated, domain-separated
SHA-256 of the raw public key. tests/service/test_agency_keys.py checks that both agree.
A client-supplied id is never trusted.
"""

import base64
import binascii
import hashlib

KEY_BYTES = 32
KEY_ID_LABEL = b"fieldlink public key id v1\x00"  # as keys.keypair.KEY_ID_LABEL


def key_id_of(public_bytes: bytes) -> str:
    """The public 16-hex id of a raw X25519 public key."""
    return hashlib.sha256(KEY_ID_LABEL + public_bytes).hexdigest()[:16]


def decode_public_key(text: str) -> bytes:
    """The raw key of a base64 X25519 public key; ValueError unless it is 32 bytes."""
    try:
        raw = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError) as err:
        raise ValueError("public_key is not base64") from err
    if len(raw) != KEY_BYTES or raw == bytes(KEY_BYTES):
        raise ValueError(f"public_key must be a {KEY_BYTES}-byte X25519 key")
    return raw


def encode_public_key(hex_key: str) -> str:
    """A stored (hex) public key as base64, the form key files use."""
    return base64.b64encode(bytes.fromhex(hex_key)).decode()
