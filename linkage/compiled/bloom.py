"""The Bloom (CLK) encoder of `linkage.bloom`, compiled with numba: one record per call.

`linkage.bloom` describes the construction; `linkage.vectorized.bloom` is the same encoder
in numpy, for inputs too small to repay numba's start-up. Both set the same bits.
"""

import numpy as np
import numpy.typing as npt
from numba import njit, prange, uint64

from linkage.bloom import FilterParams
from linkage.codepoints import PAD_END, PAD_START, SPACE, PackedColumns
from linkage.compiled.mix import GOLDEN, mix64
from linkage.compiled.siphash import siphash_codepoints

_LOW32 = np.uint64(0xFFFFFFFF)


@njit(inline="always", cache=True)
def set_token_bits(words, token_hash, bits_per_token, filter_bits):
    """Set a token's `bits_per_token` positions (drawn from its hash) in `words`."""
    # Each 64-bit draw yields two positions, one from each 32-bit half, scaled to the
    # filter length by a multiply-shift (Lemire's fast range reduction).
    for draw in range(0, bits_per_token, 2):
        mixed = mix64(token_hash + uint64(draw // 2 + 1) * GOLDEN)
        _set_bit(words, mixed >> uint64(32), filter_bits)
        if draw + 1 < bits_per_token:
            _set_bit(words, mixed & _LOW32, filter_bits)


@njit(inline="always", cache=True)
def _set_bit(words, half, filter_bits):
    position = (half * uint64(filter_bits)) >> uint64(32)
    words[position >> uint64(6)] |= uint64(1) << (position & uint64(63))


@njit(inline="always", cache=True)
def _emit(words, key0, key1, buffer, length, bits, filter_bits):
    set_token_bits(words, siphash_codepoints(key0, key1, buffer, length), bits, filter_bits)


@njit(cache=True)
def qgram_bits(words, cps, start, end, key0, key1, buffer, prefix, q, padded, bits, filter_bits):
    word_start = start
    for index in range(start, end + 1):
        if index < end and cps[index] != SPACE:
            continue
        width = index - word_start
        if width > 0:
            pad = q - 1 if padded else 0
            grams = width + 2 * pad - q + 1
            if grams < 1:  # unpadded word shorter than q: the word is one token
                for offset in range(width):
                    buffer[prefix + offset] = cps[word_start + offset]
                _emit(words, key0, key1, buffer, prefix + width, bits, filter_bits)
            for gram in range(grams):
                for offset in range(q):
                    at = gram + offset - pad
                    if at < 0:
                        buffer[prefix + offset] = PAD_START
                    elif at >= width:
                        buffer[prefix + offset] = PAD_END
                    else:
                        buffer[prefix + offset] = cps[word_start + at]
                _emit(words, key0, key1, buffer, prefix + q, bits, filter_bits)
        word_start = index + 1


@njit(cache=True)
def _date_parts(words, cps, start, key0, key1, buffer, prefix, bits, filter_bits):
    # value is YYYY-MM-DD; tokens: Y+year, M+month, D+day, and P+month, P+day, so that a
    # date with day and month swapped still shares the year and both P tokens.
    spans = (
        (ord("Y"), 0, 4),
        (ord("M"), 5, 7),
        (ord("D"), 8, 10),
        (ord("P"), 5, 7),
        (ord("P"), 8, 10),
    )
    for tag, first, last in spans:
        buffer[prefix] = tag
        for offset in range(last - first):
            buffer[prefix + 1 + offset] = cps[start + first + offset]
        _emit(words, key0, key1, buffer, prefix + 1 + last - first, bits, filter_bits)


@njit(inline="always", cache=True)
def span_hash(key0, key1, buffer, prefix, cps, start, end):
    """Keyed hash of the value cps[start:end], after the `prefix` code points in `buffer`."""
    for offset in range(end - start):
        buffer[prefix + offset] = cps[start + offset]
    return siphash_codepoints(key0, key1, buffer, prefix + end - start)


@njit(inline="always", cache=True)
def salt_prefix(row, cps, starts, ends, salt_field, salt_keys, buffer):
    """Write the record's salt (the hash of its salt field) into buffer[:2]; its length.

    0 when the schema does not salt: nothing is written.
    """
    if salt_field < 0:
        return 0
    first, last = starts[salt_field, row], ends[salt_field, row]
    salt = siphash_codepoints(salt_keys[0], salt_keys[1], cps[first:last], last - first)
    buffer[0] = salt & uint64(0xFFFFFFFF)
    buffer[1] = salt >> uint64(32)
    return 2


@njit(cache=True)
def _record_filter(row, cps, starts, ends, plan, keys, salt_field, salt_keys, buffer, words):
    filter_bits = words.shape[0] * 64
    prefix = salt_prefix(row, cps, starts, ends, salt_field, salt_keys, buffer)
    for field in range(plan.shape[0]):  # packed columns may hold a salt column more
        method, q, padded, bits = plan[field, 0], plan[field, 1], plan[field, 2], plan[field, 3]
        first, last = starts[field, row], ends[field, row]
        if bits == 0 or first == last:  # missing values are absent, never a token
            continue
        key0, key1 = keys[field, 0], keys[field, 1]
        if method == 0:
            qgram_bits(
                words,
                cps,
                first,
                last,
                key0,
                key1,
                buffer,
                prefix,
                q,
                padded == 1,
                bits,
                filter_bits,
            )
        elif method == 1:
            _date_parts(words, cps, first, key0, key1, buffer, prefix, bits, filter_bits)
        else:
            token_hash = span_hash(key0, key1, buffer, prefix, cps, first, last)
            set_token_bits(words, token_hash, bits, filter_bits)


@njit(cache=True)
def _balance(words, permutation, out):
    # The filter and its complement, permuted: exactly half the bits are one (Berger and
    # Schnell's balanced Bloom filters), so the count of ones no longer leaks name lengths.
    size = words.shape[0] * 64
    for index in range(2 * size):
        bit = (words[(index % size) >> 6] >> uint64(index & 63)) & uint64(1)
        if index >= size:
            bit ^= uint64(1)
        if bit:
            target = permutation[index]
            out[target >> 6] |= uint64(1) << uint64(target & 63)


@njit(cache=True)
def _flip(words, flip_keys, threshold):
    # Permanent randomised response: the coin flips are seeded by a keyed hash of the
    # filter itself, so the same record always gets the same noise (no averaging attack).
    state = siphash_codepoints(
        flip_keys[0], flip_keys[1], words.view(np.uint32), 2 * words.shape[0]
    )
    for index in range(words.shape[0] * 64):
        state += GOLDEN
        if mix64(state) < threshold:
            words[index >> 6] ^= uint64(1) << uint64(index & 63)


@njit(cache=True)
def _harden(words, permutation, balance, fold, threshold, flip_keys):
    hardened = words
    if balance:
        hardened = np.zeros(2 * words.shape[0], dtype=np.uint64)
        _balance(words, permutation, hardened)
    if fold:
        half = hardened.shape[0] // 2
        hardened = hardened[:half] ^ hardened[half:]
    if threshold:
        _flip(hardened, flip_keys, threshold)
    return hardened


@njit(cache=True)
def _encode_row(row, inputs, out):
    (
        cps,
        starts,
        ends,
        plan,
        keys,
        salt_field,
        salt_keys,
        hardening,
        permutation,
        flip_keys,
        buffer_size,
        base_words,
    ) = inputs
    buffer = np.empty(buffer_size, dtype=np.uint32)
    words = np.zeros(base_words, dtype=np.uint64)
    _record_filter(row, cps, starts, ends, plan, keys, salt_field, salt_keys, buffer, words)
    out[row, :] = _harden(words, permutation, hardening[0], hardening[1], hardening[2], flip_keys)


# Two kernels around one row function: threads for in-process callers, one thread for
# worker processes, where idle OpenMP threads would spin and steal the other core. They
# must be two functions: numba's cache does not tell compilations of one function apart
# by their `parallel` flag.
@njit(parallel=True, cache=True)
def _encode_threaded(inputs, out):
    for row in prange(out.shape[0]):
        _encode_row(row, inputs, out)


@njit(cache=True)
def _encode_serial(inputs, out):
    for row in range(out.shape[0]):
        _encode_row(row, inputs, out)


def encode_filters(
    packed: PackedColumns, params: FilterParams, out: npt.NDArray[np.uint64], *, threads: bool
) -> None:
    """Write the filter of every record into `out` (rows x encoded words), on all cores or one."""
    inputs = (
        packed.codepoints,
        packed.starts,
        packed.ends,
        params.plan,
        params.keys,
        params.salt_field,
        params.salt_keys,
        params.hardening,
        params.permutation,
        params.flip_keys,
        packed.longest + 8,
        params.filter_bits // 64,
    )
    (_encode_threaded if threads else _encode_serial)(inputs, out)
