"""Hub hits under load: a real hub (uvicorn) serving hit pages to 50 concurrent clients.

    .venv/bin/python -m benchmarks.hub_hits_bench                 # 4 x 100,000 records
    .venv/bin/python -m benchmarks.hub_hits_bench --no-audit      # the same, audit log off

Seeds a project with four agencies (random 1024-bit filters, with persons planted in two to
four agencies as near copies), uploads each agency's batch through the API, runs the
matching in the hub's run worker, then lets `--clients` threads fetch random hit pages for
`--seconds` (half as the analyst, half as the agencies' data officers) and prints requests/s
and latency percentiles. SQLite in a temporary folder (WAL journal), as a single-machine hub.

Two load phases by default: 50 people paging through hits, each pausing a random 0-2 s
(mean 1 s) between pages, the issue's "50 concurrent clients"; and the same 50 clients
sending their next request the moment an answer arrives, which measures capacity (at
zero think time latency is the queue: 50 / throughput, whatever the hub does).
"""

import argparse
import io
import random
import statistics
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import numpy as np
import numpy.typing as npt
from pydantic import SecretStr
from sqlalchemy import text
from sqlalchemy.orm import Session

from benchmarks.hub_process import HUB, WITHOUT_AUDIT, running_hub
from linkage.batch import Batch, write_batch
from service import store
from service.auth import Role, hash_token, new_token
from service.config import Settings
from service.db import Base, make_engine
from service.hub_keys import load_hub_keys
from service.models import PROJECT_LIFETIME, utcnow

AGENCIES = ("FIU", "Gemeente", "KMar", "Politie")
FINGERPRINT = "ab" * 32
KEY_CHECK = "0123456789abcdef"
THRESHOLD = 0.8
ARROW = "application/vnd.apache.arrow.file"


# ---------------------------------------------------------------------------- data


def random_filters(rng: np.random.Generator, count: int) -> npt.NDArray[np.uint8]:
    """Packed 1024-bit filters, each bit set with probability 1/4."""
    shape = (count, 128)
    return rng.integers(0, 256, shape, dtype=np.uint8) & rng.integers(0, 256, shape, dtype=np.uint8)


def planted_batches(records: int, persons: int, seed: int) -> dict[str, Batch]:
    """Random records per agency; `persons` of them seen by 2-4 agencies (12 bits flipped)."""
    rng = np.random.default_rng(seed)
    filters = {name: random_filters(rng, records) for name in AGENCIES}
    free = {name: iter(rng.permutation(records).tolist()) for name in AGENCIES}
    for base in random_filters(rng, persons):
        for name in rng.choice(AGENCIES, size=int(rng.integers(2, 5)), replace=False):
            bits = np.unpackbits(base)
            bits[rng.choice(bits.size, 12, replace=False)] ^= 1
            filters[str(name)][next(free[str(name)])] = np.packbits(bits)
    return {
        name: Batch.create(
            agency=name,
            schema_fingerprint=FINGERPRINT,
            key_check=KEY_CHECK,
            references=[f"{name[:3].lower()}-{index:07d}" for index in range(records)],
            filters=filters[name],
        )
        for name in AGENCIES
    }


def batch_file(batch: Batch) -> bytes:
    sink = io.BytesIO()
    write_batch(batch, sink)
    return sink.getvalue()


# ---------------------------------------------------------------------------- hub


@dataclass
class Hub:
    url: str
    project_id: str
    tokens: dict[str, str]  # "analyst", and each agency name for its data officer


def seed(settings: Settings) -> tuple[str, dict[str, str]]:
    """Schema, hub keys, agencies, principals and the project; the project id and tokens."""
    engine = make_engine(settings)
    Base.metadata.create_all(engine)
    with engine.connect() as connection:
        connection.execute(text("PRAGMA journal_mode=WAL"))  # readers never wait for writers
    load_hub_keys(settings.data_dir, create=True)  # before several workers race to create them
    tokens: dict[str, str] = {}
    with Session(engine) as session:
        agencies = {name: store.add_agency(session, name=name) for name in AGENCIES}
        analyst = _principal(session, agencies["Politie"].id, Role.ANALYST, tokens, "analyst")
        for name, agency in agencies.items():
            _principal(session, agency.id, Role.DATA_OFFICER, tokens, name)
        project = store.add_project(
            session,
            name="Carousel",
            purpose="load test",
            legal_basis="none: synthetic data",
            agencies=list(agencies.values()),
            schema_fingerprint=FINGERPRINT,
            key_check=KEY_CHECK,
            threshold=THRESHOLD,
            min_agencies=2,
            expires_at=utcnow() + PROJECT_LIFETIME,
        )
        store.add_member(session, project_id=project.id, principal_id=analyst)
        project_id = str(project.id)
        session.commit()
    engine.dispose()
    return project_id, tokens


def _principal(
    session: Session, agency_id: uuid.UUID, role: Role, tokens: dict[str, str], key: str
) -> uuid.UUID:
    principal = store.add_principal(session, agency_id=agency_id, name=key, role=role)
    token = new_token()
    store.add_token(session, principal_id=principal.id, token_hash=hash_token(token), now=utcnow())
    tokens[key] = token
    return principal.id


def upload_all(hub: Hub, batches: dict[str, Batch]) -> float:
    """Upload every agency's batch as its data officer; seconds taken."""
    started = time.perf_counter()
    for name, batch in batches.items():
        response = httpx.post(
            f"{hub.url}/v1/projects/{hub.project_id}/uploads",
            content=batch_file(batch),
            headers={"Authorization": f"Bearer {hub.tokens[name]}", "Content-Type": ARROW},
            timeout=300,
        )
        response.raise_for_status()
    return time.perf_counter() - started


def run_matching(hub: Hub) -> tuple[str, dict[str, object], float]:
    """Start a run as the analyst and wait for it; its id, final state and seconds taken."""
    headers = {"Authorization": f"Bearer {hub.tokens['analyst']}"}
    runs = f"{hub.url}/v1/projects/{hub.project_id}/runs"
    started = time.perf_counter()
    run = httpx.post(runs, json={}, headers=headers, timeout=30).json()
    while run["status"] in ("queued", "running"):
        time.sleep(0.5)
        run = httpx.get(f"{runs}/{run['id']}", headers=headers, timeout=30).json()
    if run["status"] != "succeeded":
        raise SystemExit(f"the run failed: {run['error']}")
    return str(run["id"]), run, time.perf_counter() - started


# ---------------------------------------------------------------------------- load


@dataclass
class Samples:
    latencies: dict[str, list[float]] = field(default_factory=dict)  # view -> seconds
    errors: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, view: str, seconds: float, ok: bool) -> None:
        with self.lock:
            self.latencies.setdefault(view, []).append(seconds)
            self.errors += not ok


def load(
    hub: Hub, run_id: str, hits: int, *, clients: int, seconds: float, limit: int, think_s: float
) -> Samples:
    """`clients` threads fetching random pages until the time is up.

    Each client waits a random 0..2 x `think_s` between its requests (a person reading a
    page); with `think_s` 0 each sends its next request as soon as it has the answer.
    """
    samples = Samples()
    deadline = time.monotonic() + seconds
    callers = ["analyst", *AGENCIES]
    threads = [
        threading.Thread(
            target=_client,
            args=(hub, run_id, callers[0] if n % 2 == 0 else callers[1 + n // 2 % 4], hits),
            kwargs={"limit": limit, "deadline": deadline, "samples": samples, "seed": n}
            | {"think_s": think_s},
        )
        for n in range(clients)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return samples


def _client(
    hub: Hub,
    run_id: str,
    caller: str,
    hits: int,
    *,
    limit: int,
    deadline: float,
    samples: Samples,
    seed: int,
    think_s: float,
) -> None:
    rng = random.Random(seed)
    view = "analyst" if caller == "analyst" else "data officer"
    url = f"/v1/projects/{hub.project_id}/runs/{run_id}/hits"
    headers = {"Authorization": f"Bearer {hub.tokens[caller]}"}
    with httpx.Client(base_url=hub.url, headers=headers, timeout=30) as http:
        # People do not all click in the same millisecond: each client starts at a random
        # point of its first pause. Started together, 50 clients send one burst of 50
        # requests (on 50 new connections) that then recurs in step for a while.
        time.sleep(rng.uniform(0, 2 * think_s))
        while time.monotonic() < deadline:
            after = rng.randrange(0, max(1, hits - limit))
            started = time.perf_counter()
            response = http.get(url, params={"limit": limit, "after": after})
            samples.add(view, time.perf_counter() - started, response.status_code == 200)
            time.sleep(rng.uniform(0, 2 * think_s))


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def report(samples: Samples, seconds: float) -> None:
    every = [value for values in samples.latencies.values() for value in values]
    rate = len(every) / seconds
    print(f"requests: {len(every)} in {seconds:.0f} s = {rate:.0f}/s, errors: {samples.errors}")
    for view, values in [("all", every), *sorted(samples.latencies.items())]:
        print(
            f"  {view:>12}: n={len(values):6d}  p50 {1000 * percentile(values, 0.5):6.1f} ms"
            f"  p95 {1000 * percentile(values, 0.95):6.1f} ms"
            f"  p99 {1000 * percentile(values, 0.99):6.1f} ms"
            f"  mean {1000 * statistics.fmean(values):6.1f} ms"
        )


def time_export(hub: Hub, run_id: str, caller: str) -> tuple[float, int]:
    """Seconds and bytes of one JSON export of the run's hits, as `caller`."""
    url = f"{hub.url}/v1/projects/{hub.project_id}/runs/{run_id}/hits/export"
    headers = {"Authorization": f"Bearer {hub.tokens[caller]}"}
    started = time.perf_counter()
    response = httpx.get(url, headers=headers, timeout=300)
    response.raise_for_status()
    return time.perf_counter() - started, len(response.content)


# ---------------------------------------------------------------------------- main


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=100_000, help="records per agency")
    parser.add_argument("--persons", type=int, default=40_000, help="persons planted (hits)")
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--limit", type=int, default=100, help="hits per page")
    parser.add_argument("--workers", type=int, default=2, help="uvicorn worker processes")
    parser.add_argument("--port", type=int, default=0, help="default: a free one")
    parser.add_argument("--no-audit", dest="audit", action="store_false")
    parser.add_argument(
        "--think-ms",
        type=lambda text: [int(part) for part in text.split(",")],
        default=[1000, 0],
        help="mean pause of a client between its requests; one load phase per value",
    )
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="hub-bench-") as folder:
        settings = Settings(
            database_url=SecretStr(f"sqlite:///{Path(folder) / 'hub.db'}"),
            data_dir=Path(folder) / "hub-data",
            rate_per_address=0,  # load from one machine: the hub is measured, not its limits
            rate_per_principal=0,
        )
        project_id, tokens = seed(settings)
        started = time.perf_counter()
        batches = planted_batches(args.records, args.persons, seed=0)
        print(
            f"data: {len(AGENCIES)} x {args.records:,} records, {args.persons:,} persons planted "
            f"({time.perf_counter() - started:.1f} s)"
        )
        factory = HUB if args.audit else WITHOUT_AUDIT
        with running_hub(settings, port=args.port, workers=args.workers, factory=factory) as served:
            hub = Hub(url=served.url, project_id=project_id, tokens=tokens)
            print(f"upload: {upload_all(hub, batches):.1f} s for {len(AGENCIES)} batches")
            run_id, run, run_seconds = run_matching(hub)
            hits = int(str(run["hit_count"]))
            print(f"run: {run_seconds:.1f} s, {hits:,} hits at threshold {run['threshold']}")
            export_seconds, size = time_export(hub, run_id, "analyst")
            print(f"export (analyst, JSON): {export_seconds:.2f} s, {size / 1e6:.1f} MB")
            for think_ms in args.think_ms:
                options = {"clients": args.clients, "limit": args.limit, "think_s": think_ms / 1000}
                load(hub, run_id, hits, seconds=2, **options)  # warm up
                samples = load(hub, run_id, hits, seconds=args.seconds, **options)
                print(
                    f"load: {args.clients} clients, limit {args.limit}, think {think_ms} ms, "
                    f"{args.workers} hub workers, audit {'on' if args.audit else 'off'}"
                )
                report(samples, args.seconds)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
