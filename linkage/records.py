"""Agency CSV files -> columns, and which column feeds which schema field."""

import csv
import io
import re
import unicodedata
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.csv as pacsv

from linkage.arrow import string_array
from linkage.errors import InputError, RecordError
from linkage.schema import FieldKind, LinkageSchema

if TYPE_CHECKING:
    import _csv

# Records are named by the file line they start on: the header is line 1, so the first
# record is line 2 (a spreadsheet's row number too, unless a value holds a line break).
FIRST_DATA_ROW = 2
_DELIMITERS = ",;\t|"
# A blank line, or one of only separators (a spreadsheet's empty row: ";;;;;;;;")
_BLANK_LINE = re.compile(rb"\n[ \t\r]*\n|\n[ \t\r]*[;,|][ \t\r;,|]*(?:\n|\Z)")
_UTF8_BOM = b"\xef\xbb\xbf"
_HEADER_BYTES = 65536  # where the header row is looked for by the fast reader


@dataclass(frozen=True, slots=True, repr=False)
class RecordTable:
    """A CSV file read into text columns (no value is ever shown by repr).

    The text stays in Arrow arrays until a range of rows is asked for, so worker processes
    convert their own rows to Python strings, in parallel.
    """

    source: str
    header: tuple[str, ...]
    data: pa.Table  # one string column per header name, in header order
    row_numbers: npt.NDArray[np.int64]  # the file line each record starts on (header: 1)

    def __len__(self) -> int:
        return int(self.data.num_rows)

    def __repr__(self) -> str:
        return f"RecordTable(source={self.source!r}, rows={len(self)}, columns={len(self.header)})"

    def column(self, name: str, start: int = 0, stop: int | None = None) -> list[str]:
        """The text of one column, for rows start:stop (default: all)."""
        stop = len(self) if stop is None else stop
        values = self.data.column(self.header.index(name)).slice(start, stop - start)
        return values.to_pylist()  # type: ignore[no-any-return]

    def without(self, positions: Collection[int]) -> "RecordTable":
        """The same table without the records at the given positions."""
        keep = np.setdiff1d(np.arange(len(self)), np.fromiter(positions, np.int64))
        return RecordTable(
            source=self.source,
            header=self.header,
            data=self.data.take(keep),
            row_numbers=self.row_numbers[keep],
        )


@dataclass(frozen=True, slots=True)
class ColumnPlan:
    """Which CSV column feeds which schema field, and what is left over."""

    id_column: str
    field_columns: dict[str, str]  # field -> column
    absent_fields: tuple[str, ...]  # optional fields without a column: encoded as missing
    ignored_columns: tuple[str, ...]


def read_csv(path: Path, *, encoding: str = "utf-8") -> RecordTable:
    """Read a CSV file into text columns, with clear errors for unusable files.

    Args:
        path: The CSV file; the first row is the header.
        encoding: Text encoding of the file (a UTF-8 byte-order mark is accepted).

    Returns:
        The table, every value as text.

    Raises:
        InputError: The file is missing, empty, binary, not decodable, or ragged.
    """
    data = _read_bytes(path)
    source = _utf8_source(path, data, encoding)
    dialect = _dialect(_first_line(source))
    fast = _read_with_arrow(path, source, dialect)
    if fast is not None:
        return fast
    text = _decode(path, data, encoding)
    reader = csv.reader(io.StringIO(text, newline=""), dialect=dialect)
    try:
        header = tuple(name.strip() for name in next(reader))
        rows, lines = _rows_and_lines(reader)
    except csv.Error as err:
        raise InputError(f"{path}: not a readable CSV file (line {reader.line_num})") from err
    _check_header(path, header)
    numbers, rows = _numbered_rows(path, rows, lines, len(header))
    data = pa.Table.from_arrays(
        [string_array(column) for column in zip(*rows, strict=True)], names=list(header)
    )
    return RecordTable(
        source=str(path), header=header, data=data, row_numbers=np.asarray(numbers, dtype=np.int64)
    )


def _read_with_arrow(
    path: Path, source: bytes, dialect: type[csv.Dialect] | csv.Dialect
) -> RecordTable | None:
    # Arrow's multi-threaded reader is several times faster than the csv module. It is used
    # only on files it reads exactly like the csv module (no blank lines, no skipped spaces);
    # anything it refuses (invalid UTF-8 included) goes to the csv module, whose errors name
    # the row. It reads the bytes as they are: no Python string of the whole file.
    if dialect.skipinitialspace or _BLANK_LINE.search(source):
        return None
    quote = dialect.quotechar
    parse = pacsv.ParseOptions(
        delimiter=dialect.delimiter,
        quote_char=quote or False,
        double_quote=dialect.doublequote,
        escape_char=dialect.escapechar or False,
        # A line break inside a value needs quotes; without any, Arrow splits the file
        # into blocks at line ends and parses them on every core (twice as fast).
        newlines_in_values=bool(quote and quote.encode("utf-8") in source),
        ignore_empty_lines=False,
    )
    head = _head(source)
    if head is None:
        return None
    raw_header = next(csv.reader(io.StringIO(head, newline=""), dialect=dialect), [])
    header = tuple(name.strip() for name in raw_header)
    _check_header(path, header)
    convert = pacsv.ConvertOptions(
        column_types=dict.fromkeys(raw_header, pa.string()),
        strings_can_be_null=False,
        quoted_strings_can_be_null=False,
    )
    try:
        table = pacsv.read_csv(pa.py_buffer(source), parse_options=parse, convert_options=convert)
    except (pa.ArrowInvalid, pa.ArrowTypeError):
        return None
    if table.num_rows == 0 or table.num_columns != len(header):
        return None
    first = FIRST_DATA_ROW + sum(name.count("\n") for name in raw_header)
    return RecordTable(
        source=str(path),
        header=header,
        data=table.rename_columns(list(header)),
        row_numbers=_start_lines(table, first, parse.newlines_in_values),
    )


def _start_lines(table: pa.Table, first: int, breaks: bool) -> npt.NDArray[np.int64]:
    # The line each record starts on: one line per record, plus the line breaks inside
    # the quoted values of the records before it (counted only where quotes occur).
    lines = np.arange(first, first + table.num_rows, dtype=np.int64)
    if not breaks or table.num_rows == 0:
        return lines
    import pyarrow.compute as pc  # only for files with quoted values (its import: 20 ms)

    inside = np.zeros(table.num_rows, dtype=np.int64)
    for column in table.columns:
        inside += pc.count_substring(column, "\n").to_numpy(zero_copy_only=False)
    lines[1:] += np.cumsum(inside)[:-1]
    return lines


def _head(source: bytes) -> str | None:
    # Whole lines from the start, enough for the header row; None when not valid UTF-8.
    cut = source.rfind(b"\n", 0, _HEADER_BYTES) + 1 if len(source) > _HEADER_BYTES else None
    try:
        return source[:cut].decode("utf-8") if cut != 0 else None
    except UnicodeDecodeError:
        return None


def _rows_and_lines(reader: "_csv.Reader") -> tuple[list[list[str]], list[int]]:
    # Each row with the file line it starts on (a quoted value may span several lines).
    rows: list[list[str]] = []
    lines: list[int] = []
    start = reader.line_num + 1
    for row in reader:
        rows.append(row)
        lines.append(start)
        start = reader.line_num + 1
    return rows, lines


def _numbered_rows(
    path: Path, rows: list[list[str]], lines: list[int], width: int
) -> tuple[list[int], list[list[str]]]:
    if {len(row) for row in rows} == {width} and all(any(row) for row in rows):
        return lines, rows
    for line, row in zip(lines, rows, strict=True):
        if len(row) != width and any(cell.strip() for cell in row):
            raise InputError(f"{path}: line {line} has {len(row)} columns, the header has {width}")
    # Blank lines and empty rows (every cell blank) are skipped; the records after them
    # keep their line numbers.
    kept = [
        index
        for index, row in enumerate(rows)
        if len(row) == width and any(cell.strip() for cell in row)
    ]
    if not kept:
        raise InputError(f"{path}: has a header but no records")
    return [lines[index] for index in kept], [rows[index] for index in kept]


# From this many records the ids are first checked by Arrow; below, the Python loop alone
# is quicker than loading Arrow's compute functions (20 ms).
ARROW_ID_CHECK_ROWS = 50_000


def check_ids(table: RecordTable, id_column: str) -> list[RecordError]:
    """Empty and repeated local ids: each such record is reported (never the id itself)."""
    if len(table) >= ARROW_ID_CHECK_ROWS and _ids_are_fine(table, id_column):
        return []
    problems: list[RecordError] = []
    first_seen: dict[str, int] = {}
    for local_id, row in zip(table.column(id_column), table.row_numbers.tolist(), strict=True):
        key = local_id.strip()
        if not key:
            problems.append(RecordError(row, id_column, "is empty; record left out"))
        elif key in first_seen:
            problems.append(
                RecordError(
                    row, id_column, f"repeats the id of line {first_seen[key]}; record left out"
                )
            )
        else:
            first_seen[key] = row
    return problems


def _ids_are_fine(table: RecordTable, id_column: str) -> bool:
    # The usual case, decided by Arrow without a Python object per id. No Python scalar
    # goes in (pa.scalar, like pa.array, imports pandas: a third of a second); `unique`
    # is faster than `count_distinct`.
    import pyarrow.compute as pc

    ids = pc.utf8_trim_whitespace(table.data.column(table.header.index(id_column)))
    return bool(len(pc.unique(ids)) == len(table) and pc.min(pc.utf8_length(ids)).as_py())


def _read_bytes(path: Path) -> bytes:
    try:
        data = path.read_bytes()
    except OSError as err:
        raise InputError(f"{path}: cannot be read ({err.strerror})") from err
    if not data.strip():
        raise InputError(f"{path}: is empty")
    if b"\x00" in data[:65536]:
        raise InputError(f"{path}: is binary, not a CSV text file")
    return data


def _is_utf8(encoding: str) -> bool:
    return encoding.lower().replace("_", "-") in {"utf-8", "utf8"}


def _utf8_source(path: Path, data: bytes, encoding: str) -> bytes:
    # UTF-8 files are read as they are (Arrow checks them, and a file it refuses is
    # decoded by `_decode`, which names the bad line); others are converted once.
    if _is_utf8(encoding):
        return data[len(_UTF8_BOM) :] if data.startswith(_UTF8_BOM) else data
    return _decode(path, data, encoding).encode("utf-8")


def _first_line(source: bytes) -> str:
    end = source.find(b"\n")
    return source[: end if end >= 0 else len(source)].decode("utf-8", errors="replace")


def _decode(path: Path, data: bytes, encoding: str) -> str:
    codec = "utf-8-sig" if _is_utf8(encoding) else encoding
    try:
        return data.decode(codec)
    except UnicodeDecodeError as err:
        line = data[: err.start].count(b"\n") + 1
        raise InputError(
            f"{path}: line {line} is not valid {encoding}; "
            "pass --encoding (for example latin-1 or cp1252)"
        ) from err
    except LookupError as err:
        raise InputError(f"unknown text encoding {encoding!r}") from err


def _dialect(first_line: str) -> type[csv.Dialect] | csv.Dialect:
    try:
        return csv.Sniffer().sniff(first_line, delimiters=_DELIMITERS)
    except csv.Error:
        return csv.excel


def _check_header(path: Path, header: tuple[str, ...]) -> None:
    if len(header) < 2:
        raise InputError(
            f"{path}: does not look like a CSV file with a header row (found a single column)"
        )
    if any(not name for name in header):
        raise InputError(f"{path}: the header has an empty column name")
    duplicates = sorted({name for name in header if header.count(name) > 1})
    if duplicates:
        raise InputError(f"{path}: the header repeats column(s) {', '.join(duplicates)}")


# Column names that agencies' exports use for a field of each kind (Dutch, Spanish,
# Portuguese, French, English), compared folded: lowercase, without spaces, "_", "-", ".".
COLUMN_SYNONYMS: dict[FieldKind, frozenset[str]] = {
    FieldKind.GIVEN_NAMES: frozenset(
        [
            "voornaam",
            "voornamen",
            "roepnaam",
            "nombre",
            "nombres",
            "nome",
            "nomes",
            "prenom",
            "prenoms",
            "firstname",
            "firstnames",
            "givenname",
            "givennames",
            "forename",
            "forenames",
        ]
    ),
    FieldKind.SURNAMES: frozenset(
        [
            "achternaam",
            "achternamen",
            "geslachtsnaam",
            "familienaam",
            "apellido",
            "apellidos",
            "sobrenome",
            "sobrenomes",
            "nomdefamille",
            "surname",
            "surnames",
            "lastname",
            "familyname",
        ]
    ),
    FieldKind.DATE: frozenset(
        [
            "geboortedatum",
            "gebdatum",
            "fechadenacimiento",
            "fechanacimiento",
            "datadenascimento",
            "datanascimento",
            "datedenaissance",
            "birthdate",
            "dateofbirth",
            "dob",
        ]
    ),
    FieldKind.SEX: frozenset(["geslacht", "sexo", "sexe", "gender", "sex"]),
    FieldKind.NATIONALITY: frozenset(
        ["nationaliteit", "nacionalidad", "nacionalidade", "nationalite", "nationality"]
    ),
    FieldKind.PHONE: frozenset(
        [
            "telefoon",
            "telefoonnummer",
            "mobiel",
            "mobielnummer",
            "gsm",
            "telefono",
            "telefone",
            "celular",
            "movil",
            "telephone",
            "phone",
            "phonenumber",
            "mobile",
        ]
    ),
    FieldKind.POSTCODE: frozenset(
        ["postcode", "postalcode", "codigopostal", "cep", "codepostal", "zip", "zipcode"]
    ),
    FieldKind.CITY: frozenset(
        [
            "woonplaats",
            "plaats",
            "gemeente",
            "ciudad",
            "localidad",
            "cidade",
            "municipio",
            "ville",
            "city",
            "town",
        ]
    ),
    FieldKind.IDENTIFIER: frozenset(
        [
            "documentnummer",
            "documentnr",
            "paspoortnummer",
            "idnummer",
            "numerodocumento",
            "documento",
            "pasaporte",
            "passaporte",
            "numerodopassaporte",
            "documentnumber",
            "passportnumber",
        ]
    ),
}


def _folded_column(name: str) -> str:
    plain = unicodedata.normalize("NFKD", name.strip().lower())
    return re.sub(r"[\s_.\-]+", "", "".join(c for c in plain if not unicodedata.combining(c)))


def _by_synonym(
    header: Sequence[str], schema: LinkageSchema, bound: Mapping[str, str], used: set[str]
) -> dict[str, str]:
    """Field -> column for fields named like a known synonym of their kind (one each)."""
    found: dict[str, str] = {}
    kinds = [spec.kind for spec in schema.fields]
    for spec in schema.fields:
        synonyms = COLUMN_SYNONYMS.get(spec.kind)
        if spec.name in bound or synonyms is None or kinds.count(spec.kind) > 1:
            continue  # a kind with two fields (two dates, say) needs --map
        matches = [c for c in header if c not in used and _folded_column(c) in synonyms]
        if len(matches) == 1:
            found[spec.name] = matches[0]
            used.add(matches[0])
    return found


def plan_columns(
    header: Sequence[str],
    schema: LinkageSchema,
    *,
    id_column: str,
    mapping: Mapping[str, str] | None = None,
) -> ColumnPlan:
    """Bind CSV columns to schema fields: explicit `mapping`, equal names, then synonyms.

    Synonyms are the column names agencies' exports use for a field's kind in Dutch,
    Spanish, Portuguese, French and English (`COLUMN_SYNONYMS`: "voornaam", "apellidos",
    "data_nascimento", ...), bound when exactly one column of the file matches.

    Args:
        header: Column names of the file.
        schema: The linkage schema.
        id_column: The column holding the agency's local record id.
        mapping: Column -> field, for columns not named like their field.

    Returns:
        The plan; optional fields without a column are absent (encoded as missing).

    Raises:
        InputError: The id column or a required field's column is missing, or the mapping
            names an unknown column or field.
    """
    mapping = dict(mapping or {})
    columns = set(header)
    if id_column not in columns:
        raise InputError(f"id column '{id_column}' not found; choose one with --id-column")
    for column, field in mapping.items():
        if column not in columns:
            raise InputError(f"--map names column '{column}', which the file does not have")
        if field not in schema.field_names:
            raise InputError(f"--map names field '{field}', which schema '{schema.name}' lacks")
    by_field = {field: column for column, field in mapping.items()}
    for name in schema.field_names:
        if name not in by_field and name in columns and name not in mapping:
            by_field[name] = name
    by_field |= _by_synonym(header, schema, by_field, {id_column, *by_field.values()})
    missing = [spec.name for spec in schema.fields if spec.required and spec.name not in by_field]
    if missing:
        raise InputError(
            f"no column for required field(s) {', '.join(missing)}; map one with --map "
            f"COLUMN=FIELD (the file's columns: {', '.join(header)}; the schema's fields: "
            f"{', '.join(schema.field_names)})"
        )
    used = {id_column, *by_field.values()}
    return ColumnPlan(
        id_column=id_column,
        field_columns={name: by_field[name] for name in schema.field_names if name in by_field},
        absent_fields=tuple(name for name in schema.field_names if name not in by_field),
        ignored_columns=tuple(name for name in header if name not in used),
    )
