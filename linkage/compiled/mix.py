"""SplitMix64's finaliser compiled (`linkage.splitmix` has its constants and the numpy one).

The Bloom encoder draws bit positions with it; LSH blocking combines MinHashes into bucket
keys with it.
"""

from numba import njit, uint64

from linkage.splitmix import GOLDEN, MIX1, MIX2

__all__ = ["GOLDEN", "mix64"]


@njit(inline="always", cache=True)
def mix64(value):
    """SplitMix64's finaliser of `value` (uint64)."""
    value ^= value >> uint64(30)
    value *= MIX1
    value ^= value >> uint64(27)
    value *= MIX2
    return value ^ (value >> uint64(31))
