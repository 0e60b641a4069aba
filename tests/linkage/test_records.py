import csv
import io
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from linkage import records
from linkage.errors import InputError
from linkage.records import check_ids, plan_columns, read_csv
from linkage.schema import load_schema


def write(tmp_path: Path, content: str | bytes, name: str = "in.csv") -> Path:
    path = tmp_path / name
    if isinstance(content, str):
        path.write_text(content, encoding="utf-8")
    else:
        path.write_bytes(content)
    return path


def test_rows_are_numbered_as_a_spreadsheet_shows_them(tmp_path: Path) -> None:
    path = write(tmp_path, "record_id,given_names\n1,Ana\n\n2,Jan\n")

    table = read_csv(path)

    assert table.row_numbers.tolist() == [2, 4]
    assert table.column("given_names") == ["Ana", "Jan"]


def test_semicolon_files_from_dutch_spreadsheets_are_read(tmp_path: Path) -> None:
    path = write(tmp_path, "\ufeffrecord_id;surnames\n1;de Vries\n")

    assert read_csv(path).column("surnames") == ["de Vries"]


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("", "is empty"),
        ("   \n", "is empty"),
        ("record_id,given_names\n", "no records"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00", "binary"),
        ("just one column\nvalue\n", "single column"),
        ("id,id\n1,2\n", "repeats column"),
        ("id,\n1,2\n", "empty column name"),
        ("record_id,given_names\n1,Ana,extra\n", "line 2 has 3 columns"),
    ],
)
def test_unusable_files_get_a_clear_error(
    tmp_path: Path, content: str | bytes, message: str
) -> None:
    with pytest.raises(InputError, match=message):
        read_csv(write(tmp_path, content))


def test_wrong_text_encoding_names_the_line_and_never_the_bytes(tmp_path: Path) -> None:
    path = write(tmp_path, "record_id,surnames\n1,Pe\xf1a\n".encode("latin-1"))

    with pytest.raises(InputError, match="line 2 is not valid utf-8") as caught:
        read_csv(path)

    assert "Pe" not in str(caught.value)
    assert read_csv(path, encoding="latin-1").column("surnames") == ["Peña"]


def test_invalid_utf8_in_the_header_is_named_too(tmp_path: Path) -> None:
    path = write(tmp_path, "record_id,sur\xf1ames\n1,Pena\n".encode("latin-1"))

    with pytest.raises(InputError, match="line 1 is not valid utf-8"):
        read_csv(path)


def test_byte_order_mark_is_not_part_of_the_first_column(tmp_path: Path) -> None:
    path = write(tmp_path, b"\xef\xbb\xbfrecord_id,surnames\n1,Pe\xc3\xb1a\n")

    table = read_csv(path)

    assert table.header == ("record_id", "surnames")
    assert table.column("surnames") == ["Peña"]


def test_missing_file_is_named(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="cannot be read"):
        read_csv(tmp_path / "absent.csv")


def test_columns_bind_by_name_and_by_mapping() -> None:
    schema = load_schema()
    header = ["id", "voornaam", "surnames", "date_of_birth", "remarks"]

    plan = plan_columns(header, schema, id_column="id", mapping={"voornaam": "given_names"})

    assert plan.field_columns == {
        "given_names": "voornaam",
        "surnames": "surnames",
        "date_of_birth": "date_of_birth",
    }
    assert "phone" in plan.absent_fields
    assert plan.ignored_columns == ("remarks",)


@pytest.mark.parametrize(
    ("header", "mapping", "message"),
    [
        (["given_names", "surnames", "date_of_birth"], {}, "id column 'id' not found"),
        (["id", "given_names", "surnames"], {}, "required field"),
        (
            ["id", "given_names", "surnames", "dob"],
            {"geboortedatum": "date_of_birth"},
            "column 'geboortedatum'",
        ),
        (["id", "given_names", "surnames", "dob"], {"dob": "birthday"}, "field 'birthday'"),
    ],
)
def test_bad_column_plans_are_explained(
    header: list[str], mapping: dict[str, str], message: str
) -> None:
    with pytest.raises(InputError, match=message):
        plan_columns(header, load_schema(), id_column="id", mapping=mapping)


@pytest.mark.parametrize("arrow_from", [0, records.ARROW_ID_CHECK_ROWS])
def test_empty_and_repeated_ids_are_reported_by_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, arrow_from: int
) -> None:
    monkeypatch.setattr(records, "ARROW_ID_CHECK_ROWS", arrow_from)  # Arrow's check first
    table = read_csv(write(tmp_path, "id,x\nA7,1\n,2\nA7,3\n"))
    fine = read_csv(write(tmp_path, "id,x\nA7,1\n A8 ,2\nA9,3\n", name="fine.csv"))

    problems = [str(problem) for problem in check_ids(table, "id")]

    assert check_ids(fine, "id") == []
    assert problems == [
        "line 3: field 'id' is empty; record left out",
        "line 4: field 'id' repeats the id of line 2; record left out",
    ]


# One numbering in every message: the file line a record starts on, the header on line 1.
MULTILINE = 'id,note\nA1,"two\nlines"\nA2,x\nA3,"three\r\nmore\nlines"\nA4,y\n'


def test_records_are_numbered_by_the_file_line_they_start_on(tmp_path: Path) -> None:
    table = read_csv(write(tmp_path, MULTILINE))  # read by Arrow: no blank line

    assert table.row_numbers.tolist() == [2, 4, 5, 8]


def test_blank_lines_and_line_breaks_in_values_keep_the_file_lines(tmp_path: Path) -> None:
    # A blank line and a spreadsheet's empty row: the csv module reads the file.
    content = MULTILINE.replace("A2,x\n", "A2,x\n\n,\n")
    table = read_csv(write(tmp_path, content))

    assert table.row_numbers.tolist() == [2, 4, 7, 10]
    # A record with a column too many is named by its line as well.
    with pytest.raises(InputError, match="line 7 has 3 columns"):
        read_csv(write(tmp_path, content.replace("A3,", "A3,z,"), name="ragged.csv"))


def test_a_repeated_id_names_both_lines_past_a_multiline_value(tmp_path: Path) -> None:
    table = read_csv(write(tmp_path, MULTILINE.replace("A4,y", "A1,y")))

    assert [str(problem) for problem in check_ids(table, "id")] == [
        "line 8: field 'id' repeats the id of line 2; record left out"
    ]


cells = st.text(alphabet=st.sampled_from(list("abcXYZ éñ0,;\"'\n\t-")), max_size=12)


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    rows=st.lists(st.lists(cells, min_size=3, max_size=3), min_size=1, max_size=6),
    delimiter=st.sampled_from([",", ";"]),
)
def test_fast_and_careful_readers_agree(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, rows: list[list[str]], delimiter: str
) -> None:
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=delimiter, lineterminator="\n")
    writer.writerows([["record_id", "given_names", "surnames"], *rows])
    path = write(tmp_path, buffer.getvalue(), name=f"h{abs(hash(buffer.getvalue()))}.csv")

    def read(fast: bool) -> tuple[dict[str, list[str]], list[int]] | str:
        with monkeypatch.context() as patch:
            if not fast:
                patch.setattr(records, "_read_with_arrow", lambda *args: None)
            try:
                table = read_csv(path)
            except InputError as err:
                return type(err).__name__
            return {name: table.column(name) for name in table.header}, table.row_numbers.tolist()

    assert read(fast=True) == read(fast=False)


def test_plain_files_take_the_fast_reader(tmp_path: Path) -> None:
    path = write(tmp_path, 'record_id,surnames\n1,"Silva, da"\n2,"line\nbreak"\n')
    source = path.read_bytes()

    table = records._read_with_arrow(path, source, records._dialect(records._first_line(source)))

    assert table is not None
    assert table.column("surnames") == ["Silva, da", "line\nbreak"]
    assert table.row_numbers.tolist() == [2, 3]


def test_a_spreadsheet_empty_row_is_skipped_like_a_blank_line(tmp_path: Path) -> None:
    path = tmp_path / "export.csv"
    path.write_text("id;name\nA-1;Ana\n;\nA-2;Jan\n;;\n", encoding="utf-8")

    table = read_csv(path)

    assert len(table) == 2 and table.row_numbers.tolist() == [2, 4]
