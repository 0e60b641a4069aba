import numba
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from linkage.match import DicePairs, dice_pairs, popcounts

THRESHOLDS = st.one_of(
    st.sampled_from([1.0, 0.8, 0.75, 2 / 3, 0.5, 0.3, 0.05]),
    st.floats(min_value=0.001, max_value=1.0),
)


def brute_force(
    left: np.ndarray, right: np.ndarray | None, threshold: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Every pair's score from a dense matrix product, kept as dice_pairs defines it."""
    a = np.unpackbits(left, axis=1).astype(np.float64)  # BLAS; exact for counts < 2**53
    b = a if right is None else np.unpackbits(right, axis=1).astype(np.float64)
    common = (a @ b.T).astype(np.int64)
    total = a.sum(axis=1).astype(np.int64)[:, None] + b.sum(axis=1).astype(np.int64)[None, :]
    with np.errstate(divide="ignore", invalid="ignore"):
        score = 2.0 * common / total
    keep = (total > 0) & (score >= threshold)
    if right is None:
        keep &= np.triu(np.ones_like(keep), k=1)
    rows, cols = np.nonzero(keep)  # row-major: sorted by (left, right)
    return rows, cols, score[rows, cols]


def assert_same(pairs: DicePairs, expected: tuple[np.ndarray, np.ndarray, np.ndarray]) -> None:
    assert pairs.left.dtype == np.int64
    assert pairs.right.dtype == np.int64
    assert pairs.score.dtype == np.float64
    np.testing.assert_array_equal(pairs.left, expected[0])
    np.testing.assert_array_equal(pairs.right, expected[1])
    np.testing.assert_array_equal(pairs.score, expected[2])  # exactly: same float formula


def random_filters(rng: np.random.Generator, rows: int, width_bytes: int) -> np.ndarray:
    """Rows of varied fill, some empty or full, so popcounts span the whole range."""
    fill = rng.choice([0.0, 0.02, 0.1, 0.3, 0.5, 0.9, 1.0], size=(rows, 1))
    bits = rng.random((rows, width_bytes * 8)) < fill
    return np.packbits(bits, axis=1, bitorder="little")


def noisy_copies(rng: np.random.Generator, source: np.ndarray, rows: int) -> np.ndarray:
    """Copies of random source rows with bits flipped, dropped or added: pairs near any
    threshold, and subsets, for which the kernel's early bounds are exactly tight."""
    if not len(source):
        return random_filters(rng, rows, source.shape[1])
    picked = source[rng.integers(0, len(source), rows)]
    bits = rng.random((rows, source.shape[1] * 8)) < rng.choice([0.0, 0.01, 0.05, 0.2])
    noise = np.packbits(bits, axis=1, bitorder="little")
    return [picked ^ noise, picked & ~noise, picked | noise][rng.integers(3)]


def some_score(rng: np.random.Generator, left: np.ndarray, right: np.ndarray | None) -> float:
    """The score of a random pair that has one: a threshold no pair may miss by rounding."""
    _, _, scores = brute_force(left, right, 1e-9)
    return float(rng.choice(scores)) if len(scores) else 1.0


@st.composite
def linkage_inputs(draw: st.DrawFn) -> tuple[np.ndarray, np.ndarray, float]:
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    width_bytes = 8 * draw(st.integers(1, 32))  # 64 to 2048 bits
    left = random_filters(rng, draw(st.integers(0, 37)), width_bytes)
    right = np.concatenate(
        [
            random_filters(rng, draw(st.integers(0, 23)), width_bytes),
            noisy_copies(rng, left, draw(st.integers(0, 19))),
        ]
    )
    right = right[rng.permutation(len(right))]
    at_a_score = draw(st.booleans())
    return left, right, some_score(rng, left, right) if at_a_score else draw(THRESHOLDS)


@st.composite
def dedup_inputs(draw: st.DrawFn) -> tuple[np.ndarray, float]:
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    width_bytes = 8 * draw(st.integers(1, 32))
    base = random_filters(rng, draw(st.integers(0, 29)), width_bytes)
    filters = np.concatenate([base, noisy_copies(rng, base, draw(st.integers(0, 17)))])
    filters = filters[rng.permutation(len(filters))]
    at_a_score = draw(st.booleans())
    return filters, some_score(rng, filters, None) if at_a_score else draw(THRESHOLDS)


@settings(max_examples=150, deadline=None)
@given(linkage_inputs())
def test_linkage_finds_exactly_the_pairs_of_comparing_everything(
    inputs: tuple[np.ndarray, np.ndarray, float],
) -> None:
    left, right, threshold = inputs

    threaded = dice_pairs(left, right, threshold=threshold)
    serial = dice_pairs(left, right, threshold=threshold, threads=False)

    expected = brute_force(left, right, threshold)
    assert_same(threaded, expected)
    assert_same(serial, expected)


@settings(max_examples=150, deadline=None)
@given(dedup_inputs())
def test_deduplication_finds_each_pair_once_in_index_order(
    inputs: tuple[np.ndarray, float],
) -> None:
    filters, threshold = inputs

    pairs = dice_pairs(filters, threshold=threshold)

    assert_same(pairs, brute_force(filters, None, threshold))
    assert np.all(pairs.left < pairs.right)


@settings(max_examples=60, deadline=None)
@given(linkage_inputs())
def test_swapping_the_sides_transposes_the_pairs(
    inputs: tuple[np.ndarray, np.ndarray, float],
) -> None:
    left, right, threshold = inputs

    forward = dice_pairs(left, right, threshold=threshold)
    backward = dice_pairs(right, left, threshold=threshold)

    order = np.lexsort((backward.left, backward.right))
    np.testing.assert_array_equal(forward.left, backward.right[order])
    np.testing.assert_array_equal(forward.right, backward.left[order])
    np.testing.assert_array_equal(forward.score, backward.score[order])


@settings(max_examples=60, deadline=None)
@given(linkage_inputs())
def test_scores_are_at_least_the_threshold_and_at_most_one(
    inputs: tuple[np.ndarray, np.ndarray, float],
) -> None:
    left, right, threshold = inputs

    pairs = dice_pairs(left, right, threshold=threshold)

    assert np.all((pairs.score >= threshold) & (pairs.score <= 1.0))


def test_many_tiles_segments_and_buffer_growth_match_brute_force() -> None:
    # 64-bit filters: tiles of 1024 columns, items of 512 rows, and far more pairs than a
    # worker buffer first holds, so the resume-after-growth path runs on every thread.
    rng = np.random.default_rng(7)
    left = random_filters(rng, 1300, 8)
    right = np.concatenate([random_filters(rng, 900, 8), noisy_copies(rng, left, 700)])

    pairs = dice_pairs(left, right, threshold=0.6)
    serial = dice_pairs(left, right, threshold=0.6, threads=False)

    assert len(pairs) > 100_000
    assert_same(pairs, brute_force(left, right, 0.6))
    assert_same(serial, brute_force(left, right, 0.6))


def test_wide_filters_deduplicate_across_tiles_like_brute_force() -> None:
    # 1088 bits: 17 words, so four groups of four words, their checks, and one word more.
    rng = np.random.default_rng(11)
    base = random_filters(rng, 700, 136)
    filters = np.concatenate([base, noisy_copies(rng, base, 500)])

    pairs = dice_pairs(filters, threshold=0.7)

    assert_same(pairs, brute_force(filters, None, 0.7))


def test_thread_count_does_not_change_the_pairs() -> None:
    rng = np.random.default_rng(3)
    left = random_filters(rng, 600, 128)
    right = noisy_copies(rng, left, 800)
    reference = dice_pairs(left, right, threshold=0.5, threads=False)
    before = numba.get_num_threads()

    results = []
    for threads in range(1, numba.config.NUMBA_NUM_THREADS + 1):
        numba.set_num_threads(threads)
        try:
            results.append(dice_pairs(left, right, threshold=0.5))
        finally:
            numba.set_num_threads(before)

    for pairs in results:
        assert_same(pairs, (reference.left, reference.right, reference.score))


@pytest.mark.parametrize("width_bytes", [8, 40, 128, 136, 256])
def test_identical_filters_of_one_popcount_pair_at_threshold_one(width_bytes: int) -> None:
    # One popcount everywhere and copies: every early bound is exactly tight, none may drop.
    rng = np.random.default_rng(width_bytes)
    bits = np.zeros((300, width_bytes * 8), dtype=bool)
    bits[:, : width_bytes * 8 // 3] = True
    left = np.packbits(rng.permuted(bits, axis=1), axis=1, bitorder="little")
    right = left[rng.permutation(300)]

    pairs = dice_pairs(left, right, threshold=1.0)

    assert_same(pairs, brute_force(left, right, 1.0))
    assert len(pairs) >= 300


def test_a_score_equal_to_the_threshold_is_kept() -> None:
    left = np.packbits([[1, 1, 1, 1, 1, 0, 0, 0]], axis=1)  # 5 bits (64-bit filters below)
    right = np.packbits([[1, 1, 1, 1, 0, 1, 0, 0]], axis=1)  # 5 bits, 4 in common
    left, right = np.pad(left, ((0, 0), (0, 7))), np.pad(right, ((0, 0), (0, 7)))

    kept = dice_pairs(left, right, threshold=0.8)
    dropped = dice_pairs(left, right, threshold=np.nextafter(0.8, 1.0))

    assert kept.score.tolist() == [0.8]
    assert len(dropped) == 0


def test_empty_filters_never_pair() -> None:
    filters = np.zeros((3, 16), dtype=np.uint8)

    assert len(dice_pairs(filters, threshold=0.01)) == 0
    assert len(dice_pairs(filters, filters, threshold=1.0)) == 0


@pytest.mark.parametrize(("rows_left", "rows_right"), [(0, 5), (5, 0), (0, 0)])
def test_no_rows_give_no_pairs(rows_left: int, rows_right: int) -> None:
    pairs = dice_pairs(
        np.ones((rows_left, 128), np.uint8), np.ones((rows_right, 128), np.uint8), threshold=0.5
    )

    assert len(pairs) == 0
    assert pairs.left.dtype == pairs.right.dtype == np.int64
    assert pairs.score.dtype == np.float64


@pytest.mark.parametrize("threshold", [0.0, -0.1, 1.01, float("nan")])
def test_threshold_outside_zero_to_one_is_refused(threshold: float) -> None:
    with pytest.raises(ValueError, match="threshold"):
        dice_pairs(np.zeros((2, 8), np.uint8), threshold=threshold)


def test_filters_of_different_widths_are_refused() -> None:
    with pytest.raises(ValueError, match="same length"):
        dice_pairs(np.zeros((2, 8), np.uint8), np.zeros((2, 16), np.uint8), threshold=0.5)


def test_width_not_a_multiple_of_64_bits_is_refused() -> None:
    with pytest.raises(ValueError, match="multiple of 8"):
        dice_pairs(np.zeros((2, 12), np.uint8), threshold=0.5)


def test_popcounts_count_the_one_bits() -> None:
    rng = np.random.default_rng(5)
    filters = random_filters(rng, 50, 40)

    counts = popcounts(filters)

    np.testing.assert_array_equal(counts, np.unpackbits(filters, axis=1).sum(axis=1))
