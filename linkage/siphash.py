"""SipHash-2-4 (Aumasson and Bernstein, 2012) over UTF-32 code points, many messages at once.

SipHash is a keyed pseudorandom function designed for short inputs, which is exactly what
Bloom-filter encoding hashes: q-grams of a few characters. It is 10-30 times cheaper than
HMAC-SHA256 on such inputs while keeping a PRF's guarantee that, without the key, outputs
reveal nothing about inputs.

The message is the little-endian byte string of the code points (that is, the UTF-32-LE
encoding of the token), so `siphash24(key, token.encode("utf-32-le"))` in any conforming
implementation gives the same value. tests/linkage/test_siphash.py checks the reference
vectors of the SipHash paper.

This module hashes with numpy, one array operation for all messages of one length, and
does not import numba; `linkage.compiled.siphash` is the same function compiled, one
message at a time, for the compiled encoders.
"""

import numpy as np
import numpy.typing as npt

_C0 = 0x736F6D6570736575
_C1 = 0x646F72616E646F6D
_C2 = 0x6C7967656E657261
_C3 = 0x7465646279746573


class _State:
    """The four SipHash words of many messages, updated in place.

    Array arithmetic wraps modulo 2**64 silently, as SipHash needs; numpy scalars would
    warn on overflow, so no step works on one.
    """

    def __init__(self, key0: int, key1: int, count: int) -> None:
        self.words = np.empty((4, count), dtype=np.uint64)
        for row, (half, constant) in enumerate(((key0, _C0), (key1, _C1), (key0, _C2))):
            self.words[row] = half ^ constant
        self.words[3] = key1 ^ _C3
        self._scratch = np.empty(count, dtype=np.uint64)

    def absorb(self, block: npt.NDArray[np.uint64]) -> None:
        self.words[3] ^= block
        self.rounds(2)
        self.words[0] ^= block

    def rounds(self, count: int) -> None:
        v0, v1, v2, v3 = self.words
        for _ in range(count):
            v0 += v1
            self._rotate(v1, 13)
            v1 ^= v0
            self._rotate(v0, 32)
            v2 += v3
            self._rotate(v3, 16)
            v3 ^= v2
            v0 += v3
            self._rotate(v3, 21)
            v3 ^= v0
            v2 += v1
            self._rotate(v1, 17)
            v1 ^= v2
            self._rotate(v2, 32)

    def _rotate(self, word: npt.NDArray[np.uint64], bits: int) -> None:
        np.left_shift(word, bits, out=self._scratch)
        word >>= 64 - bits
        word |= self._scratch

    def finish(self) -> npt.NDArray[np.uint64]:
        self.words[2] ^= 0xFF
        self.rounds(4)
        v0, v1, v2, v3 = self.words
        return v0 ^ v1 ^ v2 ^ v3


def siphash_rows(key0: int, key1: int, messages: npt.NDArray[np.uint32]) -> npt.NDArray[np.uint64]:
    """SipHash-2-4 of every row of a messages x code points array (all of one length).

    Args:
        key0: First 8 key bytes as a little-endian integer.
        key1: Last 8 key bytes as a little-endian integer.
        messages: uint32 code points, one message per row.

    Returns:
        One uint64 hash per row.
    """
    count, length = messages.shape
    state = _State(int(key0), int(key1), count)
    # Each 8-byte block is two code points: on a little-endian machine, a uint64 view.
    blocks = np.ascontiguousarray(messages[:, : length - length % 2]).view(np.uint64)
    for block in range(length // 2):
        state.absorb(blocks[:, block])
    last = np.full(count, ((4 * length) & 0xFF) << 56, dtype=np.uint64)
    if length % 2:
        last |= messages[:, length - 1]
    state.absorb(last)
    return state.finish()


def siphash_spans(
    key0: int,
    key1: int,
    codepoints: npt.NDArray[np.uint32],
    starts: npt.NDArray[np.int64],
    lengths: npt.NDArray[np.int64],
    prefixes: npt.NDArray[np.uint32] | None = None,
) -> npt.NDArray[np.uint64]:
    """SipHash-2-4 of messages of any lengths, each a span of one code point buffer.

    Args:
        key0: First 8 key bytes as a little-endian integer.
        key1: Last 8 key bytes as a little-endian integer.
        codepoints: The buffer.
        starts: Where each message starts in it.
        lengths: How many code points each message has.
        prefixes: Code points hashed before each message (one row per message), if any.

    Returns:
        One uint64 hash per message, in the order given.
    """
    hashes = np.empty(len(starts), dtype=np.uint64)
    prefix_width = 0 if prefixes is None else prefixes.shape[1]
    for length in np.flatnonzero(np.bincount(lengths)).tolist():
        chosen = np.flatnonzero(lengths == length)
        messages = np.empty((len(chosen), prefix_width + length), dtype=np.uint32)
        if prefixes is not None:
            messages[:, :prefix_width] = prefixes[chosen]
        messages[:, prefix_width:] = codepoints[starts[chosen, None] + np.arange(length)]
        hashes[chosen] = siphash_rows(key0, key1, messages)
    return hashes


def key_halves(key: bytes) -> tuple[np.uint64, np.uint64]:
    """Split a 16-byte SipHash key into the two little-endian uint64 halves."""
    if len(key) != 16:
        raise ValueError("a SipHash key is 16 bytes")
    return (
        np.uint64(int.from_bytes(key[:8], "little")),
        np.uint64(int.from_bytes(key[8:], "little")),
    )


def siphash(key: bytes, text: str) -> int:
    """SipHash-2-4 of a string's UTF-32-LE bytes (convenience for tests and small inputs)."""
    message = np.frombuffer(text.encode("utf-32-le"), dtype=np.uint32)
    key0, key1 = key_halves(key)
    return int(siphash_rows(int(key0), int(key1), message.reshape(1, -1))[0])
