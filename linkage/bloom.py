"""Normalised field values -> keyed record-level Bloom filters (CLKs).

Construction, per record (Schnell, Bachteler and Reiher 2011, with keyed random hashing):

* every field has its own 128-bit SipHash key, derived from the project secret with HKDF;
* every token (q-gram, date part or whole value) is hashed once with its field's key,
  prefixed by the record's salt when record-level salting is on;
* the token's k bit positions are drawn from that keyed hash by a non-linear mixer
  (SplitMix64), so positions carry none of the linear structure of double hashing that
  pattern-mining attacks exploit (Niedermeyer et al. 2014; Schnell and Borgs 2016);
* optional hardening follows: balancing, XOR-folding, permanent random bit flips.

Filters are packed little-endian: bit i is bit (i % 8) of byte i // 8.

Two implementations set the same bits: `linkage.compiled.bloom` (numba) for large inputs
and `linkage.vectorized.bloom` (numpy) for small ones, which then never wait for numba to
load (`linkage.backend`). This module imports neither until it encodes.
"""

import hashlib
import hmac
from collections.abc import Sequence
from dataclasses import dataclass, replace

import numpy as np
import numpy.typing as npt

from keys import LinkageSecret
from linkage.backend import Backend
from linkage.codepoints import PackedColumns, pack_columns
from linkage.schema import LinkageSchema, Tokenization, TokenMethod
from linkage.siphash import key_halves

METHOD_CODES = {TokenMethod.QGRAMS: 0, TokenMethod.DATE_PARTS: 1, TokenMethod.EXACT: 2}


@dataclass(frozen=True, slots=True, repr=False)  # holds derived keys: no repr
class FilterParams:
    """What both implementations need to encode one schema's filters (derived keys included)."""

    plan: npt.NDArray[np.int64]  # per field: method code, q, padded, bits per token
    keys: npt.NDArray[np.uint64]  # per field: the two SipHash key halves
    salt_field: int  # the field whose value salts the record, or -1
    salt_keys: npt.NDArray[np.uint64]
    hardening: npt.NDArray[np.uint64]  # balance, xor fold, flip threshold (of 2**64)
    permutation: npt.NDArray[np.int64]  # of 2 * filter_bits positions (empty unbalanced)
    flip_keys: npt.NDArray[np.uint64]
    filter_bits: int


class BloomEncoder:
    """Encodes normalised records of one schema with one project secret.

    Holds derived keys only; `repr` shows neither keys nor the secret.
    """

    def __init__(
        self, schema: LinkageSchema, secret: LinkageSecret, *, backend: Backend | None = None
    ) -> None:
        """Derive every key the schema needs from the secret (HKDF, once).

        Args:
            schema: The linkage schema.
            secret: The project linkage secret.
            backend: Always use this implementation; None chooses for each call by its
                number of records (`Backend.for_rows`).
        """
        self.schema = schema
        self.backend = backend
        field_keys = secret.field_keys(schema.field_names)
        salt = schema.hardening.salt_field
        flip = schema.hardening.flip_probability
        self._params = FilterParams(
            plan=np.array(
                [_plan_row(spec.tokenization, spec.bits_per_token) for spec in schema.fields],
                dtype=np.int64,
            ),
            keys=np.array(
                [key_halves(field_keys[name]) for name in schema.field_names], dtype=np.uint64
            ),
            salt_field=schema.field_names.index(salt) if salt else -1,
            salt_keys=np.array(key_halves(secret.derive("record-salt", length_bytes=16))),
            hardening=np.array(
                [schema.hardening.balance, schema.hardening.xor_fold, int(flip * 2.0**64)],
                dtype=np.uint64,
            ),
            permutation=_keyed_permutation(
                secret.derive("balance-permutation"),
                2 * schema.filter_bits if schema.hardening.balance else 0,  # unused then
            ),
            flip_keys=np.array(key_halves(secret.derive("bit-flip", length_bytes=16))),
            filter_bits=schema.filter_bits,
        )

    def __repr__(self) -> str:
        return f"BloomEncoder(schema={self.schema.name!r}, bits={self.schema.family_bits})"

    def load_compiled(self) -> None:
        """Load the single-threaded compiled encoder now (numba and its cache, ~0.4 s).

        Worker processes forked afterwards inherit it instead of each loading it again.
        """
        self.encode([[None]] * len(self.schema.fields), threads=False, backend=Backend.COMPILED)

    def encode(
        self,
        columns: Sequence[Sequence[str | None]],
        *,
        threads: bool = True,
        backend: Backend | None = None,
    ) -> npt.NDArray[np.uint8]:
        """Encode normalised values, one sequence per schema field, in schema order.

        Args:
            columns: For each field, the normalised value of every record (None: missing).
            threads: Compiled: use every core (numba threads); False keeps to the calling
                thread. The numpy implementation always runs on the calling thread.
            backend: The implementation for this call; None: the encoder's, else by size.

        Returns:
            rows x (encoded_bits // 8) packed filters.
        """
        return self.encode_packed(
            pack_columns(columns, len(self.schema.fields)), threads=threads, backend=backend
        )

    def encode_packed(
        self,
        packed: PackedColumns,
        *,
        threads: bool = True,
        backend: Backend | None = None,
        salted: bool = False,
    ) -> npt.NDArray[np.uint8]:
        """`encode` of values already packed (`pack_columns`), as both encoders share them.

        With `salted`, `packed` holds one column more than the schema has fields: each
        record's salt (a salt family's, `linkage.salting`), which salts every token.
        """
        rows = packed.starts.shape[1]
        # the salt is the packed columns' last (extra) column
        params = (
            replace(self._params, salt_field=packed.starts.shape[0] - 1) if salted else self._params
        )
        bits = self.schema.family_bits
        if (backend or self.backend or Backend.for_rows(rows)) is Backend.VECTORIZED:
            from linkage.vectorized.bloom import encode_filters

            return encode_filters(packed, params, bits)
        from linkage.compiled.bloom import encode_filters as compiled_filters

        out = np.zeros((rows, bits // 64), dtype=np.uint64)
        compiled_filters(packed, params, out, threads=threads)
        return out.view(np.uint8).reshape(rows, bits // 8)


def _plan_row(tokenization: Tokenization, bits: int) -> list[int]:
    method = METHOD_CODES[tokenization.method]
    return [method, tokenization.q, int(tokenization.padded), bits]


def _keyed_permutation(key: bytes, size: int) -> npt.NDArray[np.int64]:
    # Sort positions by a keyed PRF of the position: a uniformly random permutation that
    # only key holders can compute, and stable across numpy versions (unlike a seeded RNG).
    scores = [
        hmac.new(key, index.to_bytes(4, "big"), hashlib.sha256).digest()[:8]
        for index in range(size)
    ]
    return np.array(sorted(range(size), key=scores.__getitem__), dtype=np.int64)
