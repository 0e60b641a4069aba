"""Normalised values -> per-record comparison encodings: one keyed slot per field part.

The record-level CLK mixes every field into one filter, so a missing phone number and a
different one look the same, and a matching date of birth counts no more than a matching
sex. Field-aware scoring (`linkage.match.scoring`) needs each part on its own, still keyed:

* a presence mask (word 0): bit c is set when comparison c has a value, so missing is
  known as missing and never counts as a disagreement;
* `bloom` parts: a small keyed q-gram Bloom filter (Schnell et al. 2009, field-level), for
  Dice levels that tolerate typos;
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
"""

import json
from collections.abc import Sequence

import numpy as np
import numpy.typing as npt
from numba import njit, prange, uint64

from keys import LinkageSecret
from linkage.bloom import pack_columns, qgram_bits
from linkage.match.layout import LAYOUT_FORMAT, METHOD_CODES, ComparisonLayout
from linkage.schema import ComparisonMethod, ComparisonPart, ComparisonSpec, LinkageSchema
from linkage.siphash import key_halves, siphash_codepoints

COMPARISON_PURPOSE = "comparison"  # HKDF purpose; the CLK's field keys use "field-hash"
_PART_CODE = {ComparisonPart.ALL: 0, ComparisonPart.FIRST: 1, ComparisonPart.REST: 2}
_SPACE = 0x20
_DATE_WORDS = 3  # full tag, swapped tag, three packed 8-bit partial tags
_EXACT_WORDS = 1


@njit(inline="always", cache=True)
def _part_span(cps, first, last, part):
    """The span of the first word (part 1), of the words after it (2), or all (0)."""
    if part == 0:
        return first, last
    cut = first
    while cut < last and cps[cut] != _SPACE:
        cut += 1
    if part == 1:
        return first, cut
    return min(cut + 1, last), last


@njit(inline="always", cache=True)
def _tag(key0, key1, buffer, prefix, cps, first, last):
    for offset in range(last - first):
        buffer[prefix + offset] = cps[first + offset]
    return siphash_codepoints(key0, key1, buffer, prefix + last - first)


@njit(inline="always", cache=True)
def _date_tag(key0, key1, buffer, prefix, cps, start, label, spans):
    # spans: (first, last) offsets into YYYY-MM-DD, in the order they are hashed.
    buffer[prefix] = label
    size = prefix + 1
    for first, last in spans:
        for offset in range(first, last):
            buffer[size] = cps[start + offset]
            size += 1
    return siphash_codepoints(key0, key1, buffer, size)


@njit(cache=True)
def _date_words(row_words, offset, key0, key1, buffer, prefix, cps, start):
    year, month, day = (0, 4), (5, 7), (8, 10)
    full = _date_tag(key0, key1, buffer, prefix, cps, start, 70, (year, month, day))
    swapped = _date_tag(key0, key1, buffer, prefix, cps, start, 70, (year, day, month))
    year_month = _date_tag(key0, key1, buffer, prefix, cps, start, 65, (year, month))
    year_day = _date_tag(key0, key1, buffer, prefix, cps, start, 66, (year, day))
    month_day = _date_tag(key0, key1, buffer, prefix, cps, start, 67, (month, day))
    row_words[offset] = full
    row_words[offset + 1] = swapped
    low = uint64(0xFF)
    row_words[offset + 2] = (
        (year_month & low) | ((year_day & low) << uint64(8)) | ((month_day & low) << uint64(16))
    )


@njit(cache=True)
def _salt_prefix(row, cps, starts, ends, salt_field, salt_keys, buffer):
    if salt_field < 0:
        return 0
    first, last = starts[salt_field, row], ends[salt_field, row]
    salt = siphash_codepoints(salt_keys[0], salt_keys[1], cps[first:last], last - first)
    buffer[0] = salt & uint64(0xFFFFFFFF)
    buffer[1] = salt >> uint64(32)
    return 2


@njit(cache=True)
def _encode_row(row, inputs, out):
    cps, starts, ends, plan, keys, salt_field, salt_keys, buffer_size = inputs
    buffer = np.empty(buffer_size, dtype=np.uint32)
    row_words = out[row]
    prefix = _salt_prefix(row, cps, starts, ends, salt_field, salt_keys, buffer)
    for index in range(plan.shape[0]):
        field, part, method, offset, words, per_token = plan[index]
        first, last = _part_span(cps, starts[field, row], ends[field, row], part)
        if first >= last:  # missing stays missing: no bit, no tag
            continue
        row_words[0] |= uint64(1) << uint64(index)
        key0, key1 = keys[index, 0], keys[index, 1]
        if method == 0:
            slot = row_words[offset : offset + words]
            qgram_bits(
                slot, cps, first, last, key0, key1, buffer, prefix, 2, True, per_token, 64 * words
            )
        elif method == 1:
            row_words[offset] = _tag(key0, key1, buffer, prefix, cps, first, last)
        elif last - first == 10:  # a normalised date: YYYY-MM-DD
            _date_words(row_words, offset, key0, key1, buffer, prefix, cps, first)


@njit(parallel=True, cache=True)
def _encode_threaded(inputs, out):
    for row in prange(out.shape[0]):
        _encode_row(row, inputs, out)


@njit(cache=True)
def _encode_serial(inputs, out):
    for row in range(out.shape[0]):
        _encode_row(row, inputs, out)


def comparison_layout(schema: LinkageSchema) -> ComparisonLayout:
    """Where each comparison of the schema sits in the encoding (public, no key)."""
    entries, offset = [], 1  # word 0 is the presence mask
    for spec in schema.comparisons:
        words = {
            ComparisonMethod.BLOOM: spec.bits // 64,
            ComparisonMethod.EXACT: _EXACT_WORDS,
            ComparisonMethod.DATE: _DATE_WORDS,
        }[spec.method]
        entries.append(
            {
                "name": spec.name,
                "method": spec.method.value,
                "offset": offset,
                "words": words,
                "crosswise": spec.crosswise,
            }
        )
        offset += words
    document = {"format": LAYOUT_FORMAT, "words": offset, "comparisons": entries}
    return ComparisonLayout.parse(json.dumps(document, sort_keys=True, separators=(",", ":")))


def _key_label(spec: ComparisonSpec) -> str:
    # Crosswise comparisons share a key, or a given name could never meet the same name
    # written as a surname; every other comparison has a key of its own.
    if spec.crosswise is None:
        return spec.name
    return "+".join(sorted((spec.name, spec.crosswise)))


class ComparisonEncoder:
    """Encodes the comparisons of one schema with one project secret (keys only, no repr)."""

    def __init__(self, schema: LinkageSchema, secret: LinkageSecret) -> None:
        """Derive one key per comparison (HKDF purpose "comparison") and the layout."""
        self.schema = schema
        self.layout = comparison_layout(schema)
        fields = schema.field_names
        self._keys = np.array(
            [
                key_halves(secret.derive(COMPARISON_PURPOSE, _key_label(spec), length_bytes=16))
                for spec in schema.comparisons
            ],
            dtype=np.uint64,
        ).reshape(-1, 2)
        self._plan = np.array(
            [
                [
                    fields.index(spec.field),
                    _PART_CODE[spec.part],
                    METHOD_CODES[spec.method.value],
                    entry.offset,
                    entry.words,
                    spec.bits_per_token,
                ]
                for spec, entry in zip(schema.comparisons, self.layout.entries, strict=True)
            ],
            dtype=np.int64,
        ).reshape(-1, 6)
        salt = schema.hardening.salt_field
        self._salt_field = fields.index(salt) if salt else -1
        self._salt_keys = np.array(key_halves(secret.derive("record-salt", length_bytes=16)))

    def __repr__(self) -> str:
        return f"ComparisonEncoder(schema={self.schema.name!r}, words={self.layout.words})"

    def load_compiled(self) -> None:
        """Load the single-threaded compiled encoder now, before forking workers."""
        self.encode([[None]] * len(self.schema.fields), threads=False)

    def encode(
        self, columns: Sequence[Sequence[str | None]], *, threads: bool = True
    ) -> npt.NDArray[np.uint8]:
        """Encode normalised values (one sequence per schema field, in schema order).

        Returns:
            rows x (8 * layout.words) bytes: the presence mask, then each comparison's slot.
        """
        if len(columns) != len(self.schema.fields):
            raise ValueError("one column per schema field is required, in schema order")
        rows = len(columns[0]) if columns else 0
        packed = pack_columns(columns, rows)
        out = np.zeros((rows, self.layout.words), dtype=np.uint64)
        inputs = (
            packed.codepoints,
            packed.starts,
            packed.ends,
            self._plan,
            self._keys,
            self._salt_field,
            self._salt_keys,
            packed.longest + 16,
        )
        (_encode_threaded if threads else _encode_serial)(inputs, out)
        return out.view(np.uint8).reshape(rows, 8 * self.layout.words)
