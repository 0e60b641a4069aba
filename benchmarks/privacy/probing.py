"""A malicious agency probing another agency's data through the hits it is shown.

What: every agency holds the linkage key, so one can encode whatever it likes: a list of
target persons, each with spelling variants so that a typo in the other agency's record
does not hide the person, mixed with decoys so that the batch looks ordinary. It uploads
the batch, the hub matches it with the project's real matcher (`match_batches`, in
process here, no server), and every target with a record in a hit is claimed to be in the
victim agency's file. The measure is the membership advantage TPR - FPR over targets that
are (half) and are not (half) in the victim file (ATTACKS.md §5, §7.3 A5, §7.4).

Why: the encoding cannot stop this (ATTACKS.md §0.4); only the hub's controls and output
can. `run` takes the hub's upload control as a hook (`controls`: a batch -> refusal reason
or None; a refused upload gets no hits). `local_controls` is a stand-in written here only
as a measurement baseline: it refuses batches with many near-duplicates (Dice >= 0.9 on the
record filters, the mark of spelling-variant sweeps) or an abnormal mean filter fill. A
"low and slow" prober (no variants, targets spread thin over several small batches with
decoys) shows what such controls cannot stop.

Run `python -m benchmarks.privacy.probing` for the figures with and without the stand-in.
"""

from __future__ import annotations

import argparse
import csv
import os
import random
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import numpy as np
import numpy.typing as npt

from benchmarks.privacy.graph_matching import FIELDS, person_record
from keys import LinkageSecret, ReferenceKey
from linkage.agency import encode_csv, read_refmap
from linkage.batch import Batch, read_batch
from linkage.match.engine import MatchSettings, match_batches
from linkage.schema import LinkageSchema, load_schema
from linkage.synth.distort import distort_one_word, phonetic, swap_day_month, typo
from linkage.synth.people import Person, make_people

Controls = Callable[[Batch], str | None]
VARIANTS = 4  # spelling variants per target, besides the target's clean record
DECOY_SHARE = 1.0  # decoys per target record in the crafted batch
HONEST_DUPLICATES = 0.05  # share of persons an honest agency holds twice (repeat visits)
HONEST_BATCHES = 5
SLOW_BATCHES = 10  # the low-and-slow prober's uploads
SLOW_DECOYS = 9  # decoys per target in each low-and-slow upload
NEAR_DUPLICATE_DICE = 0.9
NEAR_DUPLICATE_LIMIT = 0.15  # stand-in: share of records with a near-duplicate in the batch
FILL_TOLERANCE_SD = 4.0  # stand-in: mean fill this many standard errors off is abnormal


# --------------------------------------------------------------------------- records


def _variant(rng: random.Random, person: Person, kind: int) -> dict[str, str]:
    """One spelling variant of a target: a name typo, sound-alike, or day/month swap."""
    record = person_record(person)
    given, surnames = tuple(person.given_names), tuple(person.surnames)
    if kind % 4 == 0:
        record["given_names"] = " ".join(distort_one_word(rng, given, typo))
    elif kind % 4 == 1:
        record["surnames"] = " ".join(distort_one_word(rng, surnames, typo))
    elif kind % 4 == 2:
        record["given_names"] = " ".join(distort_one_word(rng, given, phonetic))
        record["surnames"] = " ".join(distort_one_word(rng, surnames, phonetic))
    else:
        swapped: date | None = swap_day_month(person.birth)
        record["date_of_birth"] = (swapped or person.birth).isoformat()
        record["phone"] = ""  # the prober does not know the number the victim holds
    return record


def honest_records(
    people: Sequence[Person], rng: random.Random, *, typo_share: float = 0.15
) -> list[dict[str, str]]:
    """An ordinary agency file: one record per person, some with typos, a few twice."""
    rows = [person_record(person, rng, typo_share) for person in people]
    repeats = rng.sample(list(people), k=int(HONEST_DUPLICATES * len(people)))
    rows += [person_record(person, rng, 0.5) for person in repeats]
    rng.shuffle(rows)
    return rows


@dataclass(frozen=True, slots=True)
class Upload:
    """Raw records of one upload and, per record, the target it probes (or None: decoy)."""

    records: list[dict[str, str]]
    target_of: list[int | None]


def crafted_upload(
    targets: Sequence[Person], decoys: Sequence[Person], rng: random.Random, variants: int
) -> Upload:
    """Targets with `variants` spelling variants each, mixed with clean decoy records."""
    records: list[dict[str, str]] = []
    target_of: list[int | None] = []
    for index, person in enumerate(targets):
        records.append(person_record(person))
        target_of.append(index)
        for kind in range(variants):
            records.append(_variant(rng, person, kind))
            target_of.append(index)
    for person in decoys:
        records.append(person_record(person, rng, 0.15))
        target_of.append(None)
    order = list(range(len(records)))
    rng.shuffle(order)
    return Upload([records[i] for i in order], [target_of[i] for i in order])


# --------------------------------------------------------------------------- encoding


@dataclass(frozen=True, slots=True)
class Encoded:
    """A batch and, per batch reference, the local row id it came from."""

    batch: Batch
    row_of: dict[str, int]


class Encoder:
    """Encodes raw records into batches with the project's real agency path (CSV -> batch)."""

    def __init__(self, schema: LinkageSchema, secret: LinkageSecret, folder: Path) -> None:
        self.schema = schema
        self.secret = secret
        self.folder = folder
        self.count = 0

    def encode(self, agency: str, records: Sequence[dict[str, str]]) -> Encoded:
        self.count += 1
        path = self.folder / f"{agency}-{self.count}.csv"
        with path.open("w", encoding="utf-8", newline="") as handle:
            writer = csv.writer(handle)
            writer.writerow(["record_id", *FIELDS])
            for row, record in enumerate(records):
                writer.writerow([f"r{row}", *(record.get(name, "") for name in FIELDS)])
        summary = encode_csv(
            path,
            schema=self.schema,
            secret=self.secret,
            ref_key=ReferenceKey(agency=agency, value=bytes(32)),
            out=path.with_suffix(".arrow"),
        )
        refmap = read_refmap(summary.refmap_path)
        rows = {ref: int(local[1:]) for ref, local in refmap.items()}
        return Encoded(read_batch(summary.batch_path), rows)


def hit_rows(victim: Batch, probe: Encoded) -> set[int]:
    """Rows of the probe batch that appear in any hit of a match against the victim."""
    hits, _ = match_batches([victim, probe.batch], MatchSettings())
    rows: set[int] = set()
    for group in hits.groups:
        for member in group.members:
            if member.agency == probe.batch.agency:
                rows.add(probe.row_of[member.reference])
    return rows


# --------------------------------------------------------------------------- stand-in controls


def fill_per_record(filters: npt.NDArray[np.uint8]) -> npt.NDArray[np.float64]:
    """Share of set bits of each record filter."""
    ones = np.unpackbits(filters, axis=1).sum(axis=1)
    return np.asarray(ones / (filters.shape[1] * 8), dtype=np.float64)


def near_duplicate_share(filters: npt.NDArray[np.uint8], threshold: float) -> float:
    """Share of records with another record of the same batch at Dice >= threshold."""
    bits = np.unpackbits(filters, axis=1).astype(np.float32)
    fill = bits.sum(axis=1)
    flagged = np.zeros(len(bits), dtype=bool)
    for start in range(0, len(bits), 2048):
        block = bits[start : start + 2048]
        dice = 2.0 * (block @ bits.T) / (fill[start : start + 2048, None] + fill[None, :] + 1e-9)
        for offset in range(len(block)):
            dice[offset, start + offset] = 0.0
        flagged[start : start + len(block)] = (dice >= threshold).any(axis=1)
    return float(flagged.mean()) if len(bits) else 0.0


def local_controls(reference: Sequence[Batch]) -> Controls:
    """Stand-in upload control calibrated on honest batches (a baseline, not the hub's).

    Refuses a batch whose near-duplicate share exceeds `NEAR_DUPLICATE_LIMIT` or whose mean
    fill is more than `FILL_TOLERANCE_SD` standard errors from the honest mean.
    """
    fills = np.concatenate([fill_per_record(batch.filters) for batch in reference])
    mean, spread = float(fills.mean()), float(fills.std())

    def check(batch: Batch) -> str | None:
        share = near_duplicate_share(batch.filters, NEAR_DUPLICATE_DICE)
        if share > NEAR_DUPLICATE_LIMIT:
            return f"near-duplicate share {share:.2f}"
        batch_mean = float(fill_per_record(batch.filters).mean())
        if abs(batch_mean - mean) > FILL_TOLERANCE_SD * spread / np.sqrt(len(batch)) + 0.005:
            return f"mean fill {batch_mean:.3f} vs {mean:.3f}"
        return None

    return check


# --------------------------------------------------------------------------- measurement


def _advantage(claimed: set[int], inside: set[int], outside: set[int]) -> dict[str, float]:
    tpr = len(claimed & inside) / len(inside) if inside else 0.0
    fpr = len(claimed & outside) / len(outside) if outside else 0.0
    return {"tpr": tpr, "fpr": fpr, "advantage": tpr - fpr}


def _probe(
    encoder: Encoder,
    victim: Batch,
    uploads: Sequence[Upload],
    controls: Controls | None,
) -> tuple[set[int], int]:
    """Upload each batch (if not refused), return the targets claimed and refusals."""
    claimed: set[int] = set()
    refused = 0
    for number, upload in enumerate(uploads):
        encoded = encoder.encode(f"prober{number}", upload.records)
        if controls is not None and controls(encoded.batch) is not None:
            refused += 1
            continue
        for row in hit_rows(victim, encoded):
            target = upload.target_of[row]
            if target is not None:
                claimed.add(target)
    return claimed, refused


def _slow_uploads(
    targets: Sequence[Person], decoys: Sequence[Person], rng: random.Random
) -> list[Upload]:
    """Targets without variants, spread over `SLOW_BATCHES` uploads padded with decoys."""
    uploads = []
    per_batch = -(-len(targets) // SLOW_BATCHES)
    for number in range(SLOW_BATCHES):
        chunk = targets[number * per_batch : (number + 1) * per_batch]
        if not chunk:
            break
        pad = decoys[number * per_batch * SLOW_DECOYS : (number + 1) * per_batch * SLOW_DECOYS]
        upload = crafted_upload(chunk, pad, rng, variants=0)
        shift = number * per_batch
        uploads.append(
            Upload(upload.records, [None if t is None else t + shift for t in upload.target_of])
        )
    return uploads


def run(
    schema: LinkageSchema,
    *,
    persons: int = 2000,
    targets: int = 200,
    seed: int = 0,
    controls: Callable[[Batch], str | None] | None = None,
) -> dict[str, float]:
    """Measure the membership advantage of a variant-sweeping and of a low-and-slow prober.

    Args:
        schema: The linkage schema both agencies use.
        persons: Persons in the victim agency's file.
        targets: Targets probed, half of them in the victim file.
        seed: Seeds the population, the split and the distortions.
        controls: The hub's upload check (batch -> refusal reason or None); None: off.

    Returns:
        advantage/tpr/fpr and refused uploads for the crafted ("sweep_") and low-and-slow
        ("slow_") probers, the near-duplicate share of the victim's honest file and of the
        sweep, and the refusal rate of the controls on honest batches.
    """
    rng = random.Random(seed)
    half = targets // 2
    decoy_count = max(int(DECOY_SHARE * targets * (VARIANTS + 1)), SLOW_DECOYS * targets)
    honest_size = persons // 2
    people = make_people(
        persons + half + decoy_count + HONEST_BATCHES * honest_size, random.Random(seed + 1)
    )
    victims = list(people[:persons])
    inside = rng.sample(victims, half)
    rest = people[persons:]
    outside = list(rest[:half])
    decoys = list(rest[half : half + decoy_count])
    honest_pool = list(rest[half + decoy_count :])
    chosen = inside + outside
    order = list(range(len(chosen)))
    rng.shuffle(order)
    target_people = [chosen[i] for i in order]
    inside_ids = {i for i, k in enumerate(order) if k < half}
    outside_ids = set(range(len(chosen))) - inside_ids
    secret = LinkageSecret(project="probing", value=os.urandom(32))
    result: dict[str, float] = {}
    with tempfile.TemporaryDirectory() as folder:
        encoder = Encoder(schema, secret, Path(folder))
        victim = encoder.encode("victim", honest_records(victims, rng)).batch
        sweep = crafted_upload(
            target_people, decoys[: len(target_people) * (VARIANTS + 1)], rng, VARIANTS
        )
        result["honest_near_duplicates"] = near_duplicate_share(victim.filters, NEAR_DUPLICATE_DICE)
        result["sweep_near_duplicates"] = near_duplicate_share(
            encoder.encode("preview", sweep.records).batch.filters, NEAR_DUPLICATE_DICE
        )
        claimed, refused = _probe(encoder, victim, [sweep], controls)
        result |= {f"sweep_{k}": v for k, v in _advantage(claimed, inside_ids, outside_ids).items()}
        result["sweep_refused"] = float(refused)
        slow = _slow_uploads(target_people, decoys, rng)
        claimed, refused = _probe(encoder, victim, slow, controls)
        result |= {f"slow_{k}": v for k, v in _advantage(claimed, inside_ids, outside_ids).items()}
        result["slow_refused"] = float(refused)
        result["slow_uploads"] = float(len(slow))
        result["honest_refusal_rate"] = _honest_refusals(
            encoder, honest_pool, honest_size, rng, controls
        )
    return result


def _honest_refusals(
    encoder: Encoder,
    pool: Sequence[Person],
    size: int,
    rng: random.Random,
    controls: Controls | None,
) -> float:
    """Share of ordinary agency batches (of several sizes) the controls refuse."""
    if controls is None:
        return 0.0
    refused = 0
    for number in range(HONEST_BATCHES):
        chunk = pool[number * size : (number + 1) * size][: max(50, size >> number)]
        batch = encoder.encode(f"honest{number}", honest_records(chunk, rng)).batch
        refused += controls(batch) is not None
    return refused / HONEST_BATCHES


def calibrated_controls(schema: LinkageSchema, *, persons: int = 1000, seed: int = 99) -> Controls:
    """The stand-in controls, calibrated on honest batches made from a separate population."""
    rng = random.Random(seed)
    people = make_people(2 * persons, random.Random(seed + 1))
    secret = LinkageSecret(project="probing", value=os.urandom(32))
    with tempfile.TemporaryDirectory() as folder:
        encoder = Encoder(schema, secret, Path(folder))
        batches = [
            encoder.encode(
                f"calibration{i}", honest_records(people[i * persons : (i + 1) * persons], rng)
            ).batch
            for i in range(2)
        ]
    return local_controls(batches)


def main(argv: Sequence[str] | None = None) -> None:
    """Print the probers' advantage without controls and with the local stand-in."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--persons", type=int, default=2000)
    parser.add_argument("--targets", type=int, default=200)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--schema", default="person-classic")
    args = parser.parse_args(argv)
    schema = load_schema(args.schema)
    for label, controls in (
        ("no controls", None),
        ("stand-in controls", calibrated_controls(schema)),
    ):
        result = run(
            schema, persons=args.persons, targets=args.targets, seed=args.seed, controls=controls
        )
        print(label, " ".join(f"{key}={value:.3f}" for key, value in result.items()))


if __name__ == "__main__":
    main()
