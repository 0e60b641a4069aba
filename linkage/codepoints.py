"""Columns of normalised text -> one buffer of UTF-32 code points, with each value's span.

Every encoder, compiled or numpy, reads values from this one buffer: a value is
`codepoints[starts[field, row]:ends[field, row]]`, and an empty span is a missing value.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from typing import cast

import numpy as np
import numpy.typing as npt

PAD_START = 0x02  # q-gram padding: code points that never occur in normalised text
PAD_END = 0x03
SPACE = 0x20  # separates the words of a value


@dataclass(frozen=True, slots=True, repr=False)
class PackedColumns:
    """The code points of every value, and where each value starts and ends."""

    codepoints: npt.NDArray[np.uint32]
    starts: npt.NDArray[np.int64]  # fields x rows
    ends: npt.NDArray[np.int64]
    longest: int  # code points in the longest value


def pack_columns(columns: Sequence[Sequence[str | None]], fields: int) -> PackedColumns:
    """Pack one sequence of normalised values (None: missing) per field, all as long.

    Args:
        columns: The values of each of the schema's `fields` fields, in schema order.
        fields: How many fields the schema has.
    """
    # One UTF-32 buffer for all values, each followed by a NUL (which normalised text never
    # holds): two C-level joins and one vectorised search instead of a Python loop per value.
    if len(columns) != fields:
        raise ValueError("one column per schema field is required, in schema order")
    rows = len(columns[0]) if columns else 0
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
    return PackedColumns(
        codepoints=codepoints,
        starts=starts.reshape(shape),
        ends=ends.reshape(shape),
        longest=int(lengths.max(initial=0)),
    )


def with_column(packed: PackedColumns, column: Sequence[str | None]) -> PackedColumns:
    """`packed` with one more column (a salt family's salts), packing only the new one."""
    extra = pack_columns([column], 1)
    shift = len(packed.codepoints)
    return PackedColumns(
        codepoints=np.concatenate([packed.codepoints, extra.codepoints]),
        starts=np.vstack([packed.starts, extra.starts + shift]),
        ends=np.vstack([packed.ends, extra.ends + shift]),
        longest=max(packed.longest, extra.longest),
    )


def _joined(column: Sequence[str | None]) -> str:
    if not column:
        return ""
    try:
        return "\x00".join(cast(Sequence[str], column)) + "\x00"
    except TypeError:  # missing values are None: encode them as empty
        return "\x00".join([value or "" for value in column]) + "\x00"
