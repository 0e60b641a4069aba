"""A salt group's record-level filter: the salt alone, the same for every record in it.

What: with `hardening.group_filters`, a family's record-level filter is not a Bloom
filter of the record's values but `GROUP_BITS` positions drawn from a keyed hash of the
record's salt in that family. Records with equal salts have equal filters (Dice 1); records
of different groups have unrelated ones (Dice near the chance of `GROUP_BITS` of the
filter's bits meeting).

Why: the record-level filter serves candidate generation, and inside a salt family only
records with equal salts may match. A filter of the values showed the hub who in a group
resembles whom, which is what graph matching inside a group feeds on; it also let pairs of
one person whose values had drifted (names swapped, merged or cut) fall below the
candidate threshold. A filter of the salt makes every pair of a group a candidate, for the
comparison encodings to score, and shows no structure inside a group. What it does show
(which records share a salt) the value filters showed as well, to within a few records.
"""

from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

from keys import LinkageSecret
from linkage.backend import Backend
from linkage.splitmix import GOLDEN, mix

GROUP_PURPOSE = "salt-group-filter"
GROUP_BITS = 64  # positions set per filter: chance Dice between groups about 64 / bits


def group_key(secret: LinkageSecret, family: str) -> bytes:
    """The 128-bit key of one family's group filters (HKDF, its own purpose and label)."""
    return secret.derive(GROUP_PURPOSE, family, length_bytes=16)


def _distinct_salts(salts: Sequence[str | None]) -> tuple[list[str | None], npt.NDArray[np.int64]]:
    """The distinct salts (None included) in first-seen order, and each record's index there."""
    index: dict[str | None, int] = {}
    inverse = np.fromiter(
        (index.setdefault(salt, len(index)) for salt in salts), dtype=np.int64, count=len(salts)
    )
    return list(index), inverse


def _salt_hashes(key: bytes, salts: Sequence[str | None]) -> npt.NDArray[np.uint64]:
    """A keyed 64-bit hash of each salt (0 for None): BLAKE2b's first 8 bytes, little-endian."""
    import hashlib

    keyed = hashlib.blake2b(key=key, digest_size=8)  # copied: the key block is hashed once
    none = bytes(8)
    digests = []
    for salt in salts:
        if salt is None:
            digests.append(none)
            continue
        state = keyed.copy()
        state.update(salt.encode("utf-8"))
        digests.append(state.digest())
    return np.frombuffer(b"".join(digests), dtype="<u8").astype(np.uint64)


def _draw(hashes: npt.NDArray[np.uint64], bits: int) -> npt.NDArray[np.uint8]:
    """Rows x (bits / 8) bytes: `GROUP_BITS` SplitMix draws from each hash (zeros for 0).

    One array pass per draw, straight into the packed bytes (as `numpy.packbits` numbers
    bits: the highest of byte 0 first); a draw sets one bit per row, so no row's byte is
    written twice in one pass.
    """
    width = bits // 8
    out = np.zeros((len(hashes), width), dtype=np.uint8)
    flat = out.reshape(-1)
    base = np.arange(len(hashes), dtype=np.int64) * width
    state = hashes
    for _ in range(GROUP_BITS):
        state = mix(state + GOLDEN)  # SplitMix64's step, fed back
        position = (state % np.uint64(bits)).astype(np.int64)
        flat[base + (position >> 3)] |= np.right_shift(0x80, position & 7).astype(np.uint8)
    out[hashes == 0] = 0
    return out


def group_filters(
    key: bytes, salts: Sequence[str | None], bits: int, *, backend: Backend = Backend.VECTORIZED
) -> npt.NDArray[np.uint8]:
    """Records x (bits / 8) bytes: each record's group filter (zeros without a salt).

    Each distinct salt's filter is drawn once and copied to the records that share it
    (records of one group have equal filters by design).

    Args:
        key: The family's key (`group_key`).
        salts: Each record's salt in the family, None where it has none.
        bits: The filter's length, a multiple of 64.
        backend: Draw with numpy, or with numba (the same bits; for callers that have
            loaded the compiled encoders anyway).
    """
    distinct, inverse = _distinct_salts(salts)
    hashes = _salt_hashes(key, distinct)
    if backend is Backend.COMPILED:
        from linkage.compiled.group_filter import draw_group_filters

        return draw_group_filters(hashes, GROUP_BITS, bits)[inverse]
    return _draw(hashes, bits)[inverse]


__all__ = ["GROUP_BITS", "group_filters", "group_key"]
