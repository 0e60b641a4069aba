"""SipHash-2-4 of one message, compiled with numba, for the compiled encoders.

The same function as `linkage.siphash` (which hashes many messages at once with numpy and
documents the construction): the message is the UTF-32-LE bytes of its code points.
"""

import numpy as np
from numba import njit, uint64

_C0 = np.uint64(0x736F6D6570736575)
_C1 = np.uint64(0x646F72616E646F6D)
_C2 = np.uint64(0x6C7967656E657261)
_C3 = np.uint64(0x7465646279746573)
_FF = np.uint64(0xFF)
_LOW32 = np.uint64(0xFFFFFFFF)


@njit(inline="always", cache=True)
def _rotl(value, bits):
    return (value << bits) | (value >> (uint64(64) - bits))


@njit(inline="always", cache=True)
def _round(v0, v1, v2, v3):
    v0 += v1
    v1 = _rotl(v1, uint64(13))
    v1 ^= v0
    v0 = _rotl(v0, uint64(32))
    v2 += v3
    v3 = _rotl(v3, uint64(16))
    v3 ^= v2
    v0 += v3
    v3 = _rotl(v3, uint64(21))
    v3 ^= v0
    v2 += v1
    v1 = _rotl(v1, uint64(17))
    v1 ^= v2
    v2 = _rotl(v2, uint64(32))
    return v0, v1, v2, v3


@njit(cache=True)
def siphash_codepoints(key0, key1, message, length):
    """SipHash-2-4 of message[:length] (uint32 code points, as UTF-32-LE bytes).

    Args:
        key0: First 8 key bytes as a little-endian uint64.
        key1: Last 8 key bytes as a little-endian uint64.
        message: uint32 array of code points.
        length: Number of code points to hash.

    Returns:
        The 64-bit hash as uint64.
    """
    v0 = key0 ^ _C0
    v1 = key1 ^ _C1
    v2 = key0 ^ _C2
    v3 = key1 ^ _C3
    for block in range(length // 2):
        word = uint64(message[2 * block]) | (uint64(message[2 * block + 1]) << uint64(32))
        v3 ^= word
        v0, v1, v2, v3 = _round(v0, v1, v2, v3)
        v0, v1, v2, v3 = _round(v0, v1, v2, v3)
        v0 ^= word
    last = (uint64(4 * length) & _FF) << uint64(56)
    if length % 2:
        last |= uint64(message[length - 1])
    v3 ^= last
    v0, v1, v2, v3 = _round(v0, v1, v2, v3)
    v0, v1, v2, v3 = _round(v0, v1, v2, v3)
    v0 ^= last
    v2 ^= _FF
    for _ in range(4):
        v0, v1, v2, v3 = _round(v0, v1, v2, v3)
    return v0 ^ v1 ^ v2 ^ v3


# The same function in steps, for callers that hash many messages sharing a first block
# (the salt prefix of every token of a record): they absorb it once and go on from there.


@njit(inline="always", cache=True)
def sip_start(key0, key1):
    """The SipHash state of a key, before any block."""
    return key0 ^ _C0, key1 ^ _C1, key0 ^ _C2, key1 ^ _C3


@njit(inline="always", cache=True)
def sip_absorb(v0, v1, v2, v3, word):
    """The state after one 8-byte block (two code points: the first in the low half)."""
    v3 ^= word
    v0, v1, v2, v3 = _round(v0, v1, v2, v3)
    v0, v1, v2, v3 = _round(v0, v1, v2, v3)
    v0 ^= word
    return v0, v1, v2, v3


@njit(inline="always", cache=True)
def sip_finish(v0, v1, v2, v3, code_points):
    """The hash of a message of an even number of `code_points` whose blocks are absorbed."""
    v0, v1, v2, v3 = sip_absorb(v0, v1, v2, v3, (uint64(4 * code_points) & _FF) << uint64(56))
    v2 ^= _FF
    for _ in range(4):
        v0, v1, v2, v3 = _round(v0, v1, v2, v3)
    return v0 ^ v1 ^ v2 ^ v3
