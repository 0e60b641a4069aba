"""The keyed MinHash bands of `linkage.vectorized.bands`, compiled: one value per call.

`linkage.vectorized.bands` describes the tokens; this writes the same bits into a `bands`
slot from inside the compiled comparison encoder, so that a large input never leaves the
compiled kernel for the numpy one (which, per record, cost more than every other slot).
"""

import numpy as np
from numba import njit, uint64

from linkage.compiled.bloom import set_token_bits
from linkage.compiled.mix import GOLDEN, mix64
from linkage.vectorized.bands import BANDS, ROW_STEP, ROWS

# Every (band, row)'s seed, in band-major order: minima are taken over all seeds per
# bigram, a loop the compiler unrolls, rather than over all bigrams per seed.
SEEDS = ROW_STEP * np.arange(1, BANDS * ROWS + 1, dtype=np.uint64)


@njit(cache=True)
def band_bits(words, hashes, count, minima, bits, filter_bits):
    """Set the bits of the `BANDS` tokens of a value in its slot `words`.

    Args:
        words: The slot.
        hashes: The value's bigram hashes (`linkage.compiled.bigrams`).
        count: How many of `hashes` are the value's. A value without a bigram has no
            token and no bit, as in the numpy encoder.
        minima: Scratch room for one minimum per seed (`len(SEEDS)`).
        bits: Positions per token.
        filter_bits: The slot's length in bits.
    """
    if count == 0:
        return
    for seed in range(SEEDS.shape[0]):
        minima[seed] = mix64(hashes[0] ^ SEEDS[seed])
    for gram in range(1, count):
        value = hashes[gram]
        for seed in range(SEEDS.shape[0]):
            minima[seed] = min(minima[seed], mix64(value ^ SEEDS[seed]))
    for band in range(BANDS):
        combined = GOLDEN * uint64(band + 1)
        for row in range(ROWS):
            combined = mix64(combined ^ minima[band * ROWS + row])
        set_token_bits(words, combined, bits, filter_bits)
