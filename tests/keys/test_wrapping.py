import base64
import json
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PublicKey
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from keys import (
    KeyKind,
    KeyMaterialError,
    KeyPair,
    LinkageSecret,
    PublicKey,
    TamperedKey,
    WrappedKey,
    generate_keypair,
    generate_secret,
    read_wrapped_key,
    unwrap_secret,
    wrap_secret,
    write_wrapped_key,
)
from keys.wrapping import _wrapping_key

PROJECT = "fieldlab-zuid"


@pytest.fixture(scope="module")
def politie() -> KeyPair:
    return generate_keypair("politie", KeyKind.AGENCY)


@pytest.fixture(scope="module")
def fiu() -> KeyPair:
    return generate_keypair("fiu", KeyKind.AGENCY)


@pytest.fixture(scope="module")
def project_secret() -> LinkageSecret:
    return generate_secret(PROJECT, epoch=3)


@pytest.fixture
def document(project_secret: LinkageSecret, politie: KeyPair) -> dict[str, Any]:
    return dict(wrap_secret(project_secret, politie.public).to_document())


def unwrap(document: dict[str, Any], pair: KeyPair, **expected: Any) -> LinkageSecret:
    parsed = WrappedKey.from_document(json.loads(json.dumps(document)))
    return unwrap_secret(parsed, pair, **{"project": PROJECT, **expected})


def flip_bit(text: str, byte: int) -> str:
    raw = bytearray(base64.b64decode(text))
    raw[byte] ^= 0x01
    return base64.b64encode(bytes(raw)).decode()


def test_the_recipient_unwraps_the_secret_with_its_project_and_epoch(
    document: dict[str, Any], politie: KeyPair, project_secret: LinkageSecret
) -> None:
    secret = unwrap(document, politie)

    assert secret == project_secret
    assert (secret.project, secret.epoch) == (PROJECT, 3)
    assert document["key_check"] == project_secret.key_check_value()
    assert document["format"] == "fieldlink-wrapped-key/1"


def test_wrapped_keys_round_trip_through_files(
    tmp_path: Path, project_secret: LinkageSecret, politie: KeyPair
) -> None:
    wrapped = wrap_secret(project_secret, politie.public)
    write_wrapped_key(tmp_path / "politie.wrapped.json", wrapped)

    assert read_wrapped_key(tmp_path / "politie.wrapped.json") == wrapped


def test_each_wrap_uses_a_fresh_ephemeral_key(
    project_secret: LinkageSecret, politie: KeyPair
) -> None:
    first, second = (wrap_secret(project_secret, politie.public) for _ in range(2))

    assert first.ephemeral_key != second.ephemeral_key
    assert first.ciphertext != second.ciphertext


def test_repr_and_document_hold_no_secret_bytes(
    document: dict[str, Any], project_secret: LinkageSecret, politie: KeyPair
) -> None:
    wrapped = WrappedKey.from_document(document)
    shown = repr(wrapped) + json.dumps(document)

    for form in (project_secret.value.hex(), base64.b64encode(project_secret.value).decode()):
        assert form not in shown


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("project", "fieldlab-noord"),
        ("epoch", 4),
        ("key_check", "0123456789abcdef"),
    ],
)
def test_an_altered_label_fails_authentication_even_when_expected(
    document: dict[str, Any], politie: KeyPair, field: str, value: Any
) -> None:
    document[field] = value
    expected = {"project": value} if field == "project" else {}

    with pytest.raises(TamperedKey, match="failed authentication"):
        unwrap(document, politie, **expected)


def test_a_relabelled_recipient_fails_authentication(
    document: dict[str, Any], politie: KeyPair
) -> None:
    document["recipient"] = "fiu"
    same_key_as_fiu = KeyPair(public=replace(politie.public, owner="fiu"), private=politie.private)

    with pytest.raises(TamperedKey, match="failed authentication"):
        unwrap(document, same_key_as_fiu)


@pytest.mark.parametrize("field", ["nonce", "ciphertext"])
@pytest.mark.parametrize("byte", [0, 7, -1])
def test_any_flipped_bit_fails_authentication(
    document: dict[str, Any], politie: KeyPair, field: str, byte: int
) -> None:
    document[field] = flip_bit(document[field], byte)

    with pytest.raises(TamperedKey, match="failed authentication"):
        unwrap(document, politie)


def test_a_swapped_ephemeral_key_fails_authentication(
    document: dict[str, Any], politie: KeyPair, project_secret: LinkageSecret
) -> None:
    other = wrap_secret(project_secret, politie.public).to_document()
    document["ephemeral_key"] = other["ephemeral_key"]

    with pytest.raises(TamperedKey, match="failed authentication"):
        unwrap(document, politie)


def test_a_low_order_ephemeral_key_is_rejected(document: dict[str, Any], politie: KeyPair) -> None:
    document["ephemeral_key"] = base64.b64encode(bytes(32)).decode()

    with pytest.raises(TamperedKey):
        unwrap(document, politie)


def test_a_truncated_ciphertext_is_rejected(document: dict[str, Any], politie: KeyPair) -> None:
    document["ciphertext"] = base64.b64encode(
        base64.b64decode(document["ciphertext"])[:-1]
    ).decode()

    with pytest.raises(TamperedKey):
        unwrap(document, politie)


def test_another_agency_cannot_unwrap(document: dict[str, Any], fiu: KeyPair) -> None:
    with pytest.raises(TamperedKey, match="for another agency, not for 'fiu'"):
        unwrap(document, fiu)


def test_a_new_key_of_the_same_agency_cannot_unwrap(document: dict[str, Any]) -> None:
    new_key = generate_keypair("politie", KeyKind.AGENCY)

    with pytest.raises(TamperedKey, match="for another key"):
        unwrap(document, new_key)


def test_a_document_altered_to_name_another_key_is_refused(
    document: dict[str, Any], politie: KeyPair, fiu: KeyPair
) -> None:
    document["recipient_key_id"] = fiu.key_id

    with pytest.raises(TamperedKey, match="for another key"):
        unwrap(document, politie)


def test_the_wrong_project_is_refused(document: dict[str, Any], politie: KeyPair) -> None:
    with pytest.raises(TamperedKey, match="another project, not to 'fieldlab-noord'"):
        unwrap(document, politie, project="fieldlab-noord")


def test_an_expected_epoch_is_checked(document: dict[str, Any], politie: KeyPair) -> None:
    assert unwrap(document, politie, epoch=3).epoch == 3
    with pytest.raises(TamperedKey, match="another epoch"):
        unwrap(document, politie, epoch=2)


def test_the_caller_agency_must_own_the_key(document: dict[str, Any], politie: KeyPair) -> None:
    with pytest.raises(TamperedKey, match="not agency 'fiu'"):
        unwrap(document, politie, agency="fiu")


def test_a_secret_whose_key_check_differs_from_its_label_is_refused(
    politie: KeyPair, project_secret: LinkageSecret
) -> None:
    # Made consistently but stating another key check value: only a broken or lying
    # custodian could produce it; the agency must not use the secret.
    honest = wrap_secret(project_secret, politie.public)
    lying = replace(honest, key_check="0123456789abcdef", ciphertext=b"")
    shared = politie.x25519().exchange(X25519PublicKey.from_public_bytes(honest.ephemeral_key))
    key = _wrapping_key(shared, lying, politie.public.key)
    sealed = AESGCM(key).encrypt(lying.nonce, project_secret.value, lying.associated_data())

    with pytest.raises(TamperedKey, match="key check value"):
        unwrap_secret(replace(lying, ciphertext=sealed), politie, project=PROJECT)


@pytest.mark.parametrize(
    "change",
    [
        {"format": "fieldlink-wrapped-key/2"},
        {"extra": "field"},
        {"epoch": "3"},
        {"epoch": True},
        {"epoch": 0},
        {"nonce": "not base64!"},
        {"ephemeral_key": base64.b64encode(bytes(31)).decode()},
        {"recipient_key_id": "XYZ"},
        {"project": ""},
        {"recipient": None},
    ],
)
def test_malformed_documents_are_rejected(document: dict[str, Any], change: dict[str, Any]) -> None:
    document.update(change)

    with pytest.raises(TamperedKey, match="rejected"):
        WrappedKey.from_document(document)


def test_missing_fields_are_rejected(document: dict[str, Any]) -> None:
    del document["nonce"]

    with pytest.raises(TamperedKey, match="rejected"):
        WrappedKey.from_document(document)


def test_secrets_are_wrapped_only_for_agency_keys(project_secret: LinkageSecret) -> None:
    team = generate_keypair("fieldlab-zuid-team", KeyKind.TEAM).public

    with pytest.raises(KeyMaterialError, match="agency keys"):
        wrap_secret(project_secret, team)


def test_errors_never_show_the_secret(
    document: dict[str, Any], fiu: KeyPair, politie: KeyPair
) -> None:
    secret = unwrap(document, politie)
    messages = []
    for pair, doc in ((fiu, document), (politie, {**document, "epoch": 4})):
        with pytest.raises(TamperedKey) as caught:
            unwrap(doc, pair)
        messages.append(str(caught.value))

    assert all(secret.value.hex() not in message for message in messages)


def test_public_key_documents_carry_everything_wrapping_needs(politie: KeyPair) -> None:
    public = PublicKey.from_document(json.loads(json.dumps(politie.public.to_document())))

    assert (
        unwrap_secret(
            wrap_secret(generate_secret(PROJECT), public), politie, project=PROJECT
        ).project
        == PROJECT
    )
