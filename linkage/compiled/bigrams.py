"""Keyed hashes of a value's padded bigrams, compiled: the tokens of comparison slots.

Every `bloom` and `bands` comparison slot (`linkage.comparisons`) hashes the padded
bigrams of each word of its value, each after the record's salt: the two code points of
the salt are one SipHash block, the bigram the next. The salt's block is absorbed once per
value and each bigram goes on from there, rather than hashing the salt again for every
bigram (`linkage.compiled.bloom.qgram_bits`, which these hashes equal, does).
"""

from numba import njit, uint64

from linkage.codepoints import PAD_END, PAD_START, SPACE
from linkage.compiled.siphash import sip_absorb, sip_finish, sip_start


def bigram_capacity(longest: int) -> int:
    """Room for the bigram hashes of a value of `longest` code points."""
    return 2 * longest + 2  # a word of w code points has w + 1 padded bigrams


@njit(cache=True)
def bigram_hashes(hashes, cps, start, end, key0, key1, salt, salted):
    """Hash the padded bigrams of every space-separated word of cps[start:end] into `hashes`.

    Each is SipHash-2-4 of the salt's two code points (when `salted`: `salt`, low half
    first) and the bigram's two. Returns how many were written, in the order of the text.
    """
    v0, v1, v2, v3 = sip_start(key0, key1)
    code_points = 2
    if salted:
        v0, v1, v2, v3 = sip_absorb(v0, v1, v2, v3, salt)
        code_points = 4
    count = 0
    word_start = start
    for index in range(start, end + 1):
        if index < end and cps[index] != SPACE:
            continue
        width = index - word_start
        for gram in range(width + 1 if width > 0 else 0):
            first = PAD_START if gram == 0 else cps[word_start + gram - 1]
            second = PAD_END if gram == width else cps[word_start + gram]
            word = uint64(first) | (uint64(second) << uint64(32))
            s0, s1, s2, s3 = sip_absorb(v0, v1, v2, v3, word)
            hashes[count] = sip_finish(s0, s1, s2, s3, code_points)
            count += 1
        word_start = index + 1
    return count
