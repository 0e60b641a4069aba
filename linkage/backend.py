"""Which implementation encodes: numpy for small inputs, numba's compiled kernels for large.

The two give the same encodings, bit for bit; they differ in cost. The compiled kernels
encode about twice as fast per record, but loading numba and their cached machine code
takes about half a second, once per process: below `SMALL_ROWS` records numpy finishes
first. The choice is made once per input, never per chunk of one.
"""

from enum import StrEnum

# Measured with the whole `fieldlink encode` on FEBRL4-like files (distinct values), one
# core and two workers alike: numpy is ahead by 0.5 s at 5,000 records and 0.3 s at
# 100,000, the two tie near 200,000 and numba is ahead beyond (0.2-0.5 s at 400,000). On
# the encoding step alone numpy costs 3-3.5 us a record more (FEBRL and person schemas),
# against numba's ~0.5 s start-up: a break-even of 140,000-200,000 records. The margin
# keeps numpy to sizes where it was faster in every measurement.
SMALL_ROWS = 100_000
# A CSV row of the shipped schemas is 90-100 bytes (FEBRL4 93, `fieldlink synth` 100):
# enough to decide, from the file's size, whether to load numba while the file is read.
CSV_BYTES_PER_ROW = 90


class Backend(StrEnum):
    """An implementation of the encoders."""

    VECTORIZED = "vectorized"  # numpy (`linkage.vectorized`): nothing to load
    COMPILED = "compiled"  # numba (`linkage.compiled`): ~0.45 s to load, then faster

    @classmethod
    def for_rows(cls, rows: int) -> "Backend":
        """The cheaper implementation for this many records."""
        return cls.VECTORIZED if rows < SMALL_ROWS else cls.COMPILED

    @classmethod
    def for_csv_bytes(cls, size_bytes: int) -> "Backend":
        """The cheaper implementation for a CSV file of this size, before it is read."""
        return cls.for_rows(size_bytes // CSV_BYTES_PER_ROW)
