"""The comparison encoder of `linkage.comparisons` in numpy: all records at once, per slot.

Writes exactly the words of `linkage.compiled.comparisons`; `linkage.comparisons`
describes the encoding.
"""

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from linkage.codepoints import SPACE, PackedColumns
from linkage.comparisons import PART_CODES, ComparisonParams
from linkage.match.layout import METHOD_CODES
from linkage.schema import ComparisonPart
from linkage.siphash import siphash_spans
from linkage.vectorized.bands import band_tokens
from linkage.vectorized.tokens import (
    SLICE_ROWS,
    Int64s,
    TokenHashes,
    qgram_hashes,
    salt_prefixes,
    set_bits,
    tagged_hashes,
)

_BLOOM, _EXACT = METHOD_CODES["bloom"], METHOD_CODES["exact"]
_BANDS = METHOD_CODES["bands"]
_FIRST_PART, _REST_PART = PART_CODES[ComparisonPart.FIRST], PART_CODES[ComparisonPart.REST]
_DATE_LENGTH = 10  # YYYY-MM-DD; other values get no date tags
_YEAR, _MONTH, _DAY = (0, 1, 2, 3), (5, 6), (8, 9)
# The tag's label and the date's code points after it (see `linkage.comparisons`).
_DATE_TAGS = (
    (ord("F"), _YEAR + _MONTH + _DAY),
    (ord("F"), _YEAR + _DAY + _MONTH),
    (ord("A"), _YEAR + _MONTH),
    (ord("B"), _YEAR + _DAY),
    (ord("C"), _MONTH + _DAY),
)


def encode_comparisons(
    packed: PackedColumns, params: ComparisonParams, out: npt.NDArray[np.uint64]
) -> None:
    """Write every record's comparison words into `out` (rows x layout words, zeroed)."""
    _by_slice(packed, params, out, _encode_slice)


@dataclass(frozen=True, slots=True, repr=False)
class _Slice:
    """One slice of records: where their values are, and their salt prefixes."""

    starts: Int64s  # fields x records
    ends: Int64s
    prefixes: npt.NDArray[np.uint32] | None
    spaces: Int64s  # every space in the code point buffer


def _by_slice(
    packed: PackedColumns,
    params: ComparisonParams,
    out: npt.NDArray[np.uint64],
    encode: Callable[[PackedColumns, ComparisonParams, _Slice, npt.NDArray[np.uint64]], None],
) -> None:
    spaces = np.flatnonzero(packed.codepoints == SPACE)
    for start in range(0, out.shape[0], SLICE_ROWS):
        stop = min(start + SLICE_ROWS, out.shape[0])
        starts, ends = packed.starts[:, start:stop], packed.ends[:, start:stop]
        prefixes = None
        if params.salt_field >= 0:
            spans = starts[params.salt_field], ends[params.salt_field]
            prefixes = salt_prefixes(packed.codepoints, spans, params.salt_keys)
        encode(packed, params, _Slice(starts, ends, prefixes, spaces), out[start:stop])


def _encode_slice(
    packed: PackedColumns, params: ComparisonParams, where: _Slice, out: npt.NDArray[np.uint64]
) -> None:
    bits = np.zeros((out.shape[0], 64 * out.shape[1]), dtype=np.uint8)
    for index, (field, part, method, offset, words, per_token) in enumerate(params.plan.tolist()):
        present, keys, salts, spans = _slot_values(params, where, index, field, part)
        out[present, 0] |= np.uint64(1 << index)
        if method == _BANDS:
            continue  # `band_slots`, after this
        if method == _BLOOM:
            found = qgram_hashes(keys, packed.codepoints, spans, 2, padded=True, prefixes=salts)
            owned = TokenHashes(owners=present[found.owners], hashes=found.hashes)
            set_bits(bits, owned, per_token, 64 * words, 64 * offset)
        elif method == _EXACT:
            lengths = spans[1] - spans[0]
            out[present, offset] = siphash_spans(*keys, packed.codepoints, spans[0], lengths, salts)
        else:
            dated = np.flatnonzero(spans[1] - spans[0] == _DATE_LENGTH)
            salted = None if salts is None else salts[dated]
            tags = _date_words(keys, packed.codepoints, spans[0][dated], salted)
            out[present[dated], offset : offset + 3] = tags
    out |= np.packbits(bits, axis=1, bitorder="little").view(np.uint64)


def band_slots(
    packed: PackedColumns, params: ComparisonParams, out: npt.NDArray[np.uint64]
) -> None:
    """Write every record's `bands` slots (`linkage.vectorized.bands`) into `out`.

    `encode_comparisons` leaves these slots empty and sets their presence bits; this fills
    them. (The compiled encoder writes them itself, the same bits: `linkage.compiled.bands`.)
    """
    if (params.plan[:, 2] == _BANDS).any():
        _by_slice(packed, params, out, _band_slice)


def _band_slice(
    packed: PackedColumns, params: ComparisonParams, where: _Slice, out: npt.NDArray[np.uint64]
) -> None:
    bits = np.zeros((out.shape[0], 64 * out.shape[1]), dtype=np.uint8)
    for index, (field, part, method, offset, words, per_token) in enumerate(params.plan.tolist()):
        if method != _BANDS:
            continue
        present, keys, salts, spans = _slot_values(params, where, index, field, part)
        found = qgram_hashes(keys, packed.codepoints, spans, 2, padded=True, prefixes=salts)
        tokens = band_tokens(found)
        owned = TokenHashes(owners=present[tokens.owners], hashes=tokens.hashes)
        set_bits(bits, owned, per_token, 64 * words, 64 * offset)
    out |= np.packbits(bits, axis=1, bitorder="little").view(np.uint64)


def _slot_values(
    params: ComparisonParams, where: _Slice, index: int, field: int, part: int
) -> tuple[Int64s, tuple[int, int], npt.NDArray[np.uint32] | None, tuple[Int64s, Int64s]]:
    """One comparison's records with a value, its key halves, salt prefixes and spans.

    Missing stays missing: a record without the part gets no bit and no tag.
    """
    first, last = _part_spans(where.starts[field], where.ends[field], part, where.spaces)
    present = np.flatnonzero(first < last)
    keys = int(params.keys[index, 0]), int(params.keys[index, 1])
    salts = None if where.prefixes is None else where.prefixes[present]
    return present, keys, salts, (first[present], last[present])


def _part_spans(first: Int64s, last: Int64s, part: int, spaces: Int64s) -> tuple[Int64s, Int64s]:
    # The first word (part 1), the words after it (2), or the whole value (0).
    if part not in (_FIRST_PART, _REST_PART):
        return first, last
    following = np.searchsorted(spaces, first)
    space = np.append(spaces, np.iinfo(np.int64).max)[following]
    cut = np.minimum(space, last)
    if part == _FIRST_PART:
        return first, cut
    return np.minimum(cut + 1, last), last


def _date_words(
    keys: tuple[int, int],
    codepoints: npt.NDArray[np.uint32],
    starts: Int64s,
    prefixes: npt.NDArray[np.uint32] | None,
) -> npt.NDArray[np.uint64]:
    # Full and swapped tags in words 0 and 1; the three 8-bit partial tags packed in 2.
    tags = [
        tagged_hashes(keys, codepoints, starts, label, offsets, prefixes)
        for label, offsets in _DATE_TAGS
    ]
    low = np.uint64(0xFF)
    partial = (tags[2] & low) | ((tags[3] & low) << 8) | ((tags[4] & low) << 16)
    return np.stack([tags[0], tags[1], partial], axis=1)
