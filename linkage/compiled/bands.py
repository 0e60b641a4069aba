"""The keyed MinHash bands of `linkage.vectorized.bands`, compiled: one value per call.

`linkage.vectorized.bands` describes the tokens; this writes the same bits into a `bands`
slot from inside the compiled comparison encoder, so that a large input never leaves the
compiled kernel for the numpy one (which, per record, cost more than every other slot).
"""

from numba import njit, uint64

from linkage.codepoints import PAD_END, PAD_START, SPACE
from linkage.compiled.bloom import set_token_bits
from linkage.compiled.mix import GOLDEN, mix64
from linkage.compiled.siphash import siphash_codepoints
from linkage.vectorized.bands import BANDS, ROW_STEP, ROWS

_Q = 2  # bands hash padded bigrams, as `linkage.vectorized.comparisons` asks


def gram_capacity(longest: int) -> int:
    """Room for the padded bigram hashes of a value of `longest` code points."""
    return 2 * longest + 2  # a word of w code points has w + 1 padded bigrams


@njit(cache=True)
def _gram_hashes(hashes, cps, start, end, key0, key1, buffer, prefix):
    # The padded bigrams of every space-separated word, each hashed after the prefix.
    count = 0
    word_start = start
    for index in range(start, end + 1):
        if index < end and cps[index] != SPACE:
            continue
        width = index - word_start
        for gram in range(width + 1 if width > 0 else 0):
            buffer[prefix] = PAD_START if gram == 0 else cps[word_start + gram - 1]
            buffer[prefix + 1] = PAD_END if gram == width else cps[word_start + gram]
            hashes[count] = siphash_codepoints(key0, key1, buffer, prefix + _Q)
            count += 1
        word_start = index + 1
    return count


@njit(cache=True)
def band_bits(words, cps, start, end, key0, key1, buffer, prefix, hashes, bits, filter_bits):
    """Set the bits of the `BANDS` tokens of the value cps[start:end] in its slot `words`.

    `hashes` is scratch room for its bigram hashes (`gram_capacity`). A value without a
    word has no token (and no bit), as in the numpy encoder.
    """
    count = _gram_hashes(hashes, cps, start, end, key0, key1, buffer, prefix)
    if count == 0:
        return
    for band in range(BANDS):
        combined = GOLDEN * uint64(band + 1)
        for row in range(ROWS):
            seed = ROW_STEP * uint64(band * ROWS + row + 1)
            minimum = mix64(hashes[0] ^ seed)
            for gram in range(1, count):
                mixed = mix64(hashes[gram] ^ seed)
                if mixed < minimum:
                    minimum = mixed
            combined = mix64(combined ^ minimum)
        set_token_bits(words, combined, bits, filter_bits)


__all__ = ["band_bits", "gram_capacity"]
