import pickle

import pytest
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PublicKey

from keys import (
    EnvelopeKeys,
    KeyKind,
    KeyMaterialError,
    KeyPair,
    TamperedEnvelope,
    derive_key,
    generate_keypair,
    opening_keys,
    sealing_keys,
)
from keys.derivation import context_info
from keys.envelope import MAX_DETAILS_BYTES, extend_info

PROJECT, AGENCY = "fieldlab-zuid", "politie"
REF, OTHER_REF = "a" * 32, "b" * 32
DETAILS = {"given_names": "María José", "surnames": "García de la Peña", "case": "PL-17"}


@pytest.fixture(scope="module")
def team() -> KeyPair:
    return generate_keypair("fieldlab-zuid-team", KeyKind.TEAM)


@pytest.fixture
def sealer(team: KeyPair) -> EnvelopeKeys:
    return sealing_keys(team.public, project=PROJECT, agency=AGENCY)


def opener(team: KeyPair, sealer: EnvelopeKeys, **changes: str) -> EnvelopeKeys:
    labels = {"project": PROJECT, "agency": AGENCY, **changes}
    return opening_keys(team, ephemeral_key=sealer.ephemeral_key, **labels)


def test_the_team_opens_what_an_agency_sealed(team: KeyPair, sealer: EnvelopeKeys) -> None:
    sealed = sealer.seal(REF, DETAILS)

    assert opener(team, sealer, team_key_id=team.key_id).open(REF, sealed) == DETAILS
    assert opener(team, sealer).open(REF, sealer.seal(REF, {})) == {}


def test_both_sides_derive_the_same_batch_key(team: KeyPair, sealer: EnvelopeKeys) -> None:
    assert opener(team, sealer).prk == sealer.prk


def test_record_keys_are_hkdf_of_the_shared_secret_and_the_reference(
    team: KeyPair, sealer: EnvelopeKeys
) -> None:
    shared = team.x25519().exchange(X25519PublicKey.from_public_bytes(sealer.ephemeral_key))
    salt = sealer.ephemeral_key + team.public.key

    expected = derive_key(shared, "envelope", PROJECT, AGENCY, REF, salt=salt)
    assert sealer.record_key(REF) == expected
    assert sealer.record_key(OTHER_REF) != expected


def test_extending_an_info_equals_building_it_whole() -> None:
    assert extend_info(context_info("p", "a"), "reférence") == context_info("p", "a", "reférence")


def test_sealing_is_randomised_and_hides_name_lengths(sealer: EnvelopeKeys) -> None:
    short = sealer.seal(REF, {"given_names": "Ana"})
    longer = sealer.seal(REF, {"given_names": "Ana María Luisa"})

    assert short != sealer.seal(REF, {"given_names": "Ana"})
    assert len(short) == len(longer) == 1 + 12 + 64 + 16


@pytest.mark.parametrize(
    ("reference", "changes"),
    [
        (OTHER_REF, {}),  # moved to another record
        (REF, {"agency": "fiu"}),  # to another agency
        (REF, {"project": "fieldlab-noord"}),  # to another project
    ],
)
def test_a_moved_envelope_fails_to_open(
    team: KeyPair, sealer: EnvelopeKeys, reference: str, changes: dict[str, str]
) -> None:
    sealed = sealer.seal(REF, DETAILS)

    with pytest.raises(TamperedEnvelope, match="failed authentication"):
        opener(team, sealer, **changes).open(reference, sealed)


def test_an_envelope_moved_to_another_batch_fails_to_open(
    team: KeyPair, sealer: EnvelopeKeys
) -> None:
    other_batch = sealing_keys(team.public, project=PROJECT, agency=AGENCY)

    with pytest.raises(TamperedEnvelope, match="failed authentication"):
        opener(team, other_batch).open(REF, sealer.seal(REF, DETAILS))


@pytest.mark.parametrize("byte", [1, 12, 13, 40, -1])
def test_any_flipped_bit_fails_to_open(team: KeyPair, sealer: EnvelopeKeys, byte: int) -> None:
    sealed = bytearray(sealer.seal(REF, DETAILS))
    sealed[byte] ^= 0x80

    with pytest.raises(TamperedEnvelope, match="failed authentication"):
        opener(team, sealer).open(REF, bytes(sealed))


@pytest.mark.parametrize("sealed", [b"", b"\x01" * 20, b"\x02" + bytes(100), bytes(5000)])
def test_malformed_envelopes_are_rejected(
    team: KeyPair, sealer: EnvelopeKeys, sealed: bytes
) -> None:
    with pytest.raises(TamperedEnvelope, match="rejected"):
        opener(team, sealer).open(REF, sealed)


def test_another_team_key_cannot_open(team: KeyPair, sealer: EnvelopeKeys) -> None:
    other_team = generate_keypair("fieldlab-noord-team", KeyKind.TEAM)
    sealed = sealer.seal(REF, DETAILS)

    with pytest.raises(TamperedEnvelope, match="another team key"):
        opener(other_team, sealer, team_key_id=team.key_id)
    with pytest.raises(TamperedEnvelope, match="failed authentication"):
        opener(other_team, sealer).open(REF, sealed)


def test_unusable_ephemeral_keys_are_rejected(team: KeyPair) -> None:
    for ephemeral in (bytes(32), bytes(31)):
        with pytest.raises(TamperedEnvelope, match="ephemeral key"):
            opening_keys(team, ephemeral_key=ephemeral, project=PROJECT, agency=AGENCY)


def test_only_team_keys_seal_and_open(sealer: EnvelopeKeys) -> None:
    agency = generate_keypair(AGENCY, KeyKind.AGENCY)

    with pytest.raises(KeyMaterialError, match="team key"):
        sealing_keys(agency.public, project=PROJECT, agency=AGENCY)
    with pytest.raises(KeyMaterialError, match="team key"):
        opening_keys(agency, ephemeral_key=sealer.ephemeral_key, project=PROJECT, agency=AGENCY)


def test_oversized_details_are_refused_without_showing_them(sealer: EnvelopeKeys) -> None:
    with pytest.raises(ValueError, match=str(MAX_DETAILS_BYTES)) as caught:
        sealer.seal(REF, {"note": "Zeer lang " * 300})

    assert "Zeer" not in str(caught.value)


def test_repr_shows_labels_only(sealer: EnvelopeKeys) -> None:
    shown = repr(sealer) + str(sealer)

    assert sealer.prk.hex() not in shown
    assert repr(sealer.prk) not in shown
    assert AGENCY in shown


def test_envelope_keys_survive_pickling_for_worker_processes(
    team: KeyPair, sealer: EnvelopeKeys
) -> None:
    copy = pickle.loads(pickle.dumps(sealer))

    assert opener(team, sealer).open(REF, copy.seal(REF, DETAILS)) == DETAILS
