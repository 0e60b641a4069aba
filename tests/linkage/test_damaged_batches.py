"""A batch file damaged anywhere is refused as a BatchError by every reader, never a crash.

Arrow's own file reader takes the buffer offsets a file states, and a damaged file could
make a later read of its table run past them: one byte changed in a 50-record file made
`read_batch` end the process (a segmentation fault) before it checked tables in full.
Column names that are not UTF-8 and two columns of one name raised Python errors of
other kinds. Each reader is run on every damaged copy in a child process, so that a crash
fails this test instead of the test run.
"""

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

_CHILD = r"""
import numpy as np
from linkage.batch import read_batch
from linkage.batch_stream import (
    pick_envelopes, read_for_matching, read_reference_column, read_streamed,
)
from linkage.errors import BatchError
from tests.linkage.test_batch import to_bytes
from tests.linkage.test_batch_stream import full_batch, pieces
from tests.linkage.test_digested import grouped_batch

readers = {
    "read_batch": lambda data: read_batch(data),
    "read_streamed": lambda data: read_streamed(pieces(data, 4096), size_bytes=len(data)),
    "read_for_matching": lambda data: read_for_matching(pieces(data, 4096), size_bytes=len(data)),
    "read_reference_column": lambda data: read_reference_column(pieces(data, 4096)),
    "pick_envelopes": lambda data: pick_envelopes(pieces(data, 4096), ["ref-000003"]),
}
files = {"plain": to_bytes(full_batch()), "grouped": to_bytes(grouped_batch(records=200))}
damaged = {"plain": [(3131, 62)]}  # the byte that made read_batch crash
rng = np.random.default_rng(20261207)
for name, data in files.items():
    damaged.setdefault(name, []).extend(
        zip(rng.integers(0, len(data), 400).tolist(), rng.integers(1, 256, 400).tolist())
    )
wrong = []
for name, data in files.items():
    for at, flip in damaged[name]:
        copy = bytearray(data)
        copy[at] ^= flip
        for reader, read in readers.items():
            try:
                read(bytes(copy))
            except BatchError:
                pass
            except Exception as err:
                wrong.append(f"{reader} on {name} byte {at} ^ {flip}: {type(err).__name__}")
print("\n".join(wrong[:20]))
raise SystemExit(1 if wrong else 0)
"""


def test_a_damaged_byte_anywhere_is_refused_as_a_batch_error_by_every_reader() -> None:
    done = subprocess.run(  # noqa: S603 - a fresh interpreter running our own code
        [sys.executable, "-c", _CHILD],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )

    assert done.returncode == 0, (done.stdout + done.stderr)[-3000:]
