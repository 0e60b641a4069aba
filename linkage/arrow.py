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
    offsets = np.zeros(len(values) + 1, dtype=np.int64)
    np.cumsum(lengths, out=offsets[1:])
    return pa.LargeStringArray.from_buffers(
        len(values), pa.py_buffer(offsets), pa.py_buffer(data)
    ).cast(pa.string())
