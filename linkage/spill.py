"""Comparison words set aside on disk during a run, sealed, and read back one family at a time.

What: a `SealedSpill` holds a batch's comparison words family by family in unnamed
temporary files (`tempfile.TemporaryFile`: no name on disk, gone when closed or when the
process ends), each chunk sealed with AES-256-GCM under a key made for the spill and held
only by the object. `linkage.batch_stream.read_for_matching` writes a large batch's words
there as the bytes pass (`SpillSettings`), and a run reads back one family when its
first block task needs it and drops it after its last (`linkage.match.pool.RunWords`).

Why: a run compares one salt family after the other, so it needs one family's words at a
time. Held in memory, all families of two 10,000,000-record sides are 20 GB; spilled, a
run holds one family's (2.6 GB) and the rest waits on disk. Sealed, because the words are
the keyed encodings the hub keeps sealed at rest (`service.vault`): what a spill leaves on
a disk, a swap file or a backup of the temporary folder opens with no key anyone kept.
"""

import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import IO

import numpy as np
import numpy.typing as npt

from linkage.errors import LinkageError

__all__ = ["SealedSpill", "SpillSettings"]

_TAG = 16  # bytes AES-GCM adds to each sealed chunk
_CHUNK_ROWS = 32_768  # rows sealed at a time (a few MiB of words a family)


@dataclass(frozen=True, slots=True)
class SpillSettings:
    """When a run's reader spills a batch's comparison words to disk, and where.

    Attributes:
        over_records: Batches of more records than this spill (0: every batch).
        folder: Where the unnamed files go; None for the system's temporary folder.
    """

    over_records: int = 1_000_000
    folder: Path | None = None

    def applies(self, records: int) -> bool:
        """Whether a batch of `records` records spills."""
        return records > self.over_records


class SealedSpill:
    """Word arrays (one per part, `records` x `words` uint64) sealed to temporary files.

    Written in row order (`append`, then `finish`); each part read back whole (`read`),
    after which its file is closed and gone. Neither the key nor any word is in a repr.
    """

    __slots__ = ("_buffers", "_chunks", "_cipher", "_files", "_fill", "_records", "_words")

    def __init__(self, parts: int, records: int, words: int, folder: Path | None = None) -> None:
        # Imported here: batch files are read (and encoded) without `cryptography` loaded.
        from cryptography.hazmat.primitives.ciphers.aead import AESGCM

        self._records, self._words = records, words
        self._cipher = AESGCM(AESGCM.generate_key(bit_length=256))
        self._files: list[IO[bytes] | None] = []
        try:
            for _ in range(parts):
                self._files.append(tempfile.TemporaryFile(dir=folder))  # noqa: SIM115 (kept open)
        except OSError as err:
            self.close()
            where = folder if folder is not None else tempfile.gettempdir()
            raise LinkageError(
                f"cannot set comparison words aside in {where}: {err.strerror}"
            ) from None
        self._chunks: list[list[int]] = [[] for _ in range(parts)]  # sealed sizes
        rows = min(_CHUNK_ROWS, max(1, records))
        self._buffers = [np.empty((rows, words), dtype=np.uint64) for _ in range(parts)]
        self._fill = [0] * parts

    @property
    def parts(self) -> int:
        """Number of parts (salt families)."""
        return len(self._files)

    def append(self, part: int, rows: npt.NDArray[np.uint64]) -> None:
        """Add the next rows of one part (sealed to disk a chunk at a time)."""
        buffer, at = self._buffers[part], 0
        while at < len(rows):
            take = min(len(buffer) - self._fill[part], len(rows) - at)
            buffer[self._fill[part] : self._fill[part] + take] = rows[at : at + take]
            self._fill[part] += take
            at += take
            if self._fill[part] == len(buffer):
                self._seal(part)

    def finish(self) -> None:
        """Seal what is left of each part; check each holds `records` rows."""
        for part in range(self.parts):
            if self._fill[part]:
                self._seal(part)
            written = sum(size - _TAG for size in self._chunks[part]) // (8 * self._words)
            if written != self._records:
                raise LinkageError("a spilled family holds another number of records")
        self._buffers = []

    def read(self, part: int) -> npt.NDArray[np.uint64]:
        """One part's words (records x words); its file is closed and gone after.

        Raises:
            LinkageError: The part was read already, or its file does not open.
        """
        out = self._read(part, self._records)
        self.drop(part)
        return out

    def head(self, part: int, count: int) -> npt.NDArray[np.uint64]:
        """The first `count` rows of one part, the part left on disk to be read."""
        return self._read(part, min(count, self._records))

    def _read(self, part: int, count: int) -> npt.NDArray[np.uint64]:
        handle = self._files[part]
        if handle is None:
            raise LinkageError(f"spilled salt family {part + 1} was read already")
        out = np.empty((count, self._words), dtype=np.uint64)
        flat = out.reshape(-1).view(np.uint8)
        handle.seek(0)
        at = 0
        for index, size in enumerate(self._chunks[part]):
            if at >= len(flat):
                break
            sealed = handle.read(size)
            if len(sealed) != size:
                raise LinkageError(f"spilled salt family {part + 1} is cut short on disk")
            try:
                plain = self._cipher.decrypt(_nonce(part, index), sealed, None)
            except Exception as err:  # InvalidTag: changed on disk
                raise LinkageError(f"spilled salt family {part + 1} was changed on disk") from err
            take = min(len(plain), len(flat) - at)
            flat[at : at + take] = np.frombuffer(plain, dtype=np.uint8, count=take)
            at += take
        return out

    def drop(self, part: int) -> None:
        """Close one part's file (gone from disk); reading it after is refused."""
        handle, self._files[part] = self._files[part], None
        if handle is not None:
            handle.close()

    def close(self) -> None:
        """Close every file still open."""
        for part in range(self.parts):
            self.drop(part)

    def __del__(self) -> None:
        if hasattr(self, "_files"):
            self.close()

    def __repr__(self) -> str:
        held = sum(handle is not None for handle in self._files)
        return f"SealedSpill(parts={self.parts}, records={self._records}, on_disk={held})"

    def _seal(self, part: int) -> None:
        handle = self._files[part]
        if handle is None:
            raise LinkageError(f"spilled salt family {part + 1} was read already")
        plain = self._buffers[part][: self._fill[part]].tobytes()
        sealed = self._cipher.encrypt(_nonce(part, len(self._chunks[part])), plain, None)
        handle.write(sealed)
        self._chunks[part].append(len(sealed))
        self._fill[part] = 0


def _nonce(part: int, chunk: int) -> bytes:
    """A nonce used once under the spill's key: the part and the chunk's number."""
    return part.to_bytes(4, "big") + chunk.to_bytes(8, "big")
