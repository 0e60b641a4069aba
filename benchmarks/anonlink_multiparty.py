"""clkhash + anonlink multi-party linkage: the anchor of ``benchmarks.quality_bench``.

Runs in the reference environment (``.bench-venv``: clkhash 0.18.3, anonlink 0.15.3),
started by ``benchmarks.quality_bench``; it never imports fieldlink:

    .bench-venv/bin/python -m benchmarks.anonlink_multiparty JOB.json RESULT.json

JOB.json names the datasets in order (``name``, ``csv``, ``delimiter``, ``missing_marker``),
the clkhash secret and the thresholds. Each agency's CSV is encoded with clkhash
(:func:`clkhash_schema`); then, for every threshold, anonlink's
``find_candidate_pairs`` (accelerated Dice, every pair of datasets, no blocking, no ``k``)
and ``greedy_solve`` turn the CLKs into groups of ``(dataset index, record index)``, record
indices in CSV row order. RESULT.json holds the groups per threshold, the schema and a few
counts; one JSON line of counts goes to stdout.

The schema is what clkhash offers and nothing more. clkhash does not normalise: its
``format.case`` only validates (an upper-case value fails ``"case": "lower"``, it is not
lowered), it neither strips nor folds accents, and it reads dates only as strings, so
"26-12-1989", "1989-12-26", "19891226" and "891226" share few bigrams. The one clean-up it
supports is ``hashing.missingValue``: each agency's own marker of a missing value
("ONBEKEND", "N/A") is replaced by the empty string, which hashes to nothing. That
sentinel is per agency; everything that decides the bits (KDF, hashing, budgets) is shared,
so the CLKs of all agencies are comparable.

Bit budgets (``bitsPerFeature``) mirror the weight of each field in fieldlink's person
schema (``linkage/schemas/person.json``): its bits per token times the typical number of
tokens of a normalised value (about 15 bigrams for names, 5 date tokens, 13 phone bigrams,
7 postcode and 10 city bigrams, one token for sex, nationality and document number). The
filters are 1024 bits with the KDF of the FEBRL baseline (``benchmarks.clkhash_baseline``).

anonlink quirks met here: ``dice_coefficient_accelerated`` takes exactly two datasets, so
``find_candidate_pairs`` is the multi-party entry point (it compares every pair of
datasets); it never compares records of one dataset, and ``greedy_solve`` merges two groups
only when every cross pair is a candidate, so a group holds at most one record per agency
even when an agency has several records of one person.
"""

import argparse
import csv
import json
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import anonlink
import clkhash
from anonlink.candidate_generation import find_candidate_pairs
from anonlink.similarities import dice_coefficient_accelerated
from anonlink.solving import greedy_solve
from bitarray import bitarray
from clkhash.clk import generate_clks
from clkhash.schema import from_json_dict

from benchmarks.clkhash_baseline import _KDF, FILTER_BITS

ID_COLUMN = "record_id"
# (field, comparison, bitsPerFeature), in the person schema's field order.
FEATURES: tuple[tuple[str, str, int], ...] = (
    ("given_names", "ngram", 120),
    ("surnames", "ngram", 120),
    ("date_of_birth", "ngram", 100),
    ("sex", "exact", 4),
    ("nationality", "exact", 6),
    ("phone", "ngram", 52),
    ("postcode", "ngram", 35),
    ("city", "ngram", 40),
    ("document_number", "ngram", 12),
)


def _feature(name: str, comparison: str, bits: int, missing_marker: str) -> dict[str, Any]:
    compare: dict[str, Any] = {"type": comparison}
    if comparison == "ngram":
        compare.update(n=2, positional=False)
    hashing: dict[str, Any] = {
        "comparison": compare,
        "strategy": {"bitsPerFeature": bits},
        "hash": {"type": "blakeHash"},
    }
    if missing_marker:
        hashing["missingValue"] = {"sentinel": missing_marker, "replaceWith": ""}
    return {
        "identifier": name,
        "format": {"type": "string", "encoding": "utf-8"},
        "hashing": hashing,
    }


def clkhash_schema(missing_marker: str = "") -> dict[str, Any]:
    """The clkhash v3 schema for rows of ``record_id`` plus the person fields, in order.

    Args:
        missing_marker: The agency's text for "no value"; replaced by "" before hashing.
    """
    features: list[dict[str, Any]] = [{"identifier": ID_COLUMN, "ignored": True}]
    features += [_feature(*spec, missing_marker) for spec in FEATURES]
    return {"version": 3, "clkConfig": {"l": FILTER_BITS, "kdf": dict(_KDF)}, "features": features}


def read_rows(csv_path: Path, delimiter: str) -> list[list[str]]:
    """The schema's columns of every row, in file order (clkhash reads only commas)."""
    with csv_path.open(newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle, delimiter=delimiter)
        columns = [ID_COLUMN, *(name for name, _, _ in FEATURES)]
        missing = [name for name in columns if name not in (reader.fieldnames or ())]
        if missing:
            raise SystemExit(f"{csv_path}: no column {', '.join(missing)}")
        return [[row[name] for name in columns] for row in reader]


def encode(dataset: Mapping[str, str], secret: str) -> list[bitarray]:
    """CLKs of one agency's CSV file, one per row, on one core."""
    rows = read_rows(Path(dataset["csv"]), dataset["delimiter"])
    schema = from_json_dict(clkhash_schema(dataset["missing_marker"]))
    return generate_clks(rows, schema, secret, validate=True, max_workers=1)


def solve(clks: Sequence[Sequence[bitarray]], threshold: float) -> dict[str, Any]:
    """Candidate pairs at ``threshold`` over every pair of datasets, then greedy groups."""
    start = time.perf_counter()
    candidates = find_candidate_pairs(clks, dice_coefficient_accelerated, threshold)
    groups = greedy_solve(candidates)
    return {
        "threshold": threshold,
        "candidates": len(candidates[0]),
        "groups": [sorted([int(d), int(r)] for d, r in group) for group in groups],
        "seconds": time.perf_counter() - start,
    }


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("job", type=Path, help="JSON: datasets, secret, thresholds")
    parser.add_argument("result", type=Path, help="where the groups go (JSON)")
    args = parser.parse_args(argv)
    job = json.loads(args.job.read_text(encoding="utf-8"))
    start = time.perf_counter()
    clks = [encode(dataset, job["secret"]) for dataset in job["datasets"]]
    encode_seconds = time.perf_counter() - start
    runs = [solve(clks, float(threshold)) for threshold in job["thresholds"]]
    result = {
        "clkhash": clkhash.__version__,
        "anonlink": anonlink.__version__,
        "schema": clkhash_schema(),
        "missing_markers": {d["name"]: d["missing_marker"] for d in job["datasets"]},
        "records": [len(dataset) for dataset in clks],
        "ones_share": [
            sum(clk.count() for clk in dataset) / (FILTER_BITS * len(dataset)) for dataset in clks
        ],
        "encode_seconds": encode_seconds,
        "runs": runs,
    }
    args.result.write_text(json.dumps(result) + "\n", encoding="utf-8")
    counts = {"records": result["records"], "encode_seconds": round(encode_seconds, 3)}
    counts["groups"] = {str(run["threshold"]): len(run["groups"]) for run in runs}
    print(json.dumps(counts))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
