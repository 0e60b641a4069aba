import mmap
import threading
from pathlib import Path

import numpy as np
import pytest

from keys import LinkageSecret, ReferenceKey
from linkage import encode as encode_module
from linkage.backend import Backend
from linkage.encode import (
    OnInvalid,
    encode_chunks,
    encode_records,
    encode_table,
    loading_encoders,
    normalize_column,
)
from linkage.errors import RecordError
from linkage.match import dice_pairs
from linkage.records import plan_columns, read_csv
from linkage.schema import load_schema
from tests.factories import fake_people, to_csv


def test_each_distinct_value_is_normalised_once(monkeypatch: pytest.MonkeyPatch) -> None:
    calls = []
    real = encode_module.normalize_value
    monkeypatch.setattr(
        encode_module, "normalize_value", lambda spec, raw: calls.append(raw) or real(spec, raw)
    )
    spec = load_schema().field("date_of_birth")

    values, invalid = normalize_column(
        spec, ["1-2-1980", "1-2-1980", "31-02-1980", "", "31-02-1980"]
    )

    assert values == ["1980-02-01", "1980-02-01", None, None, None]
    assert [index for index, _ in invalid] == [2, 4]
    assert sorted(calls) == ["", "1-2-1980", "31-02-1980"]


def test_invalid_values_are_rejected_blanked_or_fatal(secret: LinkageSecret) -> None:
    records = [
        {"given_names": "Ana", "surnames": "Silva", "date_of_birth": "31-02-1980"},
        {"given_names": "Jan", "surnames": "Bakker", "date_of_birth": "01-02-1980"},
    ]
    schema = load_schema()

    rejected = encode_records(records, schema, secret, on_invalid=OnInvalid.REJECT)
    blanked = encode_records(records, schema, secret)

    # Without a file, records are named as the lines of one under its header line: 2, 3, ...
    assert rejected.rows.tolist() == [3]
    assert blanked.rows.tolist() == [2, 3]
    assert [str(problem) for problem in rejected.problems] == [
        "line 2: field 'date_of_birth' is not a valid date (no such day or month)"
    ]
    assert blanked.missing["date_of_birth"] == 1
    with pytest.raises(RecordError, match="line 2: field 'date_of_birth'"):
        encode_records(records, schema, secret, on_invalid=OnInvalid.FAIL)


def test_problem_reports_never_contain_the_value(secret: LinkageSecret) -> None:
    records = [
        {
            "given_names": "Ana",
            "surnames": "Silva",
            "date_of_birth": "1980-13-45",
            "phone": "call me maybe",
            "sex": "unicorn",
        }
    ]

    result = encode_records(records, load_schema(), secret, on_invalid=OnInvalid.BLANK)

    text = " ".join(str(problem) for problem in result.problems)
    assert {problem.field for problem in result.problems} == {"date_of_birth", "phone", "sex"}
    for value in ("1980", "13-45", "call me", "unicorn"):
        assert value not in text


def test_variants_of_one_person_match_and_others_do_not(secret: LinkageSecret) -> None:
    records = [
        {
            "given_names": "María José",
            "surnames": "García Pérez",
            "date_of_birth": "07-03-1985",
            "sex": "F",
            "nationality": "colombiana",
            "city": "Rotterdam",
        },
        {
            "given_names": "MARIA JOSE",
            "surnames": "Garcia",
            "date_of_birth": "1985-07-03",
            "sex": "v",
            "nationality": "COL",
            "city": "rotterdam",
        },
        {
            "given_names": "Jan",
            "surnames": "de Vries",
            "date_of_birth": "12-11-1970",
            "sex": "M",
            "nationality": "NL",
            "city": "Breda",
        },
    ]

    filters = encode_records(records, load_schema("person-classic"), secret).filters
    pairs = dice_pairs(filters, threshold=0.7)

    assert list(zip(pairs.left.tolist(), pairs.right.tolist(), strict=True)) == [(0, 1)]


@pytest.mark.parametrize("backend", list(Backend))
def test_encoding_is_identical_on_one_or_several_processes(
    tmp_path: Path, secret: LinkageSecret, monkeypatch: pytest.MonkeyPatch, backend: Backend
) -> None:
    path = tmp_path / "people.csv"
    path.write_text(to_csv(fake_people(300, seed=3)), encoding="utf-8")
    table = read_csv(path)
    schema = load_schema()
    plan = plan_columns(table.header, schema, id_column="record_id")
    monkeypatch.setattr(encode_module, "CHUNK_ROWS", 64)
    seen: list[int] = []

    single = encode_table(table, plan, schema, secret, workers=1)
    double = encode_table(
        table, plan, schema, secret, workers=2, progress=seen.append, backend=backend
    )

    assert np.array_equal(single.filters, double.filters)
    assert single.comparisons is not None and double.comparisons is not None
    assert np.array_equal(single.comparisons, double.comparisons)
    assert np.array_equal(single.rows, double.rows)
    assert sum(seen) == 300
    assert len(seen) == 5


def _memory_of(array: np.ndarray) -> object:
    base: object = array
    while isinstance(base, np.ndarray) and base.base is not None:
        base = base.base
    return base.obj if isinstance(base, memoryview) else base


def test_forked_workers_write_comparisons_into_shared_memory(
    tmp_path: Path, secret: LinkageSecret, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Comparison encodings (about as large as the filters) are neither pickled back from
    # the workers nor concatenated: the batch reads the array the workers wrote.
    path = tmp_path / "people.csv"
    path.write_text(to_csv(fake_people(200, seed=5)), encoding="utf-8")
    table = read_csv(path)
    schema = load_schema()
    plan = plan_columns(table.header, schema, id_column="record_id")
    monkeypatch.setattr(encode_module, "CHUNK_ROWS", 64)
    monkeypatch.setattr(encode_module, "_start_method", lambda: "fork")

    double = encode_table(table, plan, schema, secret, workers=2)

    assert double.comparisons is not None
    assert isinstance(_memory_of(double.comparisons), mmap.mmap)
    assert isinstance(_memory_of(double.filters), mmap.mmap)


def test_records_left_out_by_workers_close_up_as_on_one_process(
    tmp_path: Path, secret: LinkageSecret, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Forked workers write filters into shared memory at their chunk's start; rejected
    # records leave gaps there that must not reach the batch.
    people = fake_people(300, seed=4)
    for index in (3, 70, 71, 150, 299):
        people[index]["date_of_birth"] = "31-02-1999"
    path = tmp_path / "people.csv"
    path.write_text(to_csv(people), encoding="utf-8")
    table = read_csv(path)
    schema = load_schema()
    plan = plan_columns(table.header, schema, id_column="record_id")
    monkeypatch.setattr(encode_module, "CHUNK_ROWS", 64)

    single = encode_table(table, plan, schema, secret, on_invalid=OnInvalid.REJECT)
    double = encode_table(table, plan, schema, secret, on_invalid=OnInvalid.REJECT, workers=2)

    assert len(double.rows) == 295
    assert np.array_equal(single.filters, double.filters)
    assert np.array_equal(single.rows, double.rows)
    assert single.comparisons is not None and double.comparisons is not None
    assert np.array_equal(single.comparisons, double.comparisons)
    assert single.references == double.references


@pytest.mark.parametrize("workers", [1, 2])
def test_chunks_are_the_table_encoded_in_order_each_in_its_own_memory(
    tmp_path: Path, secret: LinkageSecret, monkeypatch: pytest.MonkeyPatch, workers: int
) -> None:
    people = fake_people(300, seed=4)
    for index in (3, 70, 71, 150, 299):
        people[index]["date_of_birth"] = "31-02-1999"
    path = tmp_path / "people.csv"
    path.write_text(to_csv(people), encoding="utf-8")
    table = read_csv(path)
    schema = load_schema()
    plan = plan_columns(table.header, schema, id_column="record_id")
    monkeypatch.setattr(encode_module, "CHUNK_ROWS", 64)
    monkeypatch.setattr(encode_module, "_start_method", lambda: "fork")
    ref_key = ReferenceKey("politie", bytes(32))
    whole = encode_table(table, plan, schema, secret, on_invalid=OnInvalid.REJECT, ref_key=ref_key)

    chunks = list(
        encode_chunks(
            table,
            plan,
            schema,
            secret,
            on_invalid=OnInvalid.REJECT,
            ref_key=ref_key,
            workers=workers,
        )
    )

    assert [len(chunk.rows) for chunk in chunks] == [63, 62, 63, 64, 43]
    assert np.array_equal(np.concatenate([c.filters for c in chunks]), whole.filters)
    assert whole.comparisons is not None
    assert np.array_equal(np.concatenate([c.comparisons for c in chunks]), whole.comparisons)
    assert sum((c.references for c in chunks), ()) == whole.references
    # Copied out of the workers' shared memory, whose pages were given back.
    assert not any(isinstance(_memory_of(c.filters), mmap.mmap) for c in chunks)


def test_released_shared_rows_free_their_whole_pages() -> None:
    rows = encode_module._shared_rows(10, 1000)
    rows[:] = 1

    encode_module._release_rows(rows, 0, 5)  # 5,000 bytes: the first page and some
    encode_module._release_rows(rows, 5, 9)  # from the page row 5 starts in to row 9's

    flat = rows.reshape(-1)
    assert not flat[: 2 * mmap.PAGESIZE].any()
    assert flat[2 * mmap.PAGESIZE :].all()  # the page row 9 ends in holds row 9 still


@pytest.mark.parametrize(("backend", "loads"), [(Backend.VECTORIZED, 0), (Backend.COMPILED, 1)])
def test_only_the_compiled_backend_is_loaded_beside_reading(
    secret: LinkageSecret, monkeypatch: pytest.MonkeyPatch, backend: Backend, loads: int
) -> None:
    loaded: list[str] = []
    monkeypatch.setattr(
        encode_module, "_load_quietly", lambda *_: loaded.append(threading.current_thread().name)
    )

    with loading_encoders(load_schema(), secret, backend):
        pass

    assert loaded == ["fieldlink-load-encoders"] * loads


@pytest.mark.parametrize(
    ("rows", "size_bytes", "backend"),
    [
        (5_000, 465_000, Backend.VECTORIZED),  # FEBRL4 A
        (1_000_000, 93_000_000, Backend.COMPILED),
    ],
)
def test_small_inputs_are_encoded_with_numpy_large_ones_compiled(
    rows: int, size_bytes: int, backend: Backend
) -> None:
    assert Backend.for_rows(rows) is backend
    assert Backend.for_csv_bytes(size_bytes) is backend
