import re

import pytest

from keys import LinkageSecret, ReferenceKey, WeakSecretError, generate_secret


def test_generated_secrets_are_256_bit_and_distinct() -> None:
    first, second = generate_secret("p"), generate_secret("p")

    assert len(first.value) == 32
    assert first.value != second.value


def test_repr_and_str_show_no_secret_bytes(secret: LinkageSecret) -> None:
    shown = repr(secret) + str(secret) + f"{secret}"

    assert secret.value.hex() not in shown
    assert repr(secret.value) not in shown
    assert secret.key_check_value() in shown


def test_reference_key_repr_shows_only_the_agency(ref_key: ReferenceKey) -> None:
    assert repr(ref_key) == "ReferenceKey(agency='politie')"


def test_short_secrets_are_refused() -> None:
    with pytest.raises(WeakSecretError):
        LinkageSecret(project="p", value=bytes(16))


def test_key_check_value_is_stable_and_depends_on_secret_and_project() -> None:
    base = LinkageSecret(project="p", value=bytes(32))

    assert base.key_check_value() == LinkageSecret(project="p", value=bytes(32)).key_check_value()
    assert len(base.key_check_value()) == 16
    assert base.key_check_value() != LinkageSecret("p", bytes(31) + b"\x01").key_check_value()
    assert base.key_check_value() != LinkageSecret("q", bytes(32)).key_check_value()


def test_key_check_value_is_pinned(secret: LinkageSecret) -> None:
    # Changing this value breaks every deployed project: the hub compares it.
    assert secret.key_check_value() == KEY_CHECK_OF_TEST_SECRET


def test_field_keys_are_independent_per_field(secret: LinkageSecret) -> None:
    keys = secret.field_keys(["given_names", "surnames"])

    assert keys["given_names"] != keys["surnames"]
    assert all(len(key) == 16 for key in keys.values())


def test_references_are_stable_pseudonyms_per_agency(ref_key: ReferenceKey) -> None:
    other_agency = ReferenceKey(agency="fiu", value=ref_key.value)

    assert ref_key.reference("A-17") == ref_key.reference("A-17")
    assert ref_key.reference("A-17") != ref_key.reference("A-18")
    assert ref_key.reference("A-17") != other_agency.reference("A-17")
    assert re.fullmatch("[0-9a-f]{32}", ref_key.reference("A-17"))
    assert ref_key.references(["x", "y"]) == [ref_key.reference("x"), ref_key.reference("y")]


KEY_CHECK_OF_TEST_SECRET = "d0f577003f885c0b"
