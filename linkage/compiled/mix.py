"""SplitMix64's finaliser, compiled: a fast bijective mixer of 64-bit words.

Every input bit moves every output bit (Steele, Lea and Flood 2014). The Bloom encoder
draws bit positions with it; LSH blocking combines MinHashes into bucket keys with it.
Neither use needs a key: the encoder's inputs are already keyed hashes.
"""

import numpy as np
from numba import njit, uint64

GOLDEN = np.uint64(0x9E3779B97F4A7C15)  # 2^64 / golden ratio: SplitMix64's increment
_MIX1 = np.uint64(0xBF58476D1CE4E5B9)
_MIX2 = np.uint64(0x94D049BB133111EB)


@njit(inline="always", cache=True)
def mix64(value):
    """SplitMix64's finaliser of `value` (uint64)."""
    value ^= value >> uint64(30)
    value *= _MIX1
    value ^= value >> uint64(27)
    value *= _MIX2
    return value ^ (value >> uint64(31))
