"""The group filters of `linkage.salting.group_filter`, drawn with numba: one salt per step.

`linkage.salting.group_filter` describes the filter and draws it with numpy; this draws the
same bits for the compiled backend, where the numpy rounds (one array pass per SplitMix
step and position) cost more than the hash of the salt itself.
"""

import numpy as np
import numpy.typing as npt
from numba import njit, uint8, uint64

from linkage.compiled.mix import GOLDEN, mix64


@njit(cache=True)
def _draw(hashes, positions, out):
    for row in range(hashes.shape[0]):
        state = hashes[row]
        if state == 0:  # no salt: no bit
            continue
        for _ in range(positions):
            state = mix64(state + GOLDEN)  # SplitMix64's step, fed back
            position = state % uint64(out.shape[1] * 8)
            out[row, position >> uint64(3)] |= uint8(uint64(0x80) >> (position & uint64(7)))


def draw_group_filters(
    hashes: npt.NDArray[np.uint64], positions: int, bits: int
) -> npt.NDArray[np.uint8]:
    """Rows x (bits / 8) bytes: `positions` SplitMix draws from each hash (zeros for 0).

    Bits are numbered as `numpy.packbits` numbers them: the first, highest, of byte 0 first.
    """
    out = np.zeros((len(hashes), bits // 8), dtype=np.uint8)
    _draw(np.ascontiguousarray(hashes, dtype=np.uint64), positions, out)
    return out
