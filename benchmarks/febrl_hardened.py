"""FEBRL4 and FEBRL3 with the field schema, unsalted and hardened with salt families.

    python -m benchmarks.febrl_hardened [--out DIR]

FEBRL4: 5,000 originals (A) against 5,000 duplicates (B), 5,000 true links. FEBRL3 is a
deduplication data set (5,000 records, originals with up to several duplicates each); the
engine links across agencies, so it is split into the originals (A) and the duplicates
(B), and the true links are each duplicate with its original (duplicates of one original
are on the same side and not counted). Both schemas: `benchmarks/febrl_fields_schema.json`
and the same with seven salt families (`benchmarks/febrl_hardened_schema.json`, built as
the `person` default's: date of birth with a name key, name keys with date parts, with the
postcode, and the social security number). Default settings, threshold without labels.
"""

import argparse
import csv
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from benchmarks.febrl import write_febrl_csvs
from benchmarks.fields_bench import encode_side, pair_quality
from linkage.match.engine import match_batches

ROOT = Path(__file__).resolve().parent.parent
SCHEMAS = {
    "fields": ROOT / "benchmarks" / "febrl_fields_schema.json",
    "hardened": ROOT / "benchmarks" / "febrl_hardened_schema.json",
}


def split_febrl3(febrl3: Path, folder: Path) -> tuple[Path, Path, int]:
    """Originals and duplicates of FEBRL3 in two files; the number of true links."""
    with febrl3.open(newline="", encoding="utf-8") as source:
        reader = csv.reader(source)
        header = next(reader)
        rows = list(reader)
    column = header.index("rec_id")
    sides = {"org": [r for r in rows if "-org" in r[column]]}
    sides["dup"] = [r for r in rows if "-dup-" in r[column]]
    originals = {r[column].split("-")[1] for r in sides["org"]}
    links = sum(r[column].split("-")[1] in originals for r in sides["dup"])
    paths = []
    for name, members in sides.items():
        path = folder / f"febrl3_{name}.csv"
        with path.open("w", newline="", encoding="utf-8") as target:
            writer = csv.writer(target)
            writer.writerow(header)
            writer.writerows(members)
        paths.append(path)
    return paths[0], paths[1], links


def _same_person(record: str) -> str:
    return record.split("-")[1]


def run(a: Path, b: Path, true: int, out: Path) -> dict[str, Any]:
    """Both schemas on one pair of files."""
    figures = {}
    for name, schema in SCHEMAS.items():
        left, ref_a = encode_side(a, "a", out / f"{a.stem}.{name}.arrow", schema)
        right, ref_b = encode_side(b, "b", out / f"{b.stem}.{name}.arrow", schema)
        hits, report = match_batches([left, right])
        quality = pair_quality(hits, {"a": ref_a, "b": ref_b}, _same_person, true)
        figures[name] = quality | {"threshold": report.threshold}
        print(
            f"{a.stem[:6]:<7} {name:<9} P {quality['precision']:.4f} R {quality['recall']:.4f} "
            f"F1 {quality['f1']:.4f} (threshold {report.threshold:.3f})",
            flush=True,
        )
    return figures


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "out" / "febrl_hardened")
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    data = write_febrl_csvs(args.out / "data")
    report = {"febrl4": run(data["febrl4_a"], data["febrl4_b"], 5000, args.out)}
    org, dup, links = split_febrl3(data["febrl3"], args.out)
    report["febrl3_split"] = run(org, dup, links, args.out) | {"true_links": links}
    (args.out / "febrl_hardened.json").write_text(json.dumps(report, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
