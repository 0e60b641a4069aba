"""Releasing sealed disclosure envelopes of hit members, from the very batches matched.

The hub holds each agency's envelopes inside its sealed upload and cannot open them. For
a hit, it reads the envelope of each member from the upload the run matched (the run
recorded each upload's content digest), in the `linkage.batch.released_envelope` shape,
and reads each stored batch once however many hits are asked for: a sealed chunk at a
time, keeping its references and the envelopes of the rows asked for, nothing else
(`service.batches.upload_envelopes`). A member gets no
envelope when its agency has not approved (step-up projects), when its batch carries no
envelopes, or when that batch was replaced or deleted after the run.
"""

import base64
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum

from linkage.batch import RELEASED_ENVELOPE_FORMAT
from service.batches import upload_envelopes
from service.hub_keys import Keyring
from service.models import Run, Upload
from service.objects import ObjectStore
from service.store.disclosure import HitMembers


class Withheld(StrEnum):
    """Why a member's envelope is not released."""

    PENDING = "pending"  # its agency's data officer has not approved this hit
    UNSEALED = "unsealed"  # its batch carries no envelopes
    UNAVAILABLE = "unavailable"  # its matched batch was replaced or deleted since the run


@dataclass(slots=True)
class Release:
    """One hit's released envelopes and the agencies of the members it withholds."""

    hit: HitMembers
    envelopes: list[dict[str, str]] = field(default_factory=list)
    withheld: dict[Withheld, set[str]] = field(default_factory=dict)

    def withhold(self, reason: Withheld, agency: str) -> None:
        """Note that a member of `agency` gets no envelope, and why."""
        self.withheld.setdefault(reason, set()).add(agency)

    def agencies(self, reason: Withheld) -> list[str]:
        """The agencies withheld for `reason`, sorted."""
        return sorted(self.withheld.get(reason, ()))


Wanted = dict[uuid.UUID, set[str]]  # agency id -> references


def release(
    hits: Sequence[HitMembers],
    *,
    run: Run,
    uploads: Mapping[str, Upload],
    approved: Mapping[uuid.UUID, set[uuid.UUID]] | None,
    objects: ObjectStore,
    keyring: Keyring,
) -> list[Release]:
    """The envelopes of these hits' members.

    Args:
        hits: The hits, with all their members.
        run: The run they belong to (its upload ids and recorded digests).
        uploads: The run's uploads that still exist, by id string.
        approved: Step-up projects: hit id -> agencies that approved; None: not required.
        objects: The hub's object store, holding the sealed uploads.
        keyring: The storage keyring, to open them.
    """
    releases = [Release(hit) for hit in hits]
    wanted: Wanted = {}
    for item in releases:
        for member in item.hit.members:
            if approved is not None and member.agency_id not in approved.get(item.hit.id, set()):
                item.withhold(Withheld.PENDING, member.agency)
            else:
                wanted.setdefault(member.agency_id, set()).add(member.reference)
    found = _envelopes(_matched(run, uploads), wanted, objects=objects, keyring=keyring)
    for item in releases:
        _fill(item, found, approved)
    return releases


def _fill(
    item: Release,
    found: Mapping[tuple[uuid.UUID, str], dict[str, str] | Withheld],
    approved: Mapping[uuid.UUID, set[uuid.UUID]] | None,
) -> None:
    for member in item.hit.members:
        if approved is not None and member.agency_id not in approved.get(item.hit.id, set()):
            continue
        outcome = found.get((member.agency_id, member.reference), Withheld.UNAVAILABLE)
        if isinstance(outcome, Withheld):
            item.withhold(outcome, member.agency)
        else:
            item.envelopes.append(outcome)


def _matched(run: Run, uploads: Mapping[str, Upload]) -> list[Upload]:
    """The run's uploads that still hold the content the run matched."""
    digests = run.upload_digests or {}
    return [
        uploads[upload_id]
        for upload_id in run.upload_ids
        if upload_id in uploads
        and digests.get(upload_id, uploads[upload_id].digest) == uploads[upload_id].digest
    ]


def _envelopes(
    uploads: Iterable[Upload], wanted: Wanted, *, objects: ObjectStore, keyring: Keyring
) -> dict[tuple[uuid.UUID, str], dict[str, str] | Withheld]:
    found: dict[tuple[uuid.UUID, str], dict[str, str] | Withheld] = {}
    for upload in uploads:
        references = wanted.get(upload.agency_id)
        if not references:
            continue
        # References in another of the agency's uploads are simply not found in this one.
        picked = upload_envelopes(upload, references, objects=objects, keyring=keyring)
        for reference, sealed in picked.envelopes.items():
            found[upload.agency_id, reference] = (
                Withheld.UNSEALED if sealed is None else released(picked.meta, reference, sealed)
            )
    return found


def released(meta: Mapping[str, str], reference: str, sealed: bytes) -> dict[str, str]:
    """One record's envelope in the `linkage.batch.released_envelope` shape.

    `meta` is the batch's fieldlink metadata (`linkage.batch_stream.Picked.meta`).
    """
    return {
        "format": RELEASED_ENVELOPE_FORMAT,
        "agency": meta["agency"],
        "reference": reference,
        "ephemeral_key": meta["envelope_key"],
        "team_key_id": meta["team_key_id"],
        "sealed": base64.b64encode(sealed).decode(),
    }
