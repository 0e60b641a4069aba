"""`--excel`: CSV files that a spreadsheet set to Dutch (or another comma-decimal locale) opens.

Excel in such a locale splits lines on semicolons, reads "0,93" as a number and "0.93" as a
date or text, and guesses the encoding unless the file starts with a UTF-8 byte-order mark;
a plain CSV file opens as one column. The tool writes its CSV files as usual and, with
`--excel`, rewrites them: semicolons, a decimal comma in the score columns only (never in a
reference, id or detail, whose text must stay as it is) and a byte-order mark.
"""

import argparse
import csv
import io
from pathlib import Path

DECIMAL_COLUMNS = frozenset({"best_score", "score"})  # the only decimals the exports hold
BOM = "\ufeff"


def add_excel_option(parser: argparse.ArgumentParser) -> None:
    """Add `--excel` to a command that writes CSV."""
    parser.add_argument(
        "--excel",
        action="store_true",
        help="CSV for Excel in a Dutch locale: semicolons, decimal comma, UTF-8 byte-order mark",
    )


def excel_text(text: str) -> str:
    """A comma-separated CSV text as the Excel flavour (see the module docstring)."""
    rows = list(csv.reader(io.StringIO(text.removeprefix(BOM))))
    if not rows:
        return BOM
    decimal = [name in DECIMAL_COLUMNS for name in rows[0]]
    out = io.StringIO()
    writer = csv.writer(out, delimiter=";", lineterminator="\r\n")
    writer.writerow(rows[0])
    for row in rows[1:]:
        writer.writerow(
            [_comma(cell) if flag else cell for cell, flag in zip(row, decimal, strict=False)]
            + row[len(decimal) :]
        )
    return BOM + out.getvalue()


def rewrite_for_excel(path: Path) -> None:
    """Rewrite a CSV file the tool wrote as the Excel flavour, in place."""
    text = path.read_text(encoding="utf-8")
    path.write_text(excel_text(text), encoding="utf-8", newline="")


def _comma(cell: str) -> str:
    try:
        float(cell)
    except ValueError:
        return cell
    return cell.replace(".", ",")
