"""Opening released envelopes on the team's machine: `fieldlink hits --open`.

The hub releases, per hit, the sealed envelopes of its members; only the team's private
key opens them. An envelope that fails to open (altered at the hub or on the way, or moved
to another record) stops the command with TamperedEnvelope before anything is written or
printed: a suspect list is never built from a partly tampered answer.
"""

import csv
import sys
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from itertools import islice
from pathlib import Path

from tqdm import tqdm

from keys import KeyPair, TamperedEnvelope
from linkage.client import HubClient
from linkage.envelopes import open_released
from linkage.hub_models import EnvelopeRelease

RELEASE_HITS = 500  # hits per release request, the most the hub takes (each batch is read once)
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


@dataclass(frozen=True, slots=True)
class Identity:
    """One opened envelope: the hit, the agency and record it came from, and its details."""

    hit_number: int
    agencies: tuple[str, ...]
    agency: str
    reference: str
    details: dict[str, str]

    def __repr__(self) -> str:  # details are identities: never in a log or traceback
        return f"Identity(hit={self.hit_number}, agency={self.agency!r})"


@dataclass(frozen=True, slots=True)
class Opened:
    """The opened identities and, per hit, the agencies whose envelopes were withheld."""

    identities: list[Identity]
    withheld: dict[int, list[str]]  # hit number -> "agency (reason)"


def open_hits(
    hub: HubClient,
    project_id: uuid.UUID,
    run_id: uuid.UUID,
    numbers: Sequence[int],
    *,
    team_key: KeyPair,
    label: str,
    agencies: dict[int, tuple[str, ...]],
) -> Opened:
    """Fetch and open the envelopes of these hits.

    Raises:
        TamperedEnvelope: An envelope failed to open; names its hit and agency.
    """
    identities: list[Identity] = []
    withheld: dict[int, list[str]] = {}
    with tqdm(total=len(numbers), desc="opening", unit=" hits", file=sys.stderr) as bar:
        for chunk in _chunks(numbers):
            for release in hub.release_envelopes(project_id, run_id, chunk):
                identities += _open_one(release, team_key, label, agencies)
                if reasons := _withheld(release):
                    withheld[release.hit_number] = reasons
            bar.update(len(chunk))
    return Opened(identities=identities, withheld=withheld)


def _open_one(
    release: EnvelopeRelease, team_key: KeyPair, label: str, agencies: dict[int, tuple[str, ...]]
) -> list[Identity]:
    try:
        opened = open_released(team_key, release.envelopes, project=label)
    except TamperedEnvelope as err:
        raise TamperedEnvelope(
            f"hit {release.hit_number}: {err}; nothing of this answer is shown or written"
        ) from err
    return [
        Identity(
            hit_number=release.hit_number,
            agencies=agencies.get(release.hit_number, ()),
            agency=document["agency"],
            reference=document["reference"],
            details=details,
        )
        for document, details in zip(release.envelopes, opened, strict=True)
    ]


def _withheld(release: EnvelopeRelease) -> list[str]:
    return (
        [f"{agency} (approval pending)" for agency in release.pending_agencies]
        + [f"{agency} (no envelopes)" for agency in release.unsealed_agencies]
        + [f"{agency} (batch replaced or deleted)" for agency in release.unavailable_agencies]
    )


def _chunks(numbers: Sequence[int]) -> Iterator[list[int]]:
    items = iter(numbers)
    while chunk := list(islice(items, RELEASE_HITS)):
        yield chunk


def write_identities(path: Path, identities: Sequence[Identity]) -> None:
    """The suspect list with identities as CSV: one row per opened envelope."""
    fields = sorted({name for identity in identities for name in identity.details})
    with path.open("w", encoding="utf-8", newline="") as sink:
        writer = csv.writer(sink)
        writer.writerow(["hit", "agencies", "agency", "reference", *fields])
        for item in identities:
            row = [item.hit_number, ";".join(item.agencies), item.agency, item.reference]
            row += [item.details.get(name, "") for name in fields]
            writer.writerow([_safe_cell(str(cell)) for cell in row])


def print_identities(opened: Opened) -> None:
    """The identities per hit on the terminal."""
    by_hit: dict[int, list[Identity]] = {}
    for identity in opened.identities:
        by_hit.setdefault(identity.hit_number, []).append(identity)
    for number in sorted(set(by_hit) | set(opened.withheld)):
        items = by_hit.get(number, [])
        print(f"hit {number}: {', '.join(items[0].agencies) if items else ''}")
        for item in items:
            shown = ", ".join(f"{name}={value}" for name, value in item.details.items())
            print(f"  {item.agency} {item.reference[:12]}: {shown}")
        for reason in opened.withheld.get(number, []):
            print(f"  {reason}: not released")


def _safe_cell(value: str) -> str:
    # Names come from other agencies' files; a spreadsheet must show them, never run them.
    return "'" + value if value.startswith(_FORMULA_START) else value
