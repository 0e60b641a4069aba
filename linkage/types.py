"""Domain type aliases shared by the linkage package."""

from collections.abc import Mapping

import numpy as np
import numpy.typing as npt

FieldName = str
Record = Mapping[FieldName, str]  # one input row: column or field name -> raw text
FilterMatrix = npt.NDArray[
    np.uint8
]  # n x (filter_bits // 8) packed Bloom filters, bit order little
