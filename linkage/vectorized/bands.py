"""Keyed MinHash bands of a value's q-grams: the tokens of a `bands` comparison slot.

What: a `bands` slot (`linkage.comparisons`) is a small Bloom filter like a `bloom` slot,
but its tokens are not the q-grams themselves. Each of `BANDS` bands takes the minimum of
`ROWS` keyed permutations of the value's q-gram hashes (already keyed by the slot's key,
and salted) and hashes them into one token; the slot sets the token's bit positions. Two
values agree on a band with a probability of about their q-gram Jaccard similarity to the
power `ROWS`: equal values agree on all bands, a typo keeps a third to a half of them,
unrelated names almost none.

Why: a `bloom` slot sets the same bits for a q-gram in every value that holds it. Once a
hub has put names to a few frequent filters (frequency alignment inside a salt group), it
learns which bits each q-gram sets and decodes every other name, the rare ones included
(bit-position cryptanalysis). A band's bits stand for a combination of q-grams chosen by
the key, different from value to value: learning the bits of known names tells nothing
about the bits of a name not seen, so only near-copies of known names can be recognised.

This is the numpy implementation, which `linkage.vectorized.comparisons.band_slots` writes
into the slots; `linkage.compiled.bands` is the same construction compiled, value by
value, inside the compiled comparison encoder. Both set the same bits.
"""

import numpy as np

from linkage.splitmix import GOLDEN, mix
from linkage.vectorized.tokens import TokenHashes

BANDS = 24  # tokens per value: Dice steps of 1/24
ROWS = 2  # q-gram minima per band: agreement ~ Jaccard squared
ROW_STEP = np.uint64(0xD1B54A32D192ED03)  # odd: distinct seeds per (band, row)


def band_tokens(found: TokenHashes) -> TokenHashes:
    """`BANDS` tokens of every value that has q-grams, from its q-gram hashes.

    Args:
        found: Keyed q-gram hashes with the index of the value each came from.

    Returns:
        The band tokens, `BANDS` per value, each with its value's index.
    """
    if not len(found.owners):
        return found
    order = np.argsort(found.owners, kind="stable")
    owners, hashes = found.owners[order], found.hashes[order]
    starts = np.flatnonzero(np.r_[True, owners[1:] != owners[:-1]])
    values = owners[starts]
    tokens = np.empty((len(values), BANDS), dtype=np.uint64)
    with np.errstate(over="ignore"):
        for band in range(BANDS):
            combined = np.full(len(values), GOLDEN * np.uint64(band + 1), dtype=np.uint64)
            for row in range(ROWS):
                seed = ROW_STEP * np.uint64(band * ROWS + row + 1)
                minimum = np.minimum.reduceat(mix(hashes ^ seed), starts)
                combined = mix(combined ^ minimum)
            tokens[:, band] = combined
    return TokenHashes(owners=np.repeat(values, BANDS), hashes=tokens.reshape(-1))
