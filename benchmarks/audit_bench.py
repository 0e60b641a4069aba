"""What the audit log costs a request: a real hub (uvicorn) with and without its audit middleware.

    .venv/bin/python -m benchmarks.audit_bench                       # SQLite file (WAL)
    .venv/bin/python -m benchmarks.audit_bench --database-url postgresql+psycopg://...

Seeds a project with an analyst, then, for the hub with the audit log and the same hub with
its audit middleware taken out, measures a cheap authenticated read (GET one project):
one client in a loop (the per-request cost: one group commit each), then `--clients` threads
at once (where group commit shares a commit between waiting requests). Prints requests/s and
latency percentiles for each, the difference per request, and checks the chain afterwards.
"""

import argparse
import statistics
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

import httpx
from pydantic import SecretStr
from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from benchmarks.hub_process import HUB, WITHOUT_AUDIT, running_hub
from service import store
from service.auth import Role, hash_token, new_token
from service.config import Settings
from service.db import Base, make_engine
from service.hub_keys import load_hub_keys
from service.models import PROJECT_LIFETIME, AuditEntry, utcnow


@dataclass
class Result:
    label: str
    latencies: list[float]
    seconds: float
    errors: int

    def line(self) -> str:
        ordered = sorted(self.latencies)
        p50, p99 = (1000 * ordered[int(share * (len(ordered) - 1))] for share in (0.5, 0.99))
        return (
            f"{self.label:<28} {len(ordered) / self.seconds:7.0f} req/s  "
            f"mean {1000 * statistics.fmean(ordered):6.2f} ms  p50 {p50:6.2f} ms  "
            f"p99 {p99:6.2f} ms  errors {self.errors}"
        )


def seed(settings: Settings) -> tuple[str, str, str]:
    """Tables, keys, an analyst on a project; the project id, analyst and auditor tokens."""
    engine = make_engine(settings)
    Base.metadata.create_all(engine)
    if engine.dialect.name == "sqlite":
        with engine.connect() as connection:
            connection.execute(text("PRAGMA journal_mode=WAL"))
    load_hub_keys(settings.data_dir, create=True)
    with Session(engine) as session:
        agencies = [store.add_agency(session, name=name) for name in ("Politie", "KMar")]
        tokens = [_token(session, agencies[0].id, role) for role in (Role.ANALYST, Role.AUDITOR)]
        project = store.add_project(
            session,
            name="Carousel",
            purpose="load test",
            legal_basis="none: synthetic data",
            agencies=agencies,
            schema_fingerprint="ab" * 32,
            key_check="0123456789abcdef",
            threshold=0.8,
            min_agencies=2,
            expires_at=utcnow() + PROJECT_LIFETIME,
        )
        store.add_member(session, project_id=project.id, principal_id=tokens[0][0])
        session.commit()
        project_id = str(project.id)
    engine.dispose()
    return project_id, tokens[0][1], tokens[1][1]


def _token(session: Session, agency_id: uuid.UUID, role: Role) -> tuple[uuid.UUID, str]:
    principal = store.add_principal(session, agency_id=agency_id, name=role.value, role=role)
    token = new_token()
    store.add_token(session, principal_id=principal.id, token_hash=hash_token(token), now=utcnow())
    return principal.id, token


def hammer(url: str, path: str, token: str, *, clients: int, seconds: float) -> Result:
    """`clients` threads requesting `path` in a closed loop for `seconds`."""
    latencies: list[float] = []
    errors = [0]
    lock = threading.Lock()
    deadline = time.monotonic() + seconds

    def client() -> None:
        headers = {"Authorization": f"Bearer {token}"}
        with httpx.Client(base_url=url, headers=headers, timeout=30) as http:
            while time.monotonic() < deadline:
                started = time.perf_counter()
                ok = http.get(path).status_code == 200
                with lock:
                    latencies.append(time.perf_counter() - started)
                    errors[0] += not ok

    threads = [threading.Thread(target=client) for _ in range(clients)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return Result("", latencies, time.perf_counter() - started, errors[0])


def measure(settings: Settings, args: argparse.Namespace, *, audit: bool) -> list[Result]:
    project_id, analyst, _ = args.seeded
    path = f"/v1/projects/{project_id}"
    results = []
    with running_hub(
        settings, port=args.port, workers=args.workers, factory=HUB if audit else WITHOUT_AUDIT
    ) as hub:
        url = hub.url
        hammer(url, path, analyst, clients=1, seconds=1)  # warm up
        for clients in (1, args.clients):
            result = hammer(url, path, analyst, clients=clients, seconds=args.seconds)
            result.label = f"{'audit' if audit else 'no audit'}, {clients} client(s)"
            results.append(result)
    return results


def check_chain(settings: Settings, auditor: str, args: argparse.Namespace) -> str:
    """The hub's own verdict on the chain the runs left, and its length."""
    with running_hub(settings, port=args.port) as hub:
        url = hub.url
        headers = {"Authorization": f"Bearer {auditor}"}
        verdict = httpx.get(f"{url}/v1/audit/verify", headers=headers, timeout=600).json()
    engine = make_engine(settings)
    with Session(engine) as session:
        count = session.scalar(select(func.count()).select_from(AuditEntry))
    engine.dispose()
    return f"chain: {count} entries, verify: {verdict}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", help="default: a SQLite file in a temporary folder")
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--workers", type=int, default=1, help="uvicorn worker processes")
    parser.add_argument("--port", type=int, default=8765)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as folder:
        url = args.database_url or f"sqlite:///{Path(folder) / 'hub.db'}"
        settings = Settings(
            database_url=SecretStr(url),
            data_dir=Path(folder) / "hub-data",
            rate_per_address=0,  # load from one machine: the hub is measured, not its limits
            rate_per_principal=0,
        )
        args.seeded = seed(settings)
        results = measure(settings, args, audit=False) + measure(settings, args, audit=True)
        for result in results:
            print(result.line())
        for plain, audited in zip(results[:2], results[2:], strict=True):
            extra = statistics.fmean(audited.latencies) - statistics.fmean(plain.latencies)
            print(f"audit cost per request ({audited.label}): {1000 * extra:+.2f} ms mean")
        print(check_chain(settings, args.seeded[2], args))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
