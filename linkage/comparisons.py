"""Normalised values -> per-record comparison encodings: one keyed slot per field part.

The record-level CLK mixes every field into one filter, so a missing phone number and a
different one look the same, and a matching date of birth counts no more than a matching
sex. Field-aware scoring (`linkage.match.scoring`) needs each part on its own, still keyed:

* a presence mask (word 0): bit c is set when comparison c has a value, so missing is
  known as missing and never counts as a disagreement;
* `bloom` parts: a small keyed q-gram Bloom filter (Schnell et al. 2009, field-level), for
  Dice levels that tolerate typos;
* `bands` parts: the same levels from keyed MinHash bands of the q-grams
  (`linkage.vectorized.bands`): a bit stands for a key-chosen combination of q-grams, so
  the bits of names a hub has guessed tell it nothing about other names (the shipped
  person schema's names);
* `exact` parts: one 64-bit SipHash tag of the whole value (equality only);
* `date` parts: tags of year-month-day and of year-day-month (so a date whose day and
  month were swapped still meets its original), and one 8-bit tag each of year-month,
  year-day and month-day (a typo in one component leaves two intact). Those three are
  truncated to 8 bits on purpose: each then stands for several values, so counting them
  reveals little, while a chance agreement (about 1 in 256) is measured like any other.

Every token is hashed with a key derived by HKDF with purpose "comparison" and the
comparison's name, independent of the CLK's field keys ("field-hash"), and prefixed by
the record-level salt when the schema salts. Fields with few distinct values (sex,
nationality) are refused by the schema: a tag of them alone is broken by counting.
Comparisons that are tried crosswise (a given name against a surname) share one key.

What this leaks beyond the CLK, and why it is accepted: equal parts give equal slots, so
the hub can count how often each (keyed, unreadable) first name, surname or date occurs.
For parts with many values that frequency is spread thin; a population frequency table
could still put names to the most common slots, as for any field-level Bloom filter
(Kuzu et al. 2011). `hardening.salt_field` limits equality to records sharing the salt
value, as for the CLK; balancing, folding and bit flips harden the CLK only (on filters
of a few dozen bits they would drown the Dice levels).

Two implementations write the same words: `linkage.compiled.comparisons` (numba) for large
inputs and `linkage.vectorized.comparisons` (numpy) for small ones (`linkage.backend`).
This module imports neither until it encodes.
"""

import json
from collections.abc import Sequence
from dataclasses import dataclass, replace

import numpy as np
import numpy.typing as npt

from keys import LinkageSecret
from linkage.backend import Backend
from linkage.codepoints import PackedColumns, pack_columns
from linkage.match.layout import LAYOUT_FORMAT, METHOD_CODES, ComparisonLayout
from linkage.schema import (
    ComparisonMethod,
    ComparisonPart,
    ComparisonSpec,
    LinkageSchema,
    split_salt_part,
)
from linkage.siphash import key_halves

COMPARISON_PURPOSE = "comparison"  # HKDF purpose; the CLK's field keys use "field-hash"
PART_CODES = {ComparisonPart.ALL: 0, ComparisonPart.FIRST: 1, ComparisonPart.REST: 2}
_DATE_WORDS = 3  # full tag, swapped tag, three packed 8-bit partial tags
_EXACT_WORDS = 1


@dataclass(frozen=True, slots=True, repr=False)  # holds derived keys: no repr
class ComparisonParams:
    """What both implementations need to encode one schema's comparisons (keys included)."""

    # per comparison: field, part code, method code, offset and words of its slot, bits
    # per token (bloom)
    plan: npt.NDArray[np.int64]
    keys: npt.NDArray[np.uint64]  # per comparison: the two SipHash key halves
    salt_field: int  # the field whose value salts the record, or -1
    salt_keys: npt.NDArray[np.uint64]


def comparison_layout(schema: LinkageSchema) -> ComparisonLayout:
    """Where each comparison of the schema sits in the encoding (public, no key)."""
    entries, offset = [], 1  # word 0 is the presence mask
    for spec in schema.comparisons:
        words = {
            ComparisonMethod.BLOOM: spec.bits // 64,
            ComparisonMethod.BANDS: spec.bits // 64,
            ComparisonMethod.EXACT: _EXACT_WORDS,
            ComparisonMethod.DATE: _DATE_WORDS,
        }[spec.method]
        entry: dict[str, object] = {
            "name": spec.name,
            "method": spec.method.value,
            "offset": offset,
            "words": words,
            "crosswise": spec.crosswise,
        }
        if spec.personal:  # other layouts keep their text (batches their digest)
            entry["personal"] = True
        entries.append(entry)
        offset += words
    document: dict[str, object] = {
        "format": LAYOUT_FORMAT,
        "words": offset,
        "comparisons": entries,
    }
    if schema.hardening.salt_families:  # other layouts keep their text (batches their digest)
        families = schema.hardening.salt_families
        document["families"] = [family.name for family in families]
        # The comparisons each family's salt reads (their field is in it): the hub pools
        # what matches look like over the families that do not (`scoring.fit_families`).
        document["family_comparisons"] = [
            sorted(
                spec.name
                for spec in schema.comparisons
                if any(spec.field in split_salt_part(part)[0] for part in family.parts)
            )
            for family in families
        ]
        if schema.hardening.group_filters:  # candidates: the pairs of equal filters
            document["group_filters"] = True
    return ComparisonLayout.parse(json.dumps(document, sort_keys=True, separators=(",", ":")))


def _plan(schema: LinkageSchema, layout: ComparisonLayout) -> npt.NDArray[np.int64]:
    rows = [
        [
            schema.field_names.index(spec.field),
            PART_CODES[spec.part],
            METHOD_CODES[spec.method.value],
            entry.offset,
            entry.words,
            spec.bits_per_token,
        ]
        for spec, entry in zip(schema.comparisons, layout.entries, strict=True)
    ]
    return np.array(rows, dtype=np.int64).reshape(-1, 6)


def _key_label(spec: ComparisonSpec) -> str:
    # Crosswise comparisons share a key, or a given name could never meet the same name
    # written as a surname; every other comparison has a key of its own.
    if spec.crosswise is None:
        return spec.name
    return "+".join(sorted((spec.name, spec.crosswise)))


class ComparisonEncoder:
    """Encodes the comparisons of one schema with one project secret (keys only, no repr)."""

    def __init__(
        self, schema: LinkageSchema, secret: LinkageSecret, *, backend: Backend | None = None
    ) -> None:
        """Derive one key per comparison (HKDF purpose "comparison") and the layout.

        Args:
            schema: The linkage schema.
            secret: The project linkage secret.
            backend: Always use this implementation; None chooses for each call by its
                number of records (`Backend.for_rows`).
        """
        self.schema = schema
        self.backend = backend
        self.layout = comparison_layout(schema)
        self._bands = any(spec.method is ComparisonMethod.BANDS for spec in schema.comparisons)
        fields = schema.field_names
        salt = schema.hardening.salt_field
        self._params = ComparisonParams(
            plan=_plan(schema, self.layout),
            keys=np.array(
                [
                    key_halves(secret.derive(COMPARISON_PURPOSE, _key_label(spec), length_bytes=16))
                    for spec in schema.comparisons
                ],
                dtype=np.uint64,
            ).reshape(-1, 2),
            salt_field=fields.index(salt) if salt else -1,
            salt_keys=np.array(key_halves(secret.derive("record-salt", length_bytes=16))),
        )

    def __repr__(self) -> str:
        return f"ComparisonEncoder(schema={self.schema.name!r}, words={self.layout.words})"

    def load_compiled(self) -> None:
        """Load the single-threaded compiled encoder now, before forking workers.

        Both of its forms: into an array of its own, and into a family's columns of a wider
        one (`encode_packed`'s `out`, numba's other array layout).
        """
        packed = pack_columns([[None]] * len(self.schema.fields), len(self.schema.fields))
        self.encode_packed(packed, threads=False, backend=Backend.COMPILED)
        wider = np.zeros((1, 2 * self.layout.words), dtype=np.uint64)
        out = wider[:, : self.layout.words]
        self.encode_packed(packed, threads=False, backend=Backend.COMPILED, out=out)

    def encode(
        self,
        columns: Sequence[Sequence[str | None]],
        *,
        threads: bool = True,
        backend: Backend | None = None,
    ) -> npt.NDArray[np.uint8]:
        """Encode normalised values (one sequence per schema field, in schema order).

        Args:
            columns: For each field, the normalised value of every record (None: missing).
            threads: Compiled: use every core (numba threads); False keeps to the calling
                thread. The numpy implementation always runs on the calling thread.
            backend: The implementation for this call; None: the encoder's, else by size.

        Returns:
            rows x (8 * layout.words) bytes: the presence mask, then each comparison's slot.
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
        out: npt.NDArray[np.uint64] | None = None,
    ) -> npt.NDArray[np.uint8]:
        """`encode` of values already packed (`pack_columns`), as both encoders share them.

        With `salted`, the packed columns' last (extra) column is each record's salt.
        The result is one family's encoding: rows x (8 * layout.words) bytes, written into
        `out` when given (rows x layout.words, zeroed: a family's columns of the encoding
        of every family, which then needs no copy).
        """
        rows = packed.starts.shape[1]
        if out is None:
            out = np.zeros((rows, self.layout.words), dtype=np.uint64)
        params = (
            replace(self._params, salt_field=packed.starts.shape[0] - 1) if salted else self._params
        )
        if (backend or self.backend or Backend.for_rows(rows)) is Backend.VECTORIZED:
            from linkage.vectorized.comparisons import band_slots, encode_comparisons

            encode_comparisons(packed, params, out)
            if self._bands:
                band_slots(packed, params, out)
        else:
            from linkage.compiled.comparisons import encode_comparisons as compiled_comparisons

            compiled_comparisons(packed, params, out, threads=threads)  # bands included
        return out.view(np.uint8).reshape(rows, 8 * self.layout.words)
