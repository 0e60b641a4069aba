"""The comparison encoder of `linkage.comparisons`, compiled with numba: one record per call.

`linkage.comparisons` describes the encoding; `linkage.vectorized.comparisons` is the same
encoder in numpy, for inputs too small to repay numba's start-up. Both write the same words,
`bands` slots included (`linkage.compiled.bands`).
"""

import numpy as np
import numpy.typing as npt
from numba import njit, prange, uint64

from linkage.codepoints import SPACE, PackedColumns
from linkage.comparisons import ComparisonParams
from linkage.compiled.bands import band_bits, gram_capacity
from linkage.compiled.bloom import qgram_bits, salt_prefix, span_hash
from linkage.compiled.siphash import siphash_codepoints
from linkage.match.layout import METHOD_CODES


@njit(inline="always", cache=True)
def _part_span(cps, first, last, part):
    """The span of the first word (part 1), of the words after it (2), or all (0)."""
    if part == 0:
        return first, last
    cut = first
    while cut < last and cps[cut] != SPACE:
        cut += 1
    if part == 1:
        return first, cut
    return min(cut + 1, last), last


@njit(inline="always", cache=True)
def _date_tag(key0, key1, buffer, prefix, cps, start, label, spans):
    # spans: (first, last) offsets into YYYY-MM-DD, in the order they are hashed.
    buffer[prefix] = label
    size = prefix + 1
    for first, last in spans:
        for offset in range(first, last):
            buffer[size] = cps[start + offset]
            size += 1
    return siphash_codepoints(key0, key1, buffer, size)


@njit(cache=True)
def _date_words(row_words, offset, key0, key1, buffer, prefix, cps, start):
    year, month, day = (0, 4), (5, 7), (8, 10)
    full = _date_tag(key0, key1, buffer, prefix, cps, start, 70, (year, month, day))
    swapped = _date_tag(key0, key1, buffer, prefix, cps, start, 70, (year, day, month))
    year_month = _date_tag(key0, key1, buffer, prefix, cps, start, 65, (year, month))
    year_day = _date_tag(key0, key1, buffer, prefix, cps, start, 66, (year, day))
    month_day = _date_tag(key0, key1, buffer, prefix, cps, start, 67, (month, day))
    row_words[offset] = full
    row_words[offset + 1] = swapped
    low = uint64(0xFF)
    row_words[offset + 2] = (
        (year_month & low) | ((year_day & low) << uint64(8)) | ((month_day & low) << uint64(16))
    )


@njit(cache=True)
def _encode_row(row, inputs, out):
    cps, starts, ends, plan, keys, salt_field, salt_keys, buffer_size, gram_room = inputs
    buffer = np.empty(buffer_size, dtype=np.uint32)
    grams = np.empty(gram_room, dtype=np.uint64)  # a `bands` value's bigram hashes
    row_words = out[row]
    prefix = salt_prefix(row, cps, starts, ends, salt_field, salt_keys, buffer)
    for index in range(plan.shape[0]):
        field, part, method, offset, words, per_token = plan[index]
        first, last = _part_span(cps, starts[field, row], ends[field, row], part)
        if first >= last:  # missing stays missing: no bit, no tag
            continue
        row_words[0] |= uint64(1) << uint64(index)
        key0, key1 = keys[index, 0], keys[index, 1]
        if method == 0:
            slot = row_words[offset : offset + words]
            qgram_bits(
                slot, cps, first, last, key0, key1, buffer, prefix, 2, True, per_token, 64 * words
            )
        elif method == 1:
            row_words[offset] = span_hash(key0, key1, buffer, prefix, cps, first, last)
        elif method == 2 and last - first == 10:  # a normalised date: YYYY-MM-DD
            _date_words(row_words, offset, key0, key1, buffer, prefix, cps, first)
        elif method == 3:
            slot = row_words[offset : offset + words]
            band_bits(
                slot, cps, first, last, key0, key1, buffer, prefix, grams, per_token, 64 * words
            )


@njit(parallel=True, cache=True)
def _encode_threaded(inputs, out):
    for row in prange(out.shape[0]):
        _encode_row(row, inputs, out)


@njit(cache=True)
def _encode_serial(inputs, out):
    for row in range(out.shape[0]):
        _encode_row(row, inputs, out)


def encode_comparisons(
    packed: PackedColumns,
    params: ComparisonParams,
    out: npt.NDArray[np.uint64],
    *,
    threads: bool,
) -> None:
    """Write every record's comparison words into `out` (rows x layout words), bands too."""
    bands = bool((params.plan[:, 2] == METHOD_CODES["bands"]).any())
    inputs = (
        packed.codepoints,
        packed.starts,
        packed.ends,
        params.plan,
        params.keys,
        params.salt_field,
        params.salt_keys,
        packed.longest + 16,
        gram_capacity(packed.longest) if bands else 0,
    )
    (_encode_threaded if threads else _encode_serial)(inputs, out)
