"""Sealed disclosure envelopes on the agency and team side (crypto in `keys.envelope`).

An agency attaches to each record of a batch the details it is willing to disclose for a
hit, sealed to the project team's public key; the team opens those the hub releases.

The details are the CSV's raw values, trimmed of surrounding whitespace: what the agency's
own file says ("María José", "07-03-1985"), not the normalised forms the encoder uses
("maria jose", "1985-03-07"), because the team hands names on to people. Empty values are
left out. Each name in the field list is a schema field (through the column plan, so
`--map` applies) or else a CSV column; the local record id goes in only when its column
is listed.
"""

import base64
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from keys import TamperedEnvelope
from linkage.batch import RELEASED_ENVELOPE_FORMAT, Batch, Envelopes
from linkage.errors import BatchError, InputError
from linkage.records import ColumnPlan

if TYPE_CHECKING:  # keys.envelope loads `cryptography`: only where envelopes are sealed
    from keys import EnvelopeKeys, KeyPair, PublicKey

MAX_ENVELOPE_FIELDS = 16


@dataclass(frozen=True, slots=True)
class EnvelopeRequest:
    """What an agency asks for: which fields to disclose, sealed to which team key."""

    fields: tuple[str, ...]
    team_key: "PublicKey"


@dataclass(frozen=True, slots=True, repr=False)
class EnvelopeSealing:
    """One batch's sealing job: its envelope keys and the CSV column of each field."""

    keys: "EnvelopeKeys"
    columns: dict[str, str]  # envelope field -> CSV column

    def __repr__(self) -> str:
        return f"EnvelopeSealing(fields={list(self.columns)}, keys={self.keys!r})"

    def seal(
        self,
        values: Mapping[str, Sequence[str]],
        references: Sequence[str],
        row_numbers: Sequence[int],
    ) -> tuple[bytes, ...]:
        """Seal one envelope per record from raw column values (field -> one per record).

        Raises:
            InputError: A record's details are too long to seal (names its line).
        """
        columns = [(name, values[name]) for name in self.columns]
        sealed = []
        for index, reference in enumerate(references):
            details = {name: text for name, column in columns if (text := column[index].strip())}
            try:
                sealed.append(self.keys.seal(reference, details))
            except ValueError as err:
                raise InputError(
                    f"line {row_numbers[index]}: {err}; disclose fewer fields"
                ) from err
        return tuple(sealed)

    def envelopes(self, sealed: tuple[bytes, ...]) -> Envelopes:
        """The batch's envelope column with its public key metadata."""
        return Envelopes(
            ephemeral_key=self.keys.ephemeral_key.hex(),
            team_key_id=self.keys.team_key_id,
            sealed=sealed,
            fields=tuple(self.columns),
        )


def plan_sealing(
    request: EnvelopeRequest,
    *,
    header: Sequence[str],
    plan: ColumnPlan,
    project: str,
    agency: str,
) -> EnvelopeSealing:
    """Resolve the requested fields to CSV columns and make the batch's envelope keys.

    Raises:
        InputError: A field names neither a schema field with a column nor a CSV column,
            is repeated, or there are none or too many.
    """
    if not request.fields or len(request.fields) > MAX_ENVELOPE_FIELDS:
        raise InputError(f"name 1-{MAX_ENVELOPE_FIELDS} envelope fields")
    if len(set(request.fields)) != len(request.fields):
        raise InputError("the envelope field list repeats a field")
    columns = {name: _column(name, header, plan) for name in request.fields}
    from keys import sealing_keys

    keys = sealing_keys(request.team_key, project=project, agency=agency)
    return EnvelopeSealing(keys=keys, columns=columns)


def _column(name: str, header: Sequence[str], plan: ColumnPlan) -> str:
    if name in plan.field_columns:
        return plan.field_columns[name]
    if name in header:
        return name
    raise InputError(f"envelope field '{name}' is neither a mapped schema field nor a column")


def open_envelopes(
    team_key: "KeyPair",
    *,
    project: str,
    agency: str,
    ephemeral_key: bytes,
    references: Sequence[str],
    sealed: Sequence[bytes],
    team_key_id: str | None = None,
) -> list[dict[str, str]]:
    """Open envelopes of one batch with the team's key pair.

    Args:
        team_key: The project team's key pair.
        project: The project the team expects the envelopes to be bound to.
        agency: The agency whose batch they come from.
        ephemeral_key: The batch's ephemeral public key (32 bytes).
        references: Each envelope's record reference.
        sealed: The sealed envelopes, in the same order.
        team_key_id: The team key id the batch states; checked when given.

    Returns:
        Each envelope's details (field -> text), in order.

    Raises:
        TamperedEnvelope: An envelope (named by its position) was altered, or sealed for
            another record, batch, agency, project or team key.
    """
    from keys import opening_keys

    if len(references) != len(sealed):
        raise ValueError("one reference per envelope is required")
    keys = opening_keys(
        team_key,
        ephemeral_key=ephemeral_key,
        project=project,
        agency=agency,
        team_key_id=team_key_id,
    )
    return [
        _open_one(keys, index, ref, env)
        for index, (ref, env) in enumerate(zip(references, sealed, strict=True))
    ]


def open_batch_envelopes(
    team_key: "KeyPair", batch: Batch, *, project: str
) -> dict[str, dict[str, str]]:
    """Open every envelope of a batch file: reference -> details.

    Raises:
        InputError: The batch has no envelopes.
        TamperedEnvelope: As `open_envelopes`.
    """
    if batch.envelopes is None:
        raise InputError("the batch has no envelopes")
    opened = open_envelopes(
        team_key,
        project=project,
        agency=batch.agency,
        ephemeral_key=bytes.fromhex(batch.envelopes.ephemeral_key),
        references=batch.references,
        sealed=batch.envelopes.sealed,
        team_key_id=batch.envelopes.team_key_id,
    )
    return dict(zip(batch.references, opened, strict=True))


def open_released(
    team_key: "KeyPair", documents: Sequence[Mapping[str, Any]], *, project: str
) -> list[dict[str, str]]:
    """Open envelopes as the hub releases them (`linkage.batch.released_envelope` documents).

    Documents from one batch share their envelope keys, which are derived once.

    Returns:
        Each document's details, in order.

    Raises:
        TamperedEnvelope: A document (named by its position) is malformed or fails to open.
    """
    from keys import opening_keys

    keys: dict[tuple[str, str, str], EnvelopeKeys] = {}
    opened = []
    for index, document in enumerate(documents):
        agency, reference, ephemeral, team_key_id, sealed = _released_fields(index, document)
        batch_keys = keys.get((agency, ephemeral, team_key_id))
        if batch_keys is None:
            batch_keys = opening_keys(
                team_key,
                ephemeral_key=bytes.fromhex(ephemeral),
                project=project,
                agency=agency,
                team_key_id=team_key_id,
            )
            keys[(agency, ephemeral, team_key_id)] = batch_keys
        opened.append(_open_one(batch_keys, index, reference, sealed))
    return opened


def _released_fields(index: int, document: Mapping[str, Any]) -> tuple[str, str, str, str, bytes]:
    try:
        if document["format"] != RELEASED_ENVELOPE_FORMAT:
            raise ValueError("format")
        envelopes = Envelopes(
            ephemeral_key=document["ephemeral_key"],
            team_key_id=document["team_key_id"],
            sealed=(base64.b64decode(document["sealed"], validate=True),),
        )
        agency, reference = document["agency"], document["reference"]
        if not isinstance(agency, str) or not isinstance(reference, str):
            raise TypeError("agency and reference must be text")
    except (KeyError, TypeError, ValueError, BatchError) as err:
        raise TamperedEnvelope(f"released envelope {index} is malformed") from err
    return agency, reference, envelopes.ephemeral_key, envelopes.team_key_id, envelopes.sealed[0]


def _open_one(keys: "EnvelopeKeys", index: int, reference: str, sealed: bytes) -> dict[str, str]:
    try:
        return keys.open(reference, sealed)
    except TamperedEnvelope as err:
        raise TamperedEnvelope(f"envelope {index}: {err}") from err
