"""Arrow arrays from Python strings, built from buffers.

pa.array() on Python objects imports pandas whenever it is installed (a third of a second
of start-up for every command); building the offsets and data buffers directly does not.
"""

from collections.abc import Sequence

import numpy as np
import pyarrow as pa


def string_array(values: Sequence[str]) -> pa.Array:
    """A UTF-8 string array holding `values`, in order."""
    joined = "".join(values)
    data = joined.encode("utf-8")
    if len(data) == len(joined):  # all ASCII: byte lengths are string lengths
        lengths = np.fromiter(map(len, values), dtype=np.int64, count=len(values))
    else:
        lengths = np.fromiter(
            (len(value.encode("utf-8")) for value in values), dtype=np.int64, count=len(values)
        )
    # Arrow's `string` has 32-bit offsets: built as such directly, since a cast loads
    # Arrow's compute functions (20 ms of every small command). 2 GiB of text or more
    # needs 64-bit offsets, and the cast to `string` refuses it with Arrow's own error.
    small = len(data) < 2**31
    offsets = np.zeros(len(values) + 1, dtype=np.int32 if small else np.int64)
    np.cumsum(lengths, out=offsets[1:])
    kind = pa.StringArray if small else pa.LargeStringArray
    array = kind.from_buffers(len(values), pa.py_buffer(offsets), pa.py_buffer(data))
    return array if small else array.cast(pa.string())
