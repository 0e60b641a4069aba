"""`bands` comparison slots: keyed MinHash bands of the q-grams, levels like bloom."""

import numpy as np

from keys import LinkageSecret
from linkage.backend import Backend
from linkage.comparisons import ComparisonEncoder, comparison_layout
from linkage.encode import Encoders
from linkage.match.levels import LevelPlan, pair_levels
from linkage.schema import ComparisonMethod, load_schema
from linkage.vectorized.bands import BANDS, band_tokens
from linkage.vectorized.tokens import TokenHashes

SECRET = LinkageSecret(project="p", value=bytes(range(32)))


def _unsalted_person():  # type: ignore[no-untyped-def]
    schema = load_schema()
    hardening = schema.hardening.model_copy(update={"salt_families": (), "group_filters": False})
    return schema.model_copy(update={"hardening": hardening})


def _first_given(names: list[str], backend: Backend) -> tuple[np.ndarray, object]:
    schema = _unsalted_person()
    encoder = ComparisonEncoder(schema, SECRET, backend=backend)
    columns = [[None] * len(names) for _ in schema.fields]
    columns[schema.field_names.index("given_names")] = list(names)
    words = encoder.encode(columns, threads=False)
    return words.view(np.uint64).reshape(len(names), -1), encoder.layout


def _dice(words: np.ndarray, layout: object, a: int, b: int) -> float:
    entry = next(e for e in layout.entries if e.name == "first_given")  # type: ignore[attr-defined]
    x = words[a, entry.offset : entry.offset + entry.words]
    y = words[b, entry.offset : entry.offset + entry.words]
    ones = lambda v: int(np.unpackbits(v.view(np.uint8)).sum())  # noqa: E731
    return 2 * ones(x & y) / (ones(x) + ones(y))


def test_the_default_schema_compares_names_by_bands() -> None:
    methods = {spec.name: spec.method for spec in load_schema().comparisons}
    assert methods["first_given"] is ComparisonMethod.BANDS
    assert methods["first_surname"] is ComparisonMethod.BANDS
    assert methods["phone"] is ComparisonMethod.EXACT


def test_equal_names_agree_typos_partly_and_other_names_hardly() -> None:
    names = ["cristina", "cristina", "cristine", "kristina", "margarita", "fernanda"]
    words, layout = _first_given(names, Backend.VECTORIZED)

    assert _dice(words, layout, 0, 1) == 1.0
    assert 0.15 <= _dice(words, layout, 0, 2) < 0.9
    assert 0.15 <= _dice(words, layout, 0, 3) < 0.9
    assert _dice(words, layout, 0, 4) < 0.15 and _dice(words, layout, 4, 5) < 0.15


def test_both_encoders_write_the_same_band_slots() -> None:
    names = ["cristina", "jose maria", "ana", "", "wilhelmina"]
    numpy_words, _ = _first_given(names, Backend.VECTORIZED)
    compiled_words, _ = _first_given(names, Backend.COMPILED)
    assert (numpy_words == compiled_words).all()


def test_band_tokens_depend_on_the_set_not_the_order() -> None:
    hashes = np.array([5, 9, 1, 7, 3, 11], dtype=np.uint64)
    owners = np.array([0, 0, 0, 1, 1, 1], dtype=np.int64)
    tokens = band_tokens(TokenHashes(owners=owners, hashes=hashes))
    shuffled = band_tokens(TokenHashes(owners=owners[::-1].copy(), hashes=hashes[::-1].copy()))

    assert len(tokens.hashes) == 2 * BANDS
    by_owner = {o: sorted(tokens.hashes[tokens.owners == o].tolist()) for o in (0, 1)}
    again = {o: sorted(shuffled.hashes[shuffled.owners == o].tolist()) for o in (0, 1)}
    assert by_owner == again and by_owner[0] != by_owner[1]


def test_band_slots_get_bloom_like_levels() -> None:
    names = ["cristina", "cristina", "kristina", "margarita"]
    words, _ = _first_given(names, Backend.VECTORIZED)
    plan = LevelPlan.of(comparison_layout(_unsalted_person()))
    levels = pair_levels(plan, words, np.array([0, 0, 0]), np.array([1, 2, 3]))
    index = plan.layout.index("first_given")

    assert levels[:, index].tolist()[0] == 4  # agree
    assert levels[0, index] > levels[1, index] > levels[2, index] >= 1


def test_both_encoders_write_the_same_salted_band_slots() -> None:
    # The compiled encoder writes bands slots itself (`linkage.compiled.bands`); salted,
    # of several words, first and rest parts, letters beyond ASCII, one letter, missing.
    schema = load_schema()
    given: list[str | None] = ["cristina", "jose maria", "ana", "", "wilhelmina", "øyvind", "a"]
    given.append("ünï ü")
    surnames: list[str | None] = ["garcia perez", "de la cruz", "x", "smit", "", "ødegård", "li"]
    surnames.append("van der berg")
    dates: list[str | None] = ["1985-03-07", "1985-07-03", "2001-12-31", "1985-03-07"] * 2
    columns: list[list[str | None]] = [[None] * len(given) for _ in schema.fields]
    names = schema.field_names
    columns[names.index("given_names")] = given
    columns[names.index("surnames")] = surnames
    columns[names.index("date_of_birth")] = dates
    comparisons = {
        backend: Encoders.of(schema, SECRET, backend=backend).encode(columns, threads=False)[1]
        for backend in Backend
    }
    numpy_words, compiled_words = comparisons[Backend.VECTORIZED], comparisons[Backend.COMPILED]
    assert numpy_words is not None and compiled_words is not None
    assert numpy_words.any() and (numpy_words == compiled_words).all()
