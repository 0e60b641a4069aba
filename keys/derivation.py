"""HKDF-SHA256 (RFC 5869) key derivation with explicit domain separation."""

import hmac

HASH_BYTES = 32
_DOMAIN = b"fieldlink/v1"


def hkdf_sha256(ikm: bytes, *, salt: bytes, info: bytes, length_bytes: int) -> bytes:
    """HKDF-SHA256 extract-then-expand, as specified in RFC 5869 section 2.

    Written out (it is ten lines) rather than taken from a library so that the exact
    construction is visible and pinned by the RFC's Appendix A test vectors.

    Args:
        ikm: Input keying material.
        salt: Optional salt; RFC 5869 treats an empty salt as HashLen zero bytes.
        info: Context and application specific information.
        length_bytes: Output length, at most 255 * 32 bytes.

    Returns:
        The output keying material.
    """
    return hkdf_expand(hkdf_extract(ikm, salt=salt), info=info, length_bytes=length_bytes)


def hkdf_extract(ikm: bytes, *, salt: bytes) -> bytes:
    """HKDF-Extract (RFC 5869 section 2.2): the pseudorandom key for `hkdf_expand`.

    Split out so that many keys derived from one input (one per record of a batch) pay for
    the extract step once.
    """
    return hmac.digest(salt or bytes(HASH_BYTES), ikm, "sha256")


def hkdf_expand(prk: bytes, *, info: bytes, length_bytes: int) -> bytes:
    """HKDF-Expand (RFC 5869 section 2.3) of a pseudorandom key from `hkdf_extract`."""
    if not 0 < length_bytes <= 255 * HASH_BYTES:
        raise ValueError("HKDF-SHA256 output length must be in 1..8160 bytes")
    okm, block = b"", b""
    for counter in range(1, -(-length_bytes // HASH_BYTES) + 1):
        block = hmac.digest(prk, block + info + bytes([counter]), "sha256")
        okm += block
    return okm[:length_bytes]


def context_info(purpose: str, *labels: str) -> bytes:
    """Encode a derivation context unambiguously: each part is length-prefixed.

    Length prefixes make ("ab", "c") and ("a", "bc") different contexts, which a plain
    separator does not guarantee for labels chosen by users (project ids, field names).
    """
    parts = [_DOMAIN, purpose.encode(), *(label.encode() for label in labels)]
    return b"".join(len(part).to_bytes(2, "big") + part for part in parts)


def derive_key(
    ikm: bytes, purpose: str, *labels: str, salt: bytes = b"", length_bytes: int = 32
) -> bytes:
    """Derive a key for one purpose and context (for example a project and a field).

    Args:
        ikm: The secret to derive from.
        purpose: What the key is for, e.g. "field-hash" or "key-check".
        labels: Further context, e.g. the project id and the field name.
        salt: Optional public salt.
        length_bytes: Length of the derived key.

    Returns:
        A key that is independent of every key derived for another purpose or context.
    """
    return hkdf_sha256(
        ikm, salt=salt, info=context_info(purpose, *labels), length_bytes=length_bytes
    )
