"""Tokens of many values at once -> keyed hashes -> Bloom-filter bit positions, in numpy.

Values are spans of one code point buffer (`linkage.codepoints`). Each token's hash and
positions are those of the compiled kernel (`linkage.compiled.bloom`); only the order in
which tokens are produced differs, which setting bits does not see.
"""

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from linkage.codepoints import PAD_END, PAD_START, SPACE
from linkage.siphash import siphash_rows, siphash_spans
from linkage.splitmix import GOLDEN, mix

# Records are encoded in slices of this many: it bounds the memory of the per-token
# arrays, and smaller arrays stay in the caches (measured: 1,024-2,048 are fastest).
SLICE_ROWS = 2048
Int64s = npt.NDArray[np.int64]


@dataclass(frozen=True, slots=True, repr=False)
class TokenHashes:
    """Hashes of tokens, each with the index of the value (span) it came from."""

    owners: Int64s
    hashes: npt.NDArray[np.uint64]


@dataclass(frozen=True, slots=True, repr=False)
class _Words:
    owners: Int64s  # the span each word belongs to
    widths: Int64s  # code points
    letters: npt.NDArray[np.uint32]  # all words' code points, in order


def qgram_hashes(
    keys: tuple[int, int],
    codepoints: npt.NDArray[np.uint32],
    spans: tuple[Int64s, Int64s],
    q: int,
    *,
    padded: bool,
    prefixes: npt.NDArray[np.uint32] | None,
) -> TokenHashes:
    """Hash the q-grams of every space-separated word of every span.

    Padded words get q - 1 start and end pads; an unpadded word shorter than q is one
    token, itself.

    Args:
        keys: The two SipHash key halves.
        codepoints: The code point buffer.
        spans: Where each value starts and ends in the buffer.
        q: Code points per gram.
        padded: Whether words are padded.
        prefixes: Code points hashed before every token of span i, in row i (the salt).
    """
    words = _words(codepoints, *spans)
    pad = q - 1 if padded else 0
    widths = words.widths + 2 * pad
    offsets = np.cumsum(widths) - widths
    text = np.full(int(widths.sum()), PAD_END, dtype=np.uint32)
    text[(offsets[:, None] + np.arange(pad)).ravel()] = PAD_START
    word_of_letter = np.repeat(np.arange(len(widths)), words.widths)
    text[np.arange(len(words.letters)) + 2 * pad * word_of_letter + pad] = words.letters
    grams = np.maximum(widths - q + 1, 0)
    first = np.repeat(offsets - (np.cumsum(grams) - grams), grams) + np.arange(int(grams.sum()))
    owners = np.repeat(words.owners, grams)
    messages = _prefixed(text[first[:, None] + np.arange(q)], prefixes, owners)
    found = TokenHashes(owners=owners, hashes=siphash_rows(*keys, messages))
    short = np.flatnonzero(grams == 0)  # unpadded words shorter than q
    if not len(short):
        return found
    whole = siphash_spans(
        *keys,
        text,
        offsets[short],
        widths[short],
        None if prefixes is None else prefixes[words.owners[short]],
    )
    return TokenHashes(
        owners=np.concatenate([owners, words.owners[short]]),
        hashes=np.concatenate([found.hashes, whole]),
    )


def tagged_hashes(
    keys: tuple[int, int],
    codepoints: npt.NDArray[np.uint32],
    starts: Int64s,
    tag: int,
    offsets: tuple[int, ...],
    prefixes: npt.NDArray[np.uint32] | None,
) -> npt.NDArray[np.uint64]:
    """Hash of `tag` and the code points at `offsets` from each start, after its prefix.

    For the parts of a YYYY-MM-DD date. A value shorter than that reads on into the
    buffer, as the compiled kernels do, but never past its end.
    """
    at = np.minimum(starts[:, None] + np.array(offsets), len(codepoints) - 1)
    messages = np.empty((len(starts), 1 + len(offsets)), dtype=np.uint32)
    messages[:, 0] = tag
    messages[:, 1:] = codepoints[at]
    if prefixes is not None:
        messages = np.concatenate([prefixes, messages], axis=1)
    return siphash_rows(*keys, messages)


def salt_prefixes(
    codepoints: npt.NDArray[np.uint32],
    spans: tuple[Int64s, Int64s],
    salt_keys: npt.NDArray[np.uint64],
) -> npt.NDArray[np.uint32]:
    """The two code points hashed before every token of a record: its salt value's hash."""
    salt = siphash_spans(
        int(salt_keys[0]), int(salt_keys[1]), codepoints, spans[0], spans[1] - spans[0]
    )
    return salt.view(np.uint32).reshape(-1, 2)  # low half first, as the kernel writes it


def _words(codepoints: npt.NDArray[np.uint32], starts: Int64s, ends: Int64s) -> _Words:
    lengths = ends - starts
    first_of_span = np.cumsum(lengths) - lengths
    chars = codepoints[np.repeat(starts - first_of_span, lengths) + np.arange(int(lengths.sum()))]
    space = chars == SPACE
    # A word starts at a letter that begins its span or follows a space; runs of spaces
    # make no empty words.
    after_space = np.empty_like(space)
    after_space[:1] = True
    after_space[1:] = space[:-1]
    after_space[first_of_span[lengths > 0]] = True
    begins = ~space & after_space
    letters = np.flatnonzero(~space)
    word_of_letter = np.cumsum(begins)[letters] - 1
    word_starts = np.flatnonzero(begins)
    span_of_char = np.repeat(np.arange(len(starts)), lengths)
    return _Words(
        owners=span_of_char[word_starts],
        widths=np.bincount(word_of_letter, minlength=len(word_starts)).astype(np.int64),
        letters=chars[letters],
    )


def _prefixed(
    messages: npt.NDArray[np.uint32], prefixes: npt.NDArray[np.uint32] | None, owners: Int64s
) -> npt.NDArray[np.uint32]:
    if prefixes is None:
        return messages
    return np.concatenate([prefixes[owners], messages], axis=1)


def set_bits(
    bits: npt.NDArray[np.uint8],
    found: TokenHashes,
    per_token: int,
    filter_bits: int,
    offset: int = 0,
) -> None:
    """Set each token's bit positions in its owner's row of a rows x bits 0/1 matrix.

    Each 64-bit SplitMix draw from the token's hash gives two positions, one per 32-bit
    half, scaled to the filter by a multiply-shift (as the compiled kernel draws them).

    Args:
        bits: The matrix, one row per owner.
        found: The tokens.
        per_token: Positions per token.
        filter_bits: Size of the filter the positions fall in.
        offset: Where in the row that filter begins.
    """
    pairs, odd = divmod(per_token, 2)
    steps = np.arange(1, pairs + odd + 1, dtype=np.uint64) * GOLDEN
    mixed = mix(steps[:, None] + found.hashes)  # draws x tokens
    base = found.owners * bits.shape[1] + offset
    flat = bits.reshape(-1)
    # Both halves of each full draw; little-endian, so the low half comes first.
    halves = mixed[:pairs].view(np.uint32).reshape(pairs, len(base), 2)
    flat[_placed(halves, filter_bits, base[:, None]).ravel()] = 1
    if odd:  # the last draw gives only its high half
        flat[_placed(mixed[pairs] >> 32, filter_bits, base)] = 1


def _placed(halves: npt.NDArray[np.unsignedinteger], filter_bits: int, base: Int64s) -> Int64s:
    # base + (half * filter_bits) >> 32: a shift alone when filter_bits is a power of two.
    at: Int64s
    if filter_bits & (filter_bits - 1) == 0:
        at = np.right_shift(halves, 33 - filter_bits.bit_length(), dtype=np.int64)
    else:
        scaled = np.multiply(halves, filter_bits, dtype=np.uint64)
        scaled >>= 32
        at = scaled.view(np.int64)  # below filter_bits: the same value
    at += base
    return at
