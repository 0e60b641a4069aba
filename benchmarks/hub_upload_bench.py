"""Hub upload throughput: one large batch file streamed over HTTP to a real hub, end to end.

    python -m benchmarks.hub_upload_bench [--records 1000000] [--bits 1024] [--runs 3]

Starts the hub (uvicorn, a temporary SQLite database and data folder) in a subprocess,
seeds an agency, a data officer and a project through service.store, writes a batch of
random filters (about 30% of bits set) and times each upload from the first byte sent to
the 201 received: transfer, spooling and hashing, the batch checks, sealing, the database
row. Run n uploads the same filters under fresh references, so from the second run on the
duplicate-reference check also reads the agency's earlier uploads (n - 1 of them).
"""

import argparse
import tempfile
import time
from pathlib import Path

import httpx
import numpy as np
import numpy.typing as npt
from pydantic import SecretStr
from sqlalchemy.orm import Session

from benchmarks.hub_process import running_hub
from linkage.batch import Batch, write_batch
from service import schema_version, store
from service.auth import Role, hash_token, new_token
from service.config import Settings
from service.db import make_engine
from service.models import PROJECT_LIFETIME, utcnow

AGENCY, PARTNER = "Politie", "KMar"
FINGERPRINT, KEY_CHECK = "ab" * 32, "0123456789abcdef"
ARROW = "application/vnd.apache.arrow.file"


def random_filters(records: int, filter_bits: int, *, seed: int = 0) -> npt.NDArray[np.uint8]:
    """Random filters with 31.25% of bits set: a & (b | c & d) over uniform random bytes."""
    rng = np.random.default_rng(seed)
    shape = (records, filter_bits // 8)
    a, b, c, d = (rng.integers(0, 256, size=shape, dtype=np.uint8) for _ in range(4))
    return a & (b | (c & d))


def write_batch_file(path: Path, filters: npt.NDArray[np.uint8], *, first: int) -> None:
    references = [f"{index:032x}" for index in range(first, first + len(filters))]
    batch = Batch.create(
        agency=AGENCY,
        schema_fingerprint=FINGERPRINT,
        key_check=KEY_CHECK,
        references=references,
        filters=filters,
    )
    write_batch(batch, path)


def seed_hub(settings: Settings) -> tuple[str, str]:
    """Create the tables, two agencies, a data officer and a project; (project id, token)."""
    schema_version.upgrade(settings.database_url.get_secret_value())
    engine = make_engine(settings)
    with Session(engine) as session:
        agency = store.add_agency(session, name=AGENCY)
        partner = store.add_agency(session, name=PARTNER)
        officer = store.add_principal(
            session, agency_id=agency.id, name="Data officer", role=Role.DATA_OFFICER
        )
        token = new_token()
        store.add_token(
            session, principal_id=officer.id, token_hash=hash_token(token), now=utcnow()
        )
        project = store.add_project(
            session,
            name="Upload benchmark",
            purpose="benchmark",
            legal_basis="none: synthetic data",
            agencies=[agency, partner],
            schema_fingerprint=FINGERPRINT,
            key_check=KEY_CHECK,
            threshold=None,
            min_agencies=2,
            expires_at=utcnow() + PROJECT_LIFETIME,
        )
        session.commit()
        project_id = str(project.id)
    engine.dispose()
    return project_id, token


def timed_upload(client: httpx.Client, url: str, path: Path) -> tuple[float, int]:
    """Stream the file (httpx reads it in chunks); return seconds and the status answered."""
    started = time.perf_counter()
    with open(path, "rb") as body:
        response = client.post(url, content=body, headers={"Content-Type": ARROW})
    elapsed = time.perf_counter() - started
    if response.status_code not in (200, 201):
        raise SystemExit(f"upload failed: {response.status_code} {response.text}")
    return elapsed, response.status_code


def peak_memory_mb(pid: int) -> str:
    """The process's peak resident memory (Linux), as text."""
    status = Path(f"/proc/{pid}/status")
    if not status.exists():
        return "unknown"
    for line in status.read_text().splitlines():
        if line.startswith("VmHWM:"):
            return f"{int(line.split()[1]) / 1024:.0f} MB"
    return "unknown"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=1_000_000)
    parser.add_argument("--bits", type=int, default=1024)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="fieldlink-upload-bench-") as folder:
        run(Path(folder), args.records, args.bits, args.runs)
    return 0


def run(folder: Path, records: int, filter_bits: int, runs: int) -> None:
    settings = Settings(
        database_url=SecretStr(f"sqlite:///{folder / 'hub.db'}"),
        data_dir=folder / "hub-data",
        max_upload_bytes=1024**3,
    )
    project_id, token = seed_hub(settings)
    started = time.perf_counter()
    filters = random_filters(records, filter_bits)
    files = [folder / f"batch-{number}.arrow" for number in range(runs)]
    for number, path in enumerate(files):
        write_batch_file(path, filters, first=number * records)
    size_mb = files[0].stat().st_size / 1e6
    density = np.unpackbits(filters[:10_000]).mean()
    print(
        f"{records:,} records x {filter_bits} bits: {size_mb:.1f} MB per file, "
        f"{density:.1%} of bits set (files written in {time.perf_counter() - started:.1f} s)"
    )
    with running_hub(settings) as hub:
        url = f"{hub.url}/v1/projects/{project_id}/uploads"
        with httpx.Client(headers={"Authorization": f"Bearer {token}"}, timeout=600) as client:
            for number, path in enumerate(files, start=1):
                seconds, status = timed_upload(client, url, path)
                print(
                    f"run {number} ({number - 1} earlier uploads): {status} in {seconds:.2f} s, "
                    f"{size_mb / seconds:.1f} MB/s, {records / seconds:,.0f} records/s"
                )
            seconds, status = timed_upload(client, url, files[0])
            print(f"the first file again (idempotent): {status} in {seconds:.2f} s")
        print(f"hub peak memory: {peak_memory_mb(hub.pid)}")


if __name__ == "__main__":
    raise SystemExit(main())
