import random

import numpy as np

from keys import LinkageSecret
from linkage.comparisons import comparison_layout
from linkage.encode import encode_records
from linkage.match.layout import ComparisonLayout
from linkage.match.levels import LEVEL_NAMES, LevelPlan, pair_levels
from linkage.schema import load_schema

SECRET = LinkageSecret(project="levels", value=bytes(range(32)))
BASE = {
    "given_names": "Maria Jose",
    "surnames": "Garcia Lopez",
    "date_of_birth": "1985-03-07",
    "phone": "06-12345678",
    "postcode": "3011 AA",
    "document_number": "NX12345",
}


def encoded(records: list[dict[str, str]]) -> np.ndarray:
    values = encode_records(records, load_schema("person-classic"), SECRET).comparisons
    assert values is not None
    return values.view(np.uint64)


def levels_of(records: list[dict[str, str]]) -> dict[str, str]:
    """Level names of records[0] against records[1]."""
    layout = comparison_layout(load_schema("person-classic"))
    found = pair_levels(LevelPlan.of(layout), encoded(records), np.array([0]), np.array([1]))[0]
    return {
        entry.name: LEVEL_NAMES[entry.method][level]
        for entry, level in zip(layout.entries, found.tolist(), strict=True)
    }


def reference_levels(layout: ComparisonLayout, a: np.ndarray, b: np.ndarray) -> list[int]:
    """The levels as the module docstring defines them, in plain Python."""

    def present(row: np.ndarray, index: int) -> bool:
        return bool(int(row[0]) >> index & 1)

    def dice(index: int, other: int) -> float:
        if not (present(a, index) and present(b, other)):
            return -1.0
        x, y = layout.entries[index], layout.entries[other]
        bits_a = [bin(int(w)).count("1") for w in a[x.offset : x.offset + x.words]]
        bits_b = [bin(int(w)).count("1") for w in b[y.offset : y.offset + y.words]]
        both = [
            bin(int(p) & int(q)).count("1")
            for p, q in zip(
                a[x.offset : x.offset + x.words], b[y.offset : y.offset + y.words], strict=True
            )
        ]
        total = sum(bits_a) + sum(bits_b)
        return 2.0 * sum(both) / total if total else 0.0

    names = layout.names
    partner = [names.index(e.crosswise) if e.crosswise else -1 for e in layout.entries]
    straight = sum(max(dice(i, i), 0.0) for i in range(len(names)) if partner[i] >= 0)
    crossed = sum(max(dice(i, partner[i]), 0.0) for i in range(len(names)) if partner[i] >= 0)
    out = []
    for index, entry in enumerate(layout.entries):
        if entry.method == "bloom":
            other = partner[index] if crossed > straight and partner[index] >= 0 else index
            value = dice(index, other)
            out.append(0 if value < 0 else 1 + sum(value >= cut for cut in (0.5, 0.7, 0.9)))
            continue
        if not (present(a, index) and present(b, index)):
            out.append(0)
            continue
        x, y = a[entry.offset : entry.offset + entry.words], b[entry.offset :]
        if entry.method == "exact":
            out.append(2 if x[0] == y[0] else 1)
        elif x[0] == y[0]:
            out.append(4)
        elif x[0] == y[1] or x[1] == y[0]:
            out.append(3)
        else:
            parts = [(int(x[2]) >> s & 0xFF) == (int(y[2]) >> s & 0xFF) for s in (0, 8, 16)]
            out.append(2 if any(parts) else 1)
    return out


def variant(rng: random.Random) -> dict[str, str]:
    record = dict(BASE)
    for name in list(record):
        if rng.random() < 0.25:
            del record[name]
    if rng.random() < 0.3 and "given_names" in record and "surnames" in record:
        record["given_names"], record["surnames"] = record["surnames"], record["given_names"]
    if rng.random() < 0.3 and "given_names" in record:
        record["given_names"] = rng.choice(["Mario Jose", "Marta", "Jose", "Maria Josefa"])
    if rng.random() < 0.3 and "date_of_birth" in record:
        record["date_of_birth"] = rng.choice(["1985-07-03", "1985-03-08", "1958-03-07"])
    return record


def test_the_kernel_gives_the_reference_levels() -> None:
    rng = random.Random(7)
    records = [variant(rng) for _ in range(60)]
    values = encoded(records)
    layout = comparison_layout(load_schema("person-classic"))
    left, right = np.array([i for i in range(60) for _ in range(60)]), np.tile(np.arange(60), 60)

    found = pair_levels(LevelPlan.of(layout), values, left, right)

    expected = [
        reference_levels(layout, values[a], values[b]) for a, b in zip(left, right, strict=True)
    ]
    assert found.tolist() == expected


def test_identical_records_agree_on_everything_they_hold() -> None:
    assert set(levels_of([BASE, BASE]).values()) == {"agree"}


def test_a_missing_value_is_missing_not_a_disagreement() -> None:
    without_phone = {k: v for k, v in BASE.items() if k != "phone"}

    levels = levels_of([BASE, without_phone])

    assert levels["phone"] == "missing"
    assert levels["date_of_birth"] == "agree"


def test_names_written_the_other_way_round_still_agree() -> None:
    swapped = BASE | {"given_names": BASE["surnames"], "surnames": BASE["given_names"]}

    levels = levels_of([BASE, swapped])

    assert levels["first_given"] == levels["first_surname"] == "agree"
    assert levels["other_given"] == levels["other_surnames"] == "agree"


def test_a_date_with_day_and_month_swapped_is_its_own_level() -> None:
    assert levels_of([BASE, BASE | {"date_of_birth": "1985-07-03"}])["date_of_birth"] == "swapped"
    assert levels_of([BASE, BASE | {"date_of_birth": "1985-03-09"}])["date_of_birth"] == "partial"
    assert levels_of([BASE, BASE | {"date_of_birth": "1990-11-21"}])["date_of_birth"] == "disagree"


def test_a_typo_in_a_name_is_close_not_agree() -> None:
    levels = levels_of([BASE, BASE | {"surnames": "Garcai Lopez"}])

    assert levels["first_surname"] in ("close", "partial")
    assert levels["other_surnames"] == "agree"
