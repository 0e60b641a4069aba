"""`fieldlink encode --preview N`: how the first N rows normalise, with the mapping used.

For choosing `--map` and date formats before encoding. It runs on the agency's own machine
and shows the values there, on stdout only: no file is written, no key is read or made, and
nothing goes to a log. The same reading, mapping and normalisation as `encode` are used.
"""

from dataclasses import dataclass
from pathlib import Path

from linkage.errors import InvalidValue
from linkage.normalize import normalize_value
from linkage.records import ColumnPlan, plan_columns, read_csv
from linkage.schema import FieldSpec, LinkageSchema


@dataclass(frozen=True, slots=True, repr=False)
class PreviewLine:
    """One field of one record: raw text and what became of it (shown locally only)."""

    field: str
    raw: str
    result: str  # the normalised value in quotes, "missing" or "invalid: REASON"


def preview_rows(
    path: Path,
    schema: LinkageSchema,
    *,
    rows: int,
    id_column: str,
    mapping: dict[str, str],
    encoding: str,
) -> tuple[ColumnPlan, list[tuple[int, list[PreviewLine]]]]:
    """The column plan and, for the first `rows` records, each mapped field's outcome."""
    table = read_csv(path, encoding=encoding)
    plan = plan_columns(table.header, schema, id_column=id_column, mapping=mapping)
    stop = min(rows, len(table))
    columns = {field: table.column(column, 0, stop) for field, column in plan.field_columns.items()}
    numbers = table.row_numbers[:stop].tolist()
    previews = []
    for index, row in enumerate(numbers):
        lines = [
            PreviewLine(spec.name, columns[spec.name][index], _outcome(spec, columns, index))
            for spec in schema.fields
            if spec.name in columns
        ]
        previews.append((row, lines))
    return plan, previews


def _outcome(spec: FieldSpec, columns: dict[str, list[str]], index: int) -> str:
    try:
        value = normalize_value(spec, columns[spec.name][index])
    except InvalidValue as err:
        return f"invalid: {err.reason}"
    return "missing" if value is None else repr(value)


def print_preview(
    path: Path, plan: ColumnPlan, previews: list[tuple[int, list[PreviewLine]]]
) -> None:
    """Print the mapping and the rows' raw -> normalised values."""
    print(f"preview of {len(previews)} record(s) of {path}: nothing written, shown here only")
    print(f"mapping (column -> field), record id column {plan.id_column}:")
    for field, column in plan.field_columns.items():
        print(f"  {column} -> {field}")
    for field in plan.absent_fields:
        print(f"  (no column) -> {field}: absent, encoded as missing")
    if plan.ignored_columns:
        print(f"ignored columns: {', '.join(plan.ignored_columns)}")
    width = max((len(line.field) for _, lines in previews for line in lines), default=0)
    for row, lines in previews:
        print(f"line {row}:")
        for line in lines:
            print(f"  {line.field:<{width}}  {line.raw!r} -> {line.result}")
