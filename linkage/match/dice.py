"""All-pairs Dice similarity on packed Bloom filters, compiled; returns only pairs >= t.

Dice(a, b) = 2 |a AND b| / (|a| + |b|), computed as ``2.0 * common / total`` in float64 and
kept when it is ``>= threshold``; two empty filters have no score and never pair. Every
shortcut below is exact under that definition: it skips only pairs whose score, computed
that way, is provably below the threshold, so the pairs and scores are those of comparing
everything.

Layout ("tiled, word-major"): both sides are sorted by popcount. The right side is cut into
tiles of up to 1024 filters, each copied word-major (words x filters), so one word of every
filter of a tile is contiguous. A block of 4 left filters meets a tile 4 words at a time,
adding ``popcount(left_word & tile[word, j])`` into counts contiguous in j: LLVM vectorises
that loop with the CPU's vector popcount (VPOPCNTQ on AVX-512 VPOPCNTDQ machines, else
POPCNT or a shuffle table). Four rows by four words share every tile load and every
broadcast, so the loop is bound by popcounts rather than memory.

Pruning, from upper bounds on the score:

1. Counts. Dice >= t needs 2 min(|a|, |b|) / (|a| + |b|) >= t, so each count has an
   interval of partner counts; with both sides sorted, a tile's partners are one range of
   left rows, and no other row is read.
2. Partial intersections. After some words, |a AND b| <= the common bits so far +
   min(bits of a still to compare, bits of b still to compare). The loop also keeps each
   row's largest count, so after every 4 words a block none of whose pairs can still
   reach the threshold is dropped, for a few instructions. Unrelated filters drop long
   before the last word: at t = 0.8 with 30% of bits set, after half of them.

Threads: work items (a tile and up to `_SEGMENT_ROWS` left rows) are taken from a shared
atomic counter by one worker per numba thread, each with its own output buffer. A worker
whose buffer is full stops before the item that did not fit; the buffers are doubled and
that item done first in the next round. Memory follows the inputs and the pairs found,
never n x m. Results are sorted by (left, right) at the end, so they do not depend on
which thread found what.
"""

from collections.abc import Callable
from dataclasses import dataclass
from typing import NamedTuple, Self, TypeVar, cast

import numba
import numpy as np
import numpy.typing as npt
from numba import njit, prange, types
from numba.extending import intrinsic

_BLOCK_ROWS = 4  # left rows per block: 4 rows x 4 words of broadcasts fit the registers
_BLOCK_WORDS = 4
_TILE_BYTES = 128 * 1024  # 1024 filters of 1024 bits: from L2, and the loop runs long
_SEGMENT_ROWS = 512  # left rows per work item: many items, so threads stay balanced
_FIRST_CAPACITY = 1 << 14  # pairs per worker buffer before the first doubling

_Item = TypeVar("_Item", bound=np.generic)


@dataclass(frozen=True, slots=True)
class DicePairs:
    """Pairs at or above the threshold, as parallel arrays (no Python object per pair)."""

    left: npt.NDArray[np.int64]
    right: npt.NDArray[np.int64]
    score: npt.NDArray[np.float64]

    def __len__(self) -> int:
        return len(self.left)


class _Side(NamedTuple):
    """One side, sorted by popcount, as the kernel reads it."""

    words: npt.NDArray[np.uint64]  # rows x words; the left side has _BLOCK_ROWS zero rows more
    counts: npt.NDArray[np.int64]  # ascending; no entries for the padding rows
    rest: npt.NDArray[np.int64]  # checks x rows: bits after word 4 (k + 1), for check k
    order: npt.NDArray[np.int64]  # sorted row -> caller's row


class _Plan(NamedTuple):
    """What every worker shares besides the two sides."""

    items: npt.NDArray[np.int64]  # items x (first col, end col, first row, end row)
    need: npt.NDArray[np.int64]  # |a| + |b| -> fewest common bits that can pass
    threshold: float
    upper: bool  # deduplication: keep sorted row < sorted column only
    tile_cols: int


def _ctpop(typingctx, word):
    # llvm.ctpop: POPCNT per word, VPOPCNTQ once LLVM vectorises the loop around it.
    if word != types.uint64:
        return None

    def codegen(context, builder, signature, args):
        return builder.ctpop(args[0])

    return types.int64(types.uint64), codegen


def _fetch_add_one(typingctx, counter):
    # Atomic fetch-and-add on counter[0]: hands out work items to the threads.
    if not (isinstance(counter, types.Array) and counter.dtype == types.int64):
        return None

    def codegen(context, builder, signature, args):
        array = context.make_array(signature.args[0])(context, builder, args[0])
        one = context.get_constant(types.int64, 1)
        return builder.atomic_rmw("add", array.data, one, "monotonic")

    return types.int64(counter), codegen


# numba's stubs type an intrinsic as a call with typingctx; compiled code passes one value.
_popcount = cast(Callable[[int], int], intrinsic(_ctpop))
_take = cast(Callable[[npt.NDArray[np.int64]], int], intrinsic(_fetch_add_one))


@njit(parallel=True, cache=True)
def _counts(words):
    out = np.zeros(words.shape[0], dtype=np.int64)
    for row in prange(words.shape[0]):
        total = 0
        for index in range(words.shape[1]):
            total += _popcount(words[row, index])
        out[row] = total
    return out


@njit(cache=True)
def _counts_from(words, first_word):
    # Serial: a pass over the inputs, a few hundred microseconds for 20,000 filters.
    out = np.zeros(words.shape[0], dtype=np.int64)
    for row in range(words.shape[0]):
        for index in range(first_word, words.shape[1]):
            out[row] += _popcount(words[row, index])
    return out


@njit(cache=True)
def _passes(common, total, threshold):
    # The one definition of a match; every bound in this module is derived from it.
    return total > 0 and 2.0 * common / total >= threshold


@njit(cache=True)
def _need_table(bits, threshold):
    """need[total]: fewest common bits that pass when |a| + |b| = total (total + 1: none)."""
    need = np.empty(2 * bits + 1, dtype=np.int64)
    for total in range(2 * bits + 1):
        common = min(int(threshold * total / 2.0), total)
        while common > 0 and _passes(common - 1, total, threshold):
            common -= 1
        while common <= total and not _passes(common, total, threshold):
            common += 1
        need[total] = common
    return need


@njit(cache=True)
def _partner_counts(bits, threshold):
    """lo[c], hi[c]: the counts b for which a pair (c, b) can pass; none when hi < lo."""
    lo = np.ones(bits + 1, dtype=np.int64)
    hi = np.zeros(bits + 1, dtype=np.int64)
    for count in range(1, bits + 1):
        # 2 min(c, b) / (c + b) rises with b up to b = c (where it is 1), then falls.
        low, high = 0, count
        while low < high:
            middle = (low + high) // 2
            if _passes(middle, count + middle, threshold):
                high = middle
            else:
                low = middle + 1
        lo[count] = low
        low, high = count, bits
        while low < high:
            middle = (low + high + 1) // 2
            if _passes(count, count + middle, threshold):
                low = middle
            else:
                high = middle - 1
        hi[count] = low
    return lo, hi


@njit(cache=True)
def _plan_items(left_counts, right_counts, threshold, bits, tile_cols, upper):
    """Items (first col, end col, first row, end row) that the popcounts do not rule out."""
    lo, hi = _partner_counts(bits, threshold)
    cols = right_counts.shape[0]
    found = []
    for first_col in range(0, cols, tile_cols):
        end_col = min(first_col + tile_cols, cols)
        # Sorted counts: the partners of the whole tile are one contiguous range of rows.
        first_row = np.searchsorted(left_counts, lo[right_counts[first_col]], side="left")
        end_row = np.searchsorted(left_counts, hi[right_counts[end_col - 1]], side="right")
        if upper:
            end_row = min(end_row, end_col - 1)
        for row in range(first_row, end_row, _SEGMENT_ROWS):
            found.append((first_col, end_col, row, min(row + _SEGMENT_ROWS, end_row)))
    items = np.empty((len(found), 4), dtype=np.int64)
    for index, item in enumerate(found):
        items[index, 0], items[index, 1], items[index, 2], items[index, 3] = item
    return items


# The per-block functions below index arrays rather than slicing them: a numba view costs
# two atomic reference-count updates, as much as comparing a few hundred word pairs.


@njit(cache=True)
def _pack_tile(right, first_col, end_col, tile, tile_rest):
    """Copy a tile word-major; tile_rest[k]: the most bits any of its filters has after k."""
    tile_rest[:] = 0
    for j in range(end_col - first_col):
        for word in range(right.words.shape[1]):
            tile[word, j] = right.words[first_col + j, word]
        for check in range(right.rest.shape[0]):
            tile_rest[check] = max(tile_rest[check], right.rest[check, first_col + j])


@njit(cache=True)
def _four_words(words, row, word):
    return words[row, word], words[row, word + 1], words[row, word + 2], words[row, word + 3]


@njit(cache=True)
def _common(left, tile0, tile1, tile2, tile3):
    return (
        _popcount(left[0] & tile0)
        + _popcount(left[1] & tile1)
        + _popcount(left[2] & tile2)
        + _popcount(left[3] & tile3)
    )


@njit(cache=True)
def _add_four_words(words, row, word, tile, cols, acc, best):
    """acc[r, j] += |words[row + r, word:word + 4] AND tile[word:word + 4, j]| for r < 4.

    Also best[r] = max_j acc[r, j], for the checks: a max in the same loop costs one
    instruction per vector, a second pass over acc a load and a max.
    """
    # Loaded before the loop: LLVM cannot hoist them past the stores into acc.
    left0, left1 = _four_words(words, row, word), _four_words(words, row + 1, word)
    left2, left3 = _four_words(words, row + 2, word), _four_words(words, row + 3, word)
    best0 = best1 = best2 = best3 = 0
    for j in range(cols):  # vectorised over j; each tile word is loaded once for 4 rows
        tile0, tile1, tile2, tile3 = (
            tile[word, j],
            tile[word + 1, j],
            tile[word + 2, j],
            tile[word + 3, j],
        )
        sum0 = acc[0, j] + _common(left0, tile0, tile1, tile2, tile3)
        sum1 = acc[1, j] + _common(left1, tile0, tile1, tile2, tile3)
        sum2 = acc[2, j] + _common(left2, tile0, tile1, tile2, tile3)
        sum3 = acc[3, j] + _common(left3, tile0, tile1, tile2, tile3)
        acc[0, j], acc[1, j], acc[2, j], acc[3, j] = sum0, sum1, sum2, sum3
        best0, best1 = max(best0, sum0), max(best1, sum1)
        best2, best3 = max(best2, sum2), max(best3, sum3)
    best[0], best[1], best[2], best[3] = best0, best1, best2, best3


@njit(cache=True)
def _add_one_word(words, row, word, tile, cols, acc, best):
    # The last 1 to 3 words of filters whose width is not a multiple of 256 bits.
    for block_row in range(_BLOCK_ROWS):
        left_word = words[row + block_row, word]
        top = 0
        for j in range(cols):
            acc[block_row, j] += _popcount(left_word & tile[word, j])
            top = max(top, acc[block_row, j])
        best[block_row] = top


@njit(cache=True)
def _may_pass(best, left_rest, check, row, tile_rest, floor):
    """Whether some pair of the block may still pass, given the bits not yet compared.

    A pair can gain at most min(bits left in a, bits left in b) more common bits; b is
    bounded by the tile's largest rest. floor[r] is row r's need with the tile's emptiest
    filter, a lower bound for the whole tile because the need grows with |a| + |b|.
    """
    for block_row in range(_BLOCK_ROWS):
        gain = min(left_rest[check, row + block_row], tile_rest[check])
        if best[block_row] + gain >= floor[block_row]:
            return True
    return False


@njit(cache=True)
def _compare_block(left, row, cols, scratch):
    """Common bits of a block and a tile into acc; False when a check dropped the block."""
    tile, tile_rest, acc, floor, best = scratch
    for block_row in range(_BLOCK_ROWS):
        for j in range(cols):
            acc[block_row, j] = 0
    words = left.words.shape[1]
    full = words - words % _BLOCK_WORDS
    for word in range(0, full, _BLOCK_WORDS):
        _add_four_words(left.words, row, word, tile, cols, acc, best)
        check = word // _BLOCK_WORDS  # after every group of four words but the last
        if check < tile_rest.shape[0] and not _may_pass(
            best, left.rest, check, row, tile_rest, floor
        ):
            return False
    for word in range(full, words):
        _add_one_word(left.words, row, word, tile, cols, acc, best)
    return True


@njit(cache=True)
def _block_floor(left, right, plan, row, end_row, first_col, floor):
    # Rows past the item's end belong to other items (or are padding): they never pass.
    never = 2 * left.words.shape[1] * 64 + 2
    for block_row in range(_BLOCK_ROWS):
        if row + block_row < end_row:
            total = left.counts[row + block_row] + right.counts[first_col]
            floor[block_row] = plan.need[total]
        else:
            floor[block_row] = never


@njit(cache=True)
def _emit(acc, best, cols, row, first_col, left, right, plan, floor, out, size):
    """Append the block's passing pairs to out; -1 when they do not fit."""
    for block_row in range(_BLOCK_ROWS):
        if best[block_row] < floor[block_row]:  # almost every row that gets here stops here
            continue
        sorted_row = row + block_row
        for j in range(cols):
            common, column = acc[block_row, j], first_col + j
            if common < floor[block_row] or (plan.upper and column <= sorted_row):
                continue
            total = left.counts[sorted_row] + right.counts[column]
            if _passes(common, total, plan.threshold):
                if size == out[0].shape[0]:
                    return -1
                out[0][size], out[1][size], out[2][size] = sorted_row, column, 2.0 * common / total
                size += 1
    return size


@njit(cache=True)
def _scan_item(items, index, left, right, plan, scratch, out, size):
    """Compare one item; the new buffer size, or -1 when its pairs do not fit."""
    first_col, end_col = items[index, 0], items[index, 1]
    first_row, end_row = items[index, 2], items[index, 3]
    cols = end_col - first_col
    acc, floor, best = scratch[2], scratch[3], scratch[4]
    for row in range(first_row, end_row, _BLOCK_ROWS):
        _block_floor(left, right, plan, row, end_row, first_col, floor)
        if _compare_block(left, row, cols, scratch):
            size = _emit(acc, best, cols, row, first_col, left, right, plan, floor, out, size)
            if size < 0:
                return -1
    return size


@njit(cache=True)
def _work(worker, next_item, pending, size, left, right, plan, out):
    """Take items until none is left or one does not fit; returns the buffer size.

    Items are taken from the shared counter as workers become free, so a worker that drew
    expensive items is not left running alone at the end. An item that did not fit is
    left in pending[worker], to be done first once the buffers have grown.
    """
    items = plan.items
    scratch = (
        np.empty((right.words.shape[1], plan.tile_cols), dtype=np.uint64),  # tile
        np.empty(right.rest.shape[0], dtype=np.int64),  # its largest rest per check
        np.empty((_BLOCK_ROWS, plan.tile_cols), dtype=np.int64),  # common bits
        np.empty(_BLOCK_ROWS, dtype=np.int64),  # need floor per row
        np.empty(_BLOCK_ROWS, dtype=np.int64),  # most common bits per row
    )
    packed = -1
    index = pending[worker] if pending[worker] >= 0 else _take(next_item)
    pending[worker] = -1
    while index < items.shape[0]:
        if items[index, 0] != packed:  # items are in tile order: consecutive ones share it
            packed = items[index, 0]
            _pack_tile(right, items[index, 0], items[index, 1], scratch[0], scratch[1])
        found = _scan_item(items, index, left, right, plan, scratch, out, size)
        if found < 0:
            pending[worker] = index
            break
        size = found
        index = _take(next_item)
    return size


class _Buffers(NamedTuple):
    """Each worker's output (a row per worker), and the shared item counter."""

    rows: npt.NDArray[np.int64]  # workers x capacity: sorted left row of each pair
    cols: npt.NDArray[np.int64]  # sorted right row
    scores: npt.NDArray[np.float64]
    sizes: npt.NDArray[np.int64]  # pairs in each worker's row
    next_item: npt.NDArray[np.int64]  # one value, taken atomically
    pending: npt.NDArray[np.int64]  # per worker: the item that did not fit, or -1

    @classmethod
    def empty(cls, workers: int) -> Self:
        shape = (workers, _FIRST_CAPACITY)
        return cls(
            rows=np.empty(shape, dtype=np.int64),
            cols=np.empty(shape, dtype=np.int64),
            scores=np.empty(shape, dtype=np.float64),
            sizes=np.zeros(workers, dtype=np.int64),
            next_item=np.zeros(1, dtype=np.int64),
            pending=np.full(workers, -1, dtype=np.int64),
        )

    def doubled(self) -> Self:
        return self._replace(
            rows=_doubled(self.rows), cols=_doubled(self.cols), scores=_doubled(self.scores)
        )


def _doubled(buffer: npt.NDArray[_Item]) -> npt.NDArray[_Item]:
    out = np.empty((buffer.shape[0], 2 * buffer.shape[1]), dtype=buffer.dtype)
    out[:, : buffer.shape[1]] = buffer
    return out


@njit(cache=True)
def _fill(worker, buffers, left, right, plan):
    out = (buffers.rows[worker], buffers.cols[worker], buffers.scores[worker])
    size = buffers.sizes[worker]
    size = _work(worker, buffers.next_item, buffers.pending, size, left, right, plan, out)
    buffers.sizes[worker] = size


# Two functions, not two compilations of one: numba's cache keys an entry by the Python
# function and the signature, not the parallel flag, so a second compilation of the same
# function would load whichever was cached first. The serial one starts no OpenMP threads,
# for callers in worker processes (where idle OpenMP threads spin on the other cores).
@njit(parallel=True, cache=True)
def _round_threaded(buffers, left, right, plan):
    for worker in prange(buffers.sizes.shape[0]):  # one iteration per thread
        _fill(worker, buffers, left, right, plan)


@njit(cache=True)
def _round_serial(buffers, left, right, plan):
    _fill(0, buffers, left, right, plan)


def _scan(
    left: _Side, right: _Side, plan: _Plan, threads: bool
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64], npt.NDArray[np.float64]]:
    run_round = _round_threaded if threads else _round_serial
    buffers = _Buffers.empty(numba.get_num_threads() if threads else 1)
    run_round(buffers, left, right, plan)
    while buffers.pending.max() >= 0:  # an item did not fit: double every buffer, go on
        buffers = buffers.doubled()
        run_round(buffers, left, right, plan)
    return _collect(buffers, left.order, right.order, plan.upper)  # type: ignore[no-any-return]


@njit(cache=True)
def _callers_pair(buffers, worker, index, left_order, right_order, upper):
    left = left_order[buffers.rows[worker, index]]
    right = right_order[buffers.cols[worker, index]]
    return (right, left) if upper and right < left else (left, right)


@njit(cache=True)
def _collect(buffers, left_order, right_order, upper):
    """Caller's indices, ordered by (left, right): a counting sort on left, then per row."""
    starts = np.zeros(left_order.shape[0] + 1, dtype=np.int64)
    for worker in range(buffers.sizes.shape[0]):
        for index in range(buffers.sizes[worker]):
            left, _ = _callers_pair(buffers, worker, index, left_order, right_order, upper)
            starts[left + 1] += 1
    starts = np.cumsum(starts)
    place = starts[:-1].copy()
    out_left = np.empty(starts[-1], dtype=np.int64)
    out_right = np.empty(starts[-1], dtype=np.int64)
    out_score = np.empty(starts[-1], dtype=np.float64)
    for worker in range(buffers.sizes.shape[0]):
        for index in range(buffers.sizes[worker]):
            left, right = _callers_pair(buffers, worker, index, left_order, right_order, upper)
            out_left[place[left]], out_right[place[left]] = left, right
            out_score[place[left]] = buffers.scores[worker, index]
            place[left] += 1
    _sort_rows(starts, out_right, out_score)
    return out_left, out_right, out_score


@njit(cache=True)
def _sort_rows(starts, right, score):
    for row in range(starts.shape[0] - 1):
        first, end = starts[row], starts[row + 1]
        if end - first > 1:
            order = np.argsort(right[first:end]) + first
            right[first:end] = right[order]
            score[first:end] = score[order]


def _words(filters: npt.NDArray[np.uint8]) -> npt.NDArray[np.uint64]:
    if filters.ndim != 2 or filters.shape[1] % 8:
        raise ValueError("filters must be a 2-D uint8 array whose width is a multiple of 8")
    return np.ascontiguousarray(filters).view(np.uint64)


@njit(cache=True, nogil=True)
def pair_scores(left_words, right_words, rows, cols):
    """Dice similarity of the given pairs (rows[i] of left with cols[i] of right).

    For kernels that have their own candidates, such as LSH blocking; releases the GIL so
    several threads can score at once.
    """
    scores = np.empty(rows.shape[0], dtype=np.float64)
    for index in range(rows.shape[0]):
        row, col = rows[index], cols[index]
        common, total = 0, 0
        for word in range(left_words.shape[1]):
            a, b = left_words[row, word], right_words[col, word]
            common += _popcount(a & b)
            total += _popcount(a) + _popcount(b)
        scores[index] = 2.0 * common / total if total else 0.0
    return scores


def popcounts(filters: npt.NDArray[np.uint8]) -> npt.NDArray[np.int64]:
    """Number of one bits of each filter."""
    return _counts(_words(filters))  # type: ignore[no-any-return]


def _side(words: npt.NDArray[np.uint64], pad: int) -> _Side:
    counts = _counts_from(words, 0)
    order = np.argsort(counts, kind="stable")
    padded = np.zeros((len(words) + pad, words.shape[1]), dtype=np.uint64)
    padded[: len(words)] = words[order]
    # Check k follows word 4 (k + 1): after every group of four words but the last.
    checks = range(_BLOCK_WORDS, words.shape[1], _BLOCK_WORDS)
    rest = np.zeros((len(checks), len(padded)), dtype=np.int64)
    for check, word in enumerate(checks):
        rest[check] = _counts_from(padded, word)
    return _Side(words=padded, counts=counts[order], rest=rest, order=order)


def _plan(left: _Side, right: _Side, threshold: float, upper: bool) -> _Plan:
    words = left.words.shape[1]
    tile_cols = min(max(_TILE_BYTES // (8 * words) // 8 * 8, 16), 1024)
    bits = 64 * words
    return _Plan(
        items=_plan_items(left.counts, right.counts, threshold, bits, tile_cols, upper),
        need=_need_table(bits, threshold),
        threshold=float(threshold),
        upper=upper,
        tile_cols=tile_cols,
    )


def dice_pairs(
    left: npt.NDArray[np.uint8],
    right: npt.NDArray[np.uint8] | None = None,
    *,
    threshold: float,
    threads: bool = True,
) -> DicePairs:
    """Every pair with Dice similarity >= threshold, comparing all pairs.

    Args:
        left: Packed filters, one per row.
        right: Packed filters of the other side; None compares `left` with itself and
            returns each pair once (left index < right index), for deduplication.
        threshold: Minimum Dice similarity, in (0, 1]. A pair is kept when
            ``2.0 * |a AND b| / (|a| + |b|) >= threshold`` in float64; two empty filters
            are never a pair.
        threads: Use numba's threads (as many as `numba.set_num_threads` allows); False
            keeps to the calling thread. The pairs are the same either way.

    Returns:
        Row indices into left and right, and the scores, sorted by (left, right).
    """
    if not 0.0 < threshold <= 1.0:
        raise ValueError("threshold must be in (0, 1]")
    left_words = _words(left)
    right_words = left_words if right is None else _words(right)
    if left_words.shape[1] != right_words.shape[1]:
        raise ValueError("filters of both sides must have the same length")
    if not (len(left_words) and len(right_words) and left_words.shape[1]):
        empty = np.zeros(0, dtype=np.int64)
        return DicePairs(left=empty, right=empty.copy(), score=np.zeros(0, dtype=np.float64))
    left_side = _side(left_words, _BLOCK_ROWS)
    right_side = left_side if right is None else _side(right_words, 0)
    plan = _plan(left_side, right_side, threshold, right is None)
    rows, cols, scores = _scan(left_side, right_side, plan, threads)
    return DicePairs(left=rows, right=cols, score=scores)
