"""The Bloom (CLK) encoder of `linkage.bloom` in numpy: all records at once, per field.

Sets exactly the bits of `linkage.compiled.bloom`; `linkage.bloom` describes the
construction.
"""

import numpy as np
import numpy.typing as npt

from linkage.bloom import METHOD_CODES, FilterParams
from linkage.codepoints import PackedColumns
from linkage.schema import TokenMethod
from linkage.siphash import siphash_rows, siphash_spans
from linkage.splitmix import GOLDEN, mix
from linkage.vectorized.tokens import (
    SLICE_ROWS,
    TokenHashes,
    qgram_hashes,
    salt_prefixes,
    set_bits,
    tagged_hashes,
)

_QGRAMS = METHOD_CODES[TokenMethod.QGRAMS]
_DATE_PARTS = METHOD_CODES[TokenMethod.DATE_PARTS]
# Date parts of YYYY-MM-DD: a tag, then the offsets of the code points hashed after it.
# Y+year, M+month, D+day, P+month, P+day: a date with day and month swapped still
# shares the year and both P tokens.
_DATE_TOKENS = (
    (ord("Y"), (0, 1, 2, 3)),
    (ord("M"), (5, 6)),
    (ord("D"), (8, 9)),
    (ord("P"), (5, 6)),
    (ord("P"), (8, 9)),
)


def encode_filters(
    packed: PackedColumns, params: FilterParams, encoded_bits: int
) -> npt.NDArray[np.uint8]:
    """The packed filters (rows x encoded_bits // 8 bytes) of the records in `packed`."""
    rows = packed.starts.shape[1]
    out = np.empty((rows, encoded_bits // 8), dtype=np.uint8)
    for start in range(0, rows, SLICE_ROWS):
        stop = min(start + SLICE_ROWS, rows)
        bits = _harden(_record_bits(packed, params, start, stop), params)
        out[start:stop] = np.packbits(bits, axis=1, bitorder="little")
    return out


def _record_bits(
    packed: PackedColumns, params: FilterParams, start: int, stop: int
) -> npt.NDArray[np.uint8]:
    bits = np.zeros((stop - start, params.filter_bits), dtype=np.uint8)
    starts, ends = packed.starts[:, start:stop], packed.ends[:, start:stop]
    salt = params.salt_field
    prefixes = (
        salt_prefixes(packed.codepoints, (starts[salt], ends[salt]), params.salt_keys)
        if salt >= 0
        else None
    )
    for field, (method, q, padded, per_token) in enumerate(params.plan.tolist()):
        present = np.flatnonzero(ends[field] > starts[field])  # missing: never a token
        if per_token == 0 or not len(present):
            continue
        found = _field_hashes(
            packed.codepoints,
            (starts[field, present], ends[field, present]),
            (method, q, padded == 1),
            (int(params.keys[field, 0]), int(params.keys[field, 1])),
            None if prefixes is None else prefixes[present],
        )
        owned = TokenHashes(owners=present[found.owners], hashes=found.hashes)
        set_bits(bits, owned, per_token, params.filter_bits)
    return bits


def _field_hashes(
    codepoints: npt.NDArray[np.uint32],
    spans: tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]],
    tokenization: tuple[int, int, bool],
    keys: tuple[int, int],
    prefixes: npt.NDArray[np.uint32] | None,
) -> TokenHashes:
    method, q, padded = tokenization
    if method == _QGRAMS:
        return qgram_hashes(keys, codepoints, spans, q, padded=padded, prefixes=prefixes)
    if method == _DATE_PARTS:
        return _date_hashes(keys, codepoints, spans[0], prefixes)
    lengths = spans[1] - spans[0]
    return TokenHashes(
        owners=np.arange(len(lengths)),
        hashes=siphash_spans(*keys, codepoints, spans[0], lengths, prefixes),
    )


def _date_hashes(
    keys: tuple[int, int],
    codepoints: npt.NDArray[np.uint32],
    starts: npt.NDArray[np.int64],
    prefixes: npt.NDArray[np.uint32] | None,
) -> TokenHashes:
    found = [
        tagged_hashes(keys, codepoints, starts, tag, offsets, prefixes)
        for tag, offsets in _DATE_TOKENS
    ]
    owners = np.tile(np.arange(len(starts)), len(found))
    return TokenHashes(owners=owners, hashes=np.concatenate(found))


def _harden(bits: npt.NDArray[np.uint8], params: FilterParams) -> npt.NDArray[np.uint8]:
    balance, fold, threshold = params.hardening.tolist()
    if balance:
        # The filter and its complement, permuted: exactly half the bits are one.
        size = bits.shape[1]
        balanced = np.empty((bits.shape[0], 2 * size), dtype=np.uint8)
        balanced[:, params.permutation[:size]] = bits
        balanced[:, params.permutation[size:]] = bits ^ 1
        bits = balanced
    if fold:
        half = 64 * (bits.shape[1] // 128)  # in whole 64-bit words, as the kernel folds
        bits = bits[:, :half] ^ bits[:, half : 2 * half]
    if threshold:
        _flip(bits, params.flip_keys, threshold)
    return bits


def _flip(bits: npt.NDArray[np.uint8], flip_keys: npt.NDArray[np.uint64], threshold: int) -> None:
    # Permanent randomised response, seeded by a keyed hash of the filter itself: the
    # same record always gets the same noise. Bit i flips when mix(seed + (i+1) * golden)
    # falls below the threshold.
    seeds = siphash_rows(
        int(flip_keys[0]),
        int(flip_keys[1]),
        np.packbits(bits, axis=1, bitorder="little").view(np.uint32),
    )
    steps = np.arange(1, bits.shape[1] + 1, dtype=np.uint64) * GOLDEN
    flips = mix(seeds[:, None] + steps) < np.uint64(threshold)
    bits ^= flips.view(np.uint8)
