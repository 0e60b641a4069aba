"""SplitMix64 (Steele, Lea and Flood 2014): its increment and finaliser, for numpy arrays.

The finaliser is a fast bijective mixer of 64-bit words: every input bit moves every
output bit. The Bloom encoders draw bit positions with it (`linkage.vectorized` here,
`linkage.compiled.mix` compiled for the numba kernels and for LSH band keys). Neither use
needs a key: the encoders' inputs are already keyed hashes.
"""

import numpy as np
import numpy.typing as npt

GOLDEN = np.uint64(0x9E3779B97F4A7C15)  # 2^64 / golden ratio: SplitMix64's increment
MIX1 = np.uint64(0xBF58476D1CE4E5B9)
MIX2 = np.uint64(0x94D049BB133111EB)


def mix(values: npt.NDArray[np.uint64]) -> npt.NDArray[np.uint64]:
    """SplitMix64's finaliser of every value, in place (array arithmetic wraps mod 2**64)."""
    values ^= values >> 30
    values *= MIX1
    values ^= values >> 27
    values *= MIX2
    values ^= values >> 31
    return values
