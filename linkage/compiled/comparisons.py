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
from linkage.compiled.bands import SEEDS, band_bits
from linkage.compiled.bigrams import bigram_capacity, bigram_hashes
from linkage.compiled.bloom import salt_prefix, set_token_bits, span_hash
from linkage.compiled.siphash import siphash_codepoints


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
def _encode_row(row, inputs, out, scratch):
    cps, starts, ends, plan, keys, salt_field, salt_keys, _buffer_size, _gram_room = inputs
    buffer, grams, minima = scratch
    row_words = out[row]
    prefix = salt_prefix(row, cps, starts, ends, salt_field, salt_keys, buffer)
    salt = uint64(buffer[0]) | (uint64(buffer[1]) << uint64(32)) if prefix else uint64(0)
    for index in range(plan.shape[0]):
        field, part, method, offset, words, per_token = plan[index]
        first, last = _part_span(cps, starts[field, row], ends[field, row], part)
        if first >= last:  # missing stays missing: no bit, no tag
            continue
        row_words[0] |= uint64(1) << uint64(index)
        key0, key1 = keys[index, 0], keys[index, 1]
        if method == 0 or method == 3:  # bloom and bands: tokens from padded bigrams
            slot = row_words[offset : offset + words]
            count = bigram_hashes(grams, cps, first, last, key0, key1, salt, prefix > 0)
            if method == 0:
                for gram in range(count):
                    set_token_bits(slot, grams[gram], per_token, 64 * words)
            else:
                band_bits(slot, grams, count, minima, per_token, 64 * words)
        elif method == 1:
            row_words[offset] = span_hash(key0, key1, buffer, prefix, cps, first, last)
        elif method == 2 and last - first == 10:  # a normalised date: YYYY-MM-DD
            _date_words(row_words, offset, key0, key1, buffer, prefix, cps, first)


@njit(cache=True)
def _scratch(inputs):
    buffer_size, gram_room = inputs[7], inputs[8]
    return (
        np.zeros(buffer_size, dtype=np.uint32),
        np.empty(gram_room, dtype=np.uint64),  # a value's bigram hashes
        np.empty(SEEDS.shape[0], dtype=np.uint64),  # its band minima
    )


@njit(parallel=True, cache=True)
def _encode_threaded(inputs, out):
    for row in prange(out.shape[0]):
        _encode_row(row, inputs, out, _scratch(inputs))


@njit(cache=True)
def _encode_serial(inputs, out):
    scratch = _scratch(inputs)  # one thread: one scratch for every row
    for row in range(out.shape[0]):
        _encode_row(row, inputs, out, scratch)


def encode_comparisons(
    packed: PackedColumns,
    params: ComparisonParams,
    out: npt.NDArray[np.uint64],
    *,
    threads: bool,
) -> None:
    """Write every record's comparison words into `out` (rows x layout words), bands too."""
    inputs = (
        packed.codepoints,
        packed.starts,
        packed.ends,
        params.plan,
        params.keys,
        params.salt_field,
        params.salt_keys,
        packed.longest + 16,
        bigram_capacity(packed.longest),
    )
    (_encode_threaded if threads else _encode_serial)(inputs, out)
