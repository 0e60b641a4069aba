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

    blake = hashlib.blake2b
    digests = b"".join(
        bytes(8) if salt is None else blake(salt.encode("utf-8"), key=key, digest_size=8).digest()
        for salt in salts
    )
    return np.frombuffer(digests, dtype="<u8").astype(np.uint64)


def group_filters(key: bytes, salts: Sequence[str | None], bits: int) -> npt.NDArray[np.uint8]:
    """Records x (bits / 8) bytes: each record's group filter (zeros without a salt).

    Each distinct salt's filter is drawn once and copied to the records that share it
    (records of one group have equal filters by design).

    Args:
        key: The family's key (`group_key`).
        salts: Each record's salt in the family, None where it has none.
        bits: The filter's length, a multiple of 64.
    """
    distinct, inverse = _distinct_salts(salts)
    hashes = _salt_hashes(key, distinct)
    rows = len(distinct)
    out = np.zeros((rows, bits), dtype=bool)
    state = hashes
    row_index = np.arange(rows)
    for _ in range(GROUP_BITS):
        state = mix(state + GOLDEN)  # SplitMix64's step, fed back
        out[row_index, (state % np.uint64(bits)).astype(np.int64)] = True
    out[hashes == 0] = False
    return np.packbits(out, axis=1)[inverse]


__all__ = ["GROUP_BITS", "group_filters", "group_key"]
