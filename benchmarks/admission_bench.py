"""Upload admission of one large batch file: peak memory and time, in passes or held whole.

    python -m benchmarks.admission_bench BATCH.arrow [--hold] [--spool-dir DIR]

Seals the batch file as the hub's upload spool holds a body (`service.vault`, 8 MiB
chunks, a key held only in memory), then runs the upload checks once, in this process,
and prints one JSON line: records, file bytes, seconds, and the process's peak RSS before
and after the checks (`ru_maxrss`). By default the checks are `service.admission.admit`,
which reads the spool in passes (`service.upload_scan`); `--hold` runs what admission did
before: the batch read whole by `read_streamed` (every filter and comparison encoding in
memory), then `content_digest` and `probing_refusal` over it. Run each in a fresh process
(the peak RSS is the process's).
"""

import argparse
import json
import resource
import secrets
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

from linkage.batch_stream import FILE_CHUNK, RowScan, read_streamed
from service.admission import admit, probing_settings
from service.hub_keys import Keyring
from service.models import Project
from service.probing import content_digest, probing_refusal
from service.vault import iter_blob, seal

_NAME = "spool"


def peak_rss_bytes() -> int:
    """The process's peak resident set size so far (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def sealed_spool(batch: Path, folder: Path) -> tuple[Path, Keyring]:
    """The batch file sealed as the upload spool seals a body."""
    key_id = secrets.token_hex(8)
    keyring = Keyring(keys={key_id: secrets.token_bytes(32)}, active_id=key_id)
    target = folder / "upload.spool"
    with batch.open("rb") as handle:
        chunks = iter(lambda: handle.read(FILE_CHUNK), b"")
        seal(chunks, target, keyring=keyring, name=_NAME)
    return target, keyring


def opened(batch: Path) -> RowScan:
    """The batch file's schema read (its metadata and record count)."""
    with batch.open("rb") as handle:
        return RowScan(iter(lambda: handle.read(FILE_CHUNK), b""))


def project_for(scan: RowScan) -> Project:
    """A project the batch belongs to, with the default probing controls."""
    return Project(
        id=uuid.uuid4(),
        schema_fingerprint=scan.meta["schema_fingerprint"],
        key_check=scan.meta["key_check"],
        upload_budget_records=None,
        max_near_duplicate_share=0.15,
        min_fill_share=0.05,
        require_salted_encodings=True,
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("batch", type=Path)
    parser.add_argument("--hold", action="store_true", help="hold the batch, as before")
    parser.add_argument("--spool-dir", type=Path, default=None)
    args = parser.parse_args(argv)
    header = opened(args.batch)
    project, size = project_for(header), args.batch.stat().st_size
    with tempfile.TemporaryDirectory(dir=args.spool_dir) as folder:
        spool, keyring = sealed_spool(args.batch, Path(folder))

        def source() -> Iterator[bytes]:
            return iter_blob(spool, keyring=keyring, name=_NAME)

        before = peak_rss_bytes()
        started = time.perf_counter()
        if args.hold:
            batch = read_streamed(source(), size_bytes=size).batch
            digest = content_digest(batch)
            refused = probing_refusal(batch, probing_settings(project), 0, seed=0)
            outcome = None if refused is None else refused.rule.value
        else:
            digest = admit(
                source,
                size_bytes=size,
                project=project,
                agency=header.meta["agency"],
                filter_bits_in_use=(),
                earlier_references=(),
                seed=0,
            ).content_digest
            outcome = None
        seconds = time.perf_counter() - started
    result = {
        "mode": "held whole" if args.hold else "in passes",
        "records": header.count,
        "file_bytes": size,
        "seconds": round(seconds, 2),
        "peak_rss_before_bytes": before,
        "peak_rss_bytes": peak_rss_bytes(),
        "content_digest": digest,
        "refused": outcome,
    }
    sys.stdout.write(json.dumps(result) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
