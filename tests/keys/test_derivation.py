import pytest

from keys import derive_key, hkdf_sha256
from keys.derivation import context_info

# RFC 5869 Appendix A, the three SHA-256 cases.
RFC5869 = [
    (
        b"\x0b" * 22,
        bytes.fromhex("000102030405060708090a0b0c"),
        bytes.fromhex("f0f1f2f3f4f5f6f7f8f9"),
        42,
        "3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf34007208d5b887185865",
    ),
    (
        bytes(range(0x50)),
        bytes(range(0x60, 0xB0)),
        bytes(range(0xB0, 0x100)),
        82,
        "b11e398dc80327a1c8e7f78c596a49344f012eda2d4efad8a050cc4c19afa97c"
        "59045a99cac7827271cb41c65e590e09da3275600c2f09b8367793a9aca3db71"
        "cc30c58179ec3e87c14c01d5c1f3434f1d87",
    ),
    (
        b"\x0b" * 22,
        b"",
        b"",
        42,
        "8da4e775a563c18f715f802a063c5a31b8a11f5c5ee1879ec3454e5f3c738d2d9d201395faa4b61a96c8",
    ),
]


@pytest.mark.parametrize(("ikm", "salt", "info", "length", "okm"), RFC5869)
def test_hkdf_matches_rfc5869_vectors(
    ikm: bytes, salt: bytes, info: bytes, length: int, okm: str
) -> None:
    assert hkdf_sha256(ikm, salt=salt, info=info, length_bytes=length).hex() == okm


def test_hkdf_refuses_impossible_lengths() -> None:
    with pytest.raises(ValueError, match="length"):
        hkdf_sha256(b"k", salt=b"", info=b"", length_bytes=255 * 32 + 1)


def test_context_is_unambiguous_across_label_boundaries() -> None:
    assert context_info("p", "ab", "c") != context_info("p", "a", "bc")


def test_keys_differ_by_purpose_project_and_field() -> None:
    ikm = bytes(32)
    keys = {
        derive_key(ikm, "field-hash", "project-1", "surname"),
        derive_key(ikm, "field-hash", "project-2", "surname"),
        derive_key(ikm, "field-hash", "project-1", "given_name"),
        derive_key(ikm, "key-check", "project-1", "surname"),
    }

    assert len(keys) == 4
