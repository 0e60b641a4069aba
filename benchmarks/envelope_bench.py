"""Sealed disclosure envelopes: sealing and opening rates, and their cost inside encode.

    python -m benchmarks.envelope_bench [--records 1000000] [--encode-records 200000]

Measures on this machine, one core:
  1. `EnvelopeKeys.seal` for N records (four fields, as `fieldlink encode` would seal them)
     and `EnvelopeKeys.open` of the same envelopes;
  2. `encode_csv` on a synthetic CSV file without and with envelopes (one worker), so the
     difference is the sealing cost inside a real encode.
"""

import argparse
import tempfile
import time
from pathlib import Path

from keys import (
    KeyKind,
    generate_keypair,
    generate_reference_key,
    generate_secret,
    opening_keys,
    sealing_keys,
)
from linkage.agency import encode_csv
from linkage.envelopes import EnvelopeRequest
from linkage.schema import load_schema
from tests.factories import fake_people, to_csv

FIELDS = ("given_names", "surnames", "date_of_birth", "record_id")


def seal_and_open(records: int) -> tuple[float, float]:
    """Records per second for sealing, then for opening, `records` envelopes."""
    team = generate_keypair("bench-team", KeyKind.TEAM)
    keys = sealing_keys(team.public, project="bench", agency="politie")
    people = fake_people(1000, seed=1)
    details = [{name: person[name] for name in FIELDS} for person in people]
    references = [f"{index:032x}" for index in range(records)]
    started = time.perf_counter()
    sealed = [keys.seal(ref, details[index % 1000]) for index, ref in enumerate(references)]
    seal_seconds = time.perf_counter() - started
    opener = opening_keys(team, ephemeral_key=keys.ephemeral_key, project="bench", agency="politie")
    started = time.perf_counter()
    for reference, envelope in zip(references, sealed, strict=True):
        opener.open(reference, envelope)
    open_seconds = time.perf_counter() - started
    return records / seal_seconds, records / open_seconds


def encode_seconds(records: int) -> tuple[float, float]:
    """Seconds `encode_csv` takes on one worker without and with envelopes."""
    secret = generate_secret("bench")
    team = generate_keypair("bench-team", KeyKind.TEAM)
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "people.csv"
        path.write_text(to_csv(fake_people(records, seed=2)), encoding="utf-8")
        timings = []
        for request in (None, EnvelopeRequest(fields=FIELDS, team_key=team.public)):
            out = Path(folder) / f"batch-{len(timings)}.arrow"
            summary = encode_csv(
                path,
                schema=load_schema(),
                secret=secret,
                ref_key=generate_reference_key("politie"),
                out=out,
                workers=1,
                envelopes=request,
            )
            timings.append(summary.seconds)
    return timings[0], timings[1]


def main() -> None:
    """Run both measurements and print them."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--records", type=int, default=1_000_000)
    parser.add_argument("--encode-records", type=int, default=200_000)
    args = parser.parse_args()
    seal_rate, open_rate = seal_and_open(args.records)
    print(f"seal  {args.records:,} envelopes: {seal_rate:,.0f} records/s (one core)")
    print(f"open  {args.records:,} envelopes: {open_rate:,.0f} records/s (one core)")
    plain, sealed = encode_seconds(args.encode_records)
    print(
        f"encode {args.encode_records:,} records, one worker: {plain:.2f} s without envelopes, "
        f"{sealed:.2f} s with ({args.encode_records / (sealed - plain):,.0f} envelopes/s extra)"
    )


if __name__ == "__main__":
    main()
