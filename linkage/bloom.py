"""Normalised field values -> keyed record-level Bloom filters (CLKs), compiled with numba.

Construction, per record (Schnell, Bachteler and Reiher 2011, with keyed random hashing):

* every field has its own 128-bit SipHash key, derived from the project secret with HKDF;
* every token (q-gram, date part or whole value) is hashed once with its field's key,
  prefixed by the record's salt when record-level salting is on;
* the token's k bit positions are drawn from that keyed hash by a non-linear mixer
  (SplitMix64), so positions carry none of the linear structure of double hashing that
  pattern-mining attacks exploit (Niedermeyer et al. 2014; Schnell and Borgs 2016);
* optional hardening follows: balancing, XOR-folding, permanent random bit flips.

Filters are packed little-endian: bit i is bit (i % 8) of byte i // 8.
"""

import hashlib
import hmac
from collections.abc import Sequence
from dataclasses import dataclass
from typing import cast

import numpy as np
import numpy.typing as npt
from numba import njit, prange, uint64

from keys import LinkageSecret
from linkage.schema import LinkageSchema, Tokenization, TokenMethod
from linkage.siphash import key_halves, siphash_codepoints

_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_MIX1 = np.uint64(0xBF58476D1CE4E5B9)
_MIX2 = np.uint64(0x94D049BB133111EB)
_LOW32 = np.uint64(0xFFFFFFFF)
PAD_START = 0x02  # code points that never occur in normalised text
PAD_END = 0x03
_METHOD_CODE = {TokenMethod.QGRAMS: 0, TokenMethod.DATE_PARTS: 1, TokenMethod.EXACT: 2}
_SPACE = 0x20


@njit(inline="always", cache=True)
def _mix(value):
    value ^= value >> uint64(30)
    value *= _MIX1
    value ^= value >> uint64(27)
    value *= _MIX2
    return value ^ (value >> uint64(31))


@njit(inline="always", cache=True)
def _set_bits(words, token_hash, bits_per_token, filter_bits):
    # Each 64-bit draw yields two positions, one from each 32-bit half, scaled to the
    # filter length by a multiply-shift (Lemire's fast range reduction).
    for draw in range(0, bits_per_token, 2):
        mixed = _mix(token_hash + uint64(draw // 2 + 1) * _GOLDEN)
        _set_bit(words, mixed >> uint64(32), filter_bits)
        if draw + 1 < bits_per_token:
            _set_bit(words, mixed & _LOW32, filter_bits)


@njit(inline="always", cache=True)
def _set_bit(words, half, filter_bits):
    position = (half * uint64(filter_bits)) >> uint64(32)
    words[position >> uint64(6)] |= uint64(1) << (position & uint64(63))


@njit(inline="always", cache=True)
def _emit(words, key0, key1, buffer, length, bits, filter_bits):
    _set_bits(words, siphash_codepoints(key0, key1, buffer, length), bits, filter_bits)


@njit(cache=True)
def qgram_bits(words, cps, start, end, key0, key1, buffer, prefix, q, padded, bits, filter_bits):
    word_start = start
    for index in range(start, end + 1):
        if index < end and cps[index] != _SPACE:
            continue
        width = index - word_start
        if width > 0:
            pad = q - 1 if padded else 0
            grams = width + 2 * pad - q + 1
            if grams < 1:  # unpadded word shorter than q: the word is one token
                for offset in range(width):
                    buffer[prefix + offset] = cps[word_start + offset]
                _emit(words, key0, key1, buffer, prefix + width, bits, filter_bits)
            for gram in range(grams):
                for offset in range(q):
                    at = gram + offset - pad
                    if at < 0:
                        buffer[prefix + offset] = PAD_START
                    elif at >= width:
                        buffer[prefix + offset] = PAD_END
                    else:
                        buffer[prefix + offset] = cps[word_start + at]
                _emit(words, key0, key1, buffer, prefix + q, bits, filter_bits)
        word_start = index + 1


@njit(cache=True)
def _date_parts(words, cps, start, key0, key1, buffer, prefix, bits, filter_bits):
    # value is YYYY-MM-DD; tokens: Y+year, M+month, D+day, and P+month, P+day, so that a
    # date with day and month swapped still shares the year and both P tokens.
    spans = (
        (ord("Y"), 0, 4),
        (ord("M"), 5, 7),
        (ord("D"), 8, 10),
        (ord("P"), 5, 7),
        (ord("P"), 8, 10),
    )
    for tag, first, last in spans:
        buffer[prefix] = tag
        for offset in range(last - first):
            buffer[prefix + 1 + offset] = cps[start + first + offset]
        _emit(words, key0, key1, buffer, prefix + 1 + last - first, bits, filter_bits)


@njit(cache=True)
def _exact(words, cps, start, end, key0, key1, buffer, prefix, bits, filter_bits):
    for offset in range(end - start):
        buffer[prefix + offset] = cps[start + offset]
    _emit(words, key0, key1, buffer, prefix + end - start, bits, filter_bits)


@njit(cache=True)
def _record_filter(row, cps, starts, ends, plan, keys, salt_field, salt_keys, buffer, words):
    filter_bits = words.shape[0] * 64
    prefix = 0
    if salt_field >= 0:
        first, last = starts[salt_field, row], ends[salt_field, row]
        salt = siphash_codepoints(salt_keys[0], salt_keys[1], cps[first:last], last - first)
        buffer[0] = salt & uint64(0xFFFFFFFF)
        buffer[1] = salt >> uint64(32)
        prefix = 2
    for field in range(starts.shape[0]):
        method, q, padded, bits = plan[field, 0], plan[field, 1], plan[field, 2], plan[field, 3]
        first, last = starts[field, row], ends[field, row]
        if bits == 0 or first == last:  # missing values are absent, never a token
            continue
        key0, key1 = keys[field, 0], keys[field, 1]
        if method == 0:
            qgram_bits(
                words,
                cps,
                first,
                last,
                key0,
                key1,
                buffer,
                prefix,
                q,
                padded == 1,
                bits,
                filter_bits,
            )
        elif method == 1:
            _date_parts(words, cps, first, key0, key1, buffer, prefix, bits, filter_bits)
        else:
            _exact(words, cps, first, last, key0, key1, buffer, prefix, bits, filter_bits)


@njit(cache=True)
def _balance(words, permutation, out):
    # The filter and its complement, permuted: exactly half the bits are one (Berger and
    # Schnell's balanced Bloom filters), so the count of ones no longer leaks name lengths.
    size = words.shape[0] * 64
    for index in range(2 * size):
        bit = (words[(index % size) >> 6] >> uint64(index & 63)) & uint64(1)
        if index >= size:
            bit ^= uint64(1)
        if bit:
            target = permutation[index]
            out[target >> 6] |= uint64(1) << uint64(target & 63)


@njit(cache=True)
def _flip(words, flip_keys, threshold):
    # Permanent randomised response: the coin flips are seeded by a keyed hash of the
    # filter itself, so the same record always gets the same noise (no averaging attack).
    state = siphash_codepoints(
        flip_keys[0], flip_keys[1], words.view(np.uint32), 2 * words.shape[0]
    )
    for index in range(words.shape[0] * 64):
        state += _GOLDEN
        if _mix(state) < threshold:
            words[index >> 6] ^= uint64(1) << uint64(index & 63)


@njit(cache=True)
def _harden(words, permutation, balance, fold, threshold, flip_keys):
    hardened = words
    if balance:
        hardened = np.zeros(2 * words.shape[0], dtype=np.uint64)
        _balance(words, permutation, hardened)
    if fold:
        half = hardened.shape[0] // 2
        hardened = hardened[:half] ^ hardened[half:]
    if threshold:
        _flip(hardened, flip_keys, threshold)
    return hardened


@njit(cache=True)
def _encode_row(row, inputs, out):
    (
        cps,
        starts,
        ends,
        plan,
        keys,
        salt_field,
        salt_keys,
        hardening,
        permutation,
        flip_keys,
        buffer_size,
        base_words,
    ) = inputs
    buffer = np.empty(buffer_size, dtype=np.uint32)
    words = np.zeros(base_words, dtype=np.uint64)
    _record_filter(row, cps, starts, ends, plan, keys, salt_field, salt_keys, buffer, words)
    out[row, :] = _harden(words, permutation, hardening[0], hardening[1], hardening[2], flip_keys)


# Two kernels around one row function: threads for in-process callers, one thread for
# worker processes, where idle OpenMP threads would spin and steal the other core. They
# must be two functions: numba's cache does not tell compilations of one function apart
# by their `parallel` flag.
@njit(parallel=True, cache=True)
def _encode_threaded(inputs, out):
    for row in prange(out.shape[0]):
        _encode_row(row, inputs, out)


@njit(cache=True)
def _encode_serial(inputs, out):
    for row in range(out.shape[0]):
        _encode_row(row, inputs, out)


@dataclass(frozen=True, slots=True, repr=False)
class _PackedColumns:
    codepoints: npt.NDArray[np.uint32]
    starts: npt.NDArray[np.int64]  # fields x rows
    ends: npt.NDArray[np.int64]
    longest: int


def pack_columns(columns: Sequence[Sequence[str | None]], rows: int) -> _PackedColumns:
    # One UTF-32 buffer for all values, each followed by a NUL (which normalised text never
    # holds): two C-level joins and one vectorised search instead of a Python loop per value.
    if any(len(column) != rows for column in columns):
        raise ValueError("all columns must have the same number of rows")
    text = "".join(_joined(column) for column in columns)
    codepoints = np.frombuffer(text.encode("utf-32-le"), dtype=np.uint32)
    ends = np.flatnonzero(codepoints == 0)
    if len(ends) != rows * len(columns):
        raise ValueError("normalised values must not contain NUL characters")
    starts = np.empty_like(ends)
    starts[:1] = 0
    starts[1:] = ends[:-1] + 1
    lengths = ends - starts
    shape = (len(columns), rows)
    return _PackedColumns(
        codepoints=codepoints,
        starts=starts.reshape(shape),
        ends=ends.reshape(shape),
        longest=int(lengths.max(initial=0)),
    )


def _joined(column: Sequence[str | None]) -> str:
    if not column:
        return ""
    try:
        return "\x00".join(cast(Sequence[str], column)) + "\x00"
    except TypeError:  # missing values are None: encode them as empty
        return "\x00".join([value or "" for value in column]) + "\x00"


class BloomEncoder:
    """Encodes normalised records of one schema with one project secret.

    Holds derived keys only; `repr` shows neither keys nor the secret.
    """

    def __init__(self, schema: LinkageSchema, secret: LinkageSecret) -> None:
        """Derive every key the schema needs from the secret (HKDF, once)."""
        self.schema = schema
        field_keys = secret.field_keys(schema.field_names)
        self._keys = np.array(
            [key_halves(field_keys[name]) for name in schema.field_names], dtype=np.uint64
        )
        self._plan = np.array(
            [_plan_row(spec.tokenization, spec.bits_per_token) for spec in schema.fields],
            dtype=np.int64,
        )
        salt = schema.hardening.salt_field
        self._salt_field = schema.field_names.index(salt) if salt else -1
        self._salt_keys = np.array(key_halves(secret.derive("record-salt", length_bytes=16)))
        self._flip_keys = np.array(key_halves(secret.derive("bit-flip", length_bytes=16)))
        self._permutation = _keyed_permutation(
            secret.derive("balance-permutation"), 2 * schema.filter_bits
        )
        flip = schema.hardening.flip_probability
        self._hardening = np.array(
            [schema.hardening.balance, schema.hardening.xor_fold, int(flip * 2.0**64)],
            dtype=np.uint64,
        )

    def __repr__(self) -> str:
        return f"BloomEncoder(schema={self.schema.name!r}, bits={self.schema.encoded_bits})"

    def load_compiled(self) -> None:
        """Load the single-threaded compiled encoder now (from numba's cache, ~0.4 s).

        Worker processes forked afterwards inherit it instead of each loading it again.
        """
        self.encode([[None]] * len(self.schema.fields), threads=False)

    def encode(
        self, columns: Sequence[Sequence[str | None]], *, threads: bool = True
    ) -> npt.NDArray[np.uint8]:
        """Encode normalised values, one sequence per schema field, in schema order.

        Args:
            columns: For each field, the normalised value of every record (None: missing).
            threads: Use every core (numba threads); False keeps to the calling thread.

        Returns:
            rows x (encoded_bits // 8) packed filters.
        """
        if len(columns) != len(self.schema.fields):
            raise ValueError("one column per schema field is required, in schema order")
        rows = len(columns[0]) if columns else 0
        packed = pack_columns(columns, rows)
        out = np.zeros((rows, self.schema.encoded_bits // 64), dtype=np.uint64)
        kernel = _encode_threaded if threads else _encode_serial
        inputs = (
            packed.codepoints,
            packed.starts,
            packed.ends,
            self._plan,
            self._keys,
            self._salt_field,
            self._salt_keys,
            self._hardening,
            self._permutation,
            self._flip_keys,
            packed.longest + 8,
            self.schema.filter_bits // 64,
        )
        kernel(inputs, out)
        return out.view(np.uint8).reshape(rows, self.schema.encoded_bits // 8)


def _plan_row(tokenization: Tokenization, bits: int) -> list[int]:
    method = _METHOD_CODE[tokenization.method]
    return [method, tokenization.q, int(tokenization.padded), bits]


def _keyed_permutation(key: bytes, size: int) -> npt.NDArray[np.int64]:
    # Sort positions by a keyed PRF of the position: a uniformly random permutation that
    # only key holders can compute, and stable across numpy versions (unlike a seeded RNG).
    scores = [
        hmac.new(key, index.to_bytes(4, "big"), hashlib.sha256).digest()[:8]
        for index in range(size)
    ]
    return np.array(sorted(range(size), key=scores.__getitem__), dtype=np.int64)
