"""Batches for the probing-control tests, encoded with the real agency path from synthetic CSVs.

Honest files come from `linkage.synth.generate`; crafted ones are built from their rows:
a sweep (targets, each with spelling variants, mixed with decoys) and atom records (one
short name each). Every value is synthetic.
"""

import csv
from collections.abc import Sequence
from pathlib import Path

from keys import LinkageSecret, ReferenceKey
from linkage.agency import encode_csv
from linkage.schema import load_schema

SECRET = LinkageSecret(project="probing-tests", value=bytes(range(32)))
Row = dict[str, str]


def read_rows(path: Path) -> list[Row]:
    """The rows of a synthetic agency CSV (comma or semicolon separated)."""
    text = path.read_text(encoding="utf-8")
    dialect = csv.Sniffer().sniff(text.splitlines()[0], delimiters=",;")
    return list(csv.DictReader(text.splitlines(), dialect=dialect))


def encode_rows(
    rows: Sequence[Row], folder: Path, *, agency: str, schema: str = "person", name: str = "batch"
) -> bytes:
    """The rows encoded by `encode_csv` for `agency`: the batch file's bytes."""
    folder.mkdir(parents=True, exist_ok=True)
    source = folder / f"{name}.csv"
    columns = list(rows[0])
    with source.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=columns)
        writer.writeheader()
        writer.writerows(rows)
    summary = encode_csv(
        source,
        schema=load_schema(schema),
        secret=SECRET,
        ref_key=ReferenceKey(agency=agency, value=bytes(32)),
        out=folder / f"{name}.arrow",
    )
    return summary.batch_path.read_bytes()


def _typo(word: str, position: int) -> str:
    # Doubles one letter: a plausible spelling variant that keeps the name's sound.
    if len(word) < 3:
        return word + word[-1:]
    cut = 1 + position % (len(word) - 2)
    return word[:cut] + word[cut] + word[cut:]


def variants(row: Row, count: int) -> list[Row]:
    """`count` spelling variants of a record: a typo in a given name or in a surname."""
    out = []
    for index in range(count):
        field = "given_names" if index % 2 == 0 else "surnames"
        words = row[field].split(" ")
        words[0] = _typo(words[0], index // 2)
        out.append(row | {field: " ".join(words), "record_id": f"{row['record_id']}-v{index}"})
    return out


def sweep(rows: Sequence[Row], *, targets: int, per_target: int = 4) -> list[Row]:
    """Targets each with `per_target` variants, followed by as many decoy records."""
    crafted = []
    for row in rows[:targets]:
        crafted += [row, *variants(row, per_target)]
    return crafted + list(rows[targets : targets + len(crafted)])


def atoms(count: int, template: Row) -> list[Row]:
    """Records holding nothing but a two-letter given name."""
    letters = "abcdefghijklmnopqrstuvwxyz"
    return [
        dict.fromkeys(template, "")
        | {"record_id": f"atom-{i}", "given_names": letters[i % 26] + letters[i // 26 % 26]}
        for i in range(count)
    ]
