"""Fault injection: SIGKILL a real hub process mid-work, restart it, check what must hold.

    .venv/bin/python -m benchmarks.fault_injection [--cycles 5] [--database sqlite|postgres|both]

A hub (uvicorn, one process, a run worker) serves a SQLite file or a PostgreSQL database of
its own (created, then dropped). Each cycle kills it with SIGKILL in one phase:

- upload:  while a batch upload's body is being streamed (or just after its last byte);
- run:     while a matching run compares;
- storage: while a finished run writes its hits;
- burst:   during 32 concurrent requests (reads, uploads, run starts).

After each kill the hub is started again and these invariants are checked:

- uploads kept:   every upload answered 201 is still listed and its batch opens in full;
- no half batch:  every stored upload opens, with the record count it was listed with;
- runs settle:    every run ends succeeded (all hits stored) or failed; a failed one reruns;
- audit verifies: the hub's own check of the stored audit chain passes;
- spool clean:    nothing left in the spool and no half-written blob.

The run worker's heartbeat and staleness window are shortened (seconds, not minutes) so
an interrupted run is taken up again within the cycle; nothing else is changed.
tests/service/test_fault_injection.py runs one cycle per phase in `make test`.
"""

import argparse
import json
import os
import random
import signal
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

import httpx
from fastapi import FastAPI
from pydantic import SecretStr
from sqlalchemy import Engine, create_engine, func, make_url, select, text
from sqlalchemy.orm import Session

from benchmarks.hub_hits_bench import batch_file, planted_batches
from benchmarks.hub_process import free_port
from linkage.batch import Batch
from service import jobs, logs
from service.auth import Role
from service.batches import open_upload
from service.bootstrap import create_first_admin
from service.config import Settings
from service.db import Base, make_engine
from service.hub_keys import Keyring, load_hub_keys
from service.main import create_app
from service.models import Hit, Run, Upload
from service.objects import LocalObjects
from tests.service.batch_files import make_batch
from tests.service.factories import make_agency, make_principal, make_project

PHASES = ("upload", "run", "storage", "burst")
INVARIANTS = ("uploads kept", "no half batch", "runs settle", "audit verifies", "spool clean")
AGENCIES = ("FIU", "Gemeente", "KMar", "Politie")  # as benchmarks.hub_hits_bench plants them
ARROW = "application/vnd.apache.arrow.file"
CHUNK = 32 * 1024
SETTLE_SECONDS = 90.0


def recovering_hub() -> FastAPI:
    """The hub, with a dead process's runs taken up after seconds (uvicorn --factory)."""
    jobs.HEARTBEAT_SECONDS = 0.5
    jobs.STALE_AFTER = timedelta(seconds=3)
    jobs.SWEEP_SECONDS = 1.0
    jobs.POLL_SECONDS = 0.2
    return create_app()


# ---------------------------------------------------------------------------- the hub


@dataclass
class HubUnderTest:
    """One hub's database, data folder and (while it runs) process; started again at will."""

    database_url: str
    data_dir: Path
    log_path: Path
    port: int = field(default_factory=free_port)
    process: "subprocess.Popen[bytes] | None" = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        env = os.environ | {
            "FIELDLINK_DATABASE_URL": self.database_url,
            "FIELDLINK_DATA_DIR": str(self.data_dir),
            "FIELDLINK_RATE_PER_ADDRESS": "0",
            "FIELDLINK_RATE_PER_PRINCIPAL": "0",
            "FIELDLINK_MAX_ACTIVE_RUNS_PER_PROJECT": "100",
            "FIELDLINK_LOG_LEVEL": "INFO",
        }
        # Logged as `fieldlink hub serve` logs: JSON lines, the hub's access log (log scan).
        log_config = self.log_path.with_name("log-config.json")
        log_config.write_text(json.dumps(logs.log_config("INFO")))
        command = [
            sys.executable,
            "-m",
            "uvicorn",
            "--factory",
            "benchmarks.fault_injection:recovering_hub",
        ]
        command += ["--host", "127.0.0.1", "--port", str(self.port), "--workers", "1"]
        command += ["--log-config", str(log_config)]
        with open(self.log_path, "ab") as log:
            self.process = subprocess.Popen(command, env=env, stdout=log, stderr=log)
        self._wait_ready()

    def kill(self) -> None:
        if self.process is None:
            raise RuntimeError("the hub is not running")
        os.kill(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=30)
        self.process = None

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            self.process.wait(timeout=30)
            self.process = None

    def _wait_ready(self) -> None:
        if self.process is None:
            raise RuntimeError("the hub is not running")
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                last = self.log_path.read_text(errors="replace").splitlines()[-5:]
                raise RuntimeError("the hub exited during start-up:\n" + "\n".join(last))
            try:
                if httpx.get(f"{self.url}/v1/ready", timeout=2).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.1)
        raise RuntimeError("the hub did not become ready within 60 s")


@dataclass
class World:
    """Who calls the hub, the two projects, and what the hub has acknowledged."""

    tokens: dict[str, str]  # each agency's data officer, "analyst", "auditor"
    matching: uuid.UUID  # runs: four agencies' planted batches, uploaded once
    intake: uuid.UUID  # uploads and bursts
    accepted: dict[uuid.UUID, str] = field(default_factory=dict)  # upload id -> digest
    seeds: Iterator[int] = field(default_factory=lambda: iter(range(1000, 10**9)))

    def headers(self, who: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[who]}"}


def seed_world(hub: HubUnderTest) -> World:
    """Schema, hub keys, agencies, people and projects, written before the hub first starts."""
    settings = Settings(database_url=SecretStr(hub.database_url), data_dir=hub.data_dir)
    engine = make_engine(settings)
    Base.metadata.create_all(engine)
    load_hub_keys(settings.data_dir, create=True)
    tokens: dict[str, str] = {}
    with Session(engine, expire_on_commit=False) as session:
        create_first_admin(session, "Hub operations", "First administrator")
        agencies = [make_agency(session, name) for name in AGENCIES]
        for agency in agencies:
            _, tokens[agency.name] = make_principal(session, agency, role=Role.DATA_OFFICER)
        analyst, tokens["analyst"] = make_principal(session, agencies[3], name="Analyst")
        _, tokens["auditor"] = make_principal(session, agencies[2], role=Role.AUDITOR)
        matching = make_project(session, agencies, name="Matching", members=[analyst])
        intake = make_project(session, agencies, name="Intake", members=[analyst])
    engine.dispose()
    return World(tokens=tokens, matching=matching.id, intake=intake.id)


def upload(hub: HubUnderTest, world: World, project: uuid.UUID, batch: Batch) -> httpx.Response:
    response = httpx.post(
        f"{hub.url}/v1/projects/{project}/uploads",
        content=batch_file(batch),
        headers=world.headers(batch.agency) | {"Content-Type": ARROW},
        timeout=120,
    )
    if response.status_code in (200, 201):
        world.accepted[uuid.UUID(response.json()["id"])] = response.json()["digest"]
    return response


def intake_batch(world: World, records: int) -> Batch:
    seed = next(world.seeds)
    return make_batch(AGENCIES[seed % 4], records=records, first=seed * records, seed=seed)


# ---------------------------------------------------------------------------- phases


@dataclass(frozen=True)
class Scale:
    """How big each phase's work is: the benchmark's, or the test's smaller one."""

    run_records: int = 3000  # per agency, in the matching project
    run_persons: int = 2000  # planted across two to four agencies: the hits
    upload_records: int = 20000  # the batch killed in flight (about 2.6 MB)
    burst_requests: int = 32


def kill_during_upload(hub: HubUnderTest, world: World, scale: Scale, rng: random.Random) -> None:
    upload(hub, world, world.intake, intake_batch(world, 200))  # acknowledged before the kill
    batch = intake_batch(world, scale.upload_records)
    body = batch_file(batch)
    chunks = [body[i : i + CHUNK] for i in range(0, len(body), CHUNK)]
    at = rng.randint(1, len(chunks))  # == len(chunks): after the last byte, while it is stored
    reached = threading.Event()

    def stream() -> Iterator[bytes]:
        for number, chunk in enumerate(chunks, 1):
            yield chunk
            if number == at:
                reached.set()
            time.sleep(0.002)

    def send() -> None:
        headers = world.headers(batch.agency) | {"Content-Type": ARROW}
        url = f"{hub.url}/v1/projects/{world.intake}/uploads"
        try:
            response = httpx.post(url, content=stream(), headers=headers, timeout=120)
        except httpx.TransportError:
            return
        if response.status_code in (200, 201):
            world.accepted[uuid.UUID(response.json()["id"])] = response.json()["digest"]

    sender = threading.Thread(target=send)
    sender.start()
    reached.wait(60)
    time.sleep(rng.uniform(0, 0.02))
    hub.kill()
    sender.join(60)


def kill_during_run(hub: HubUnderTest, world: World, scale: Scale, rng: random.Random) -> None:
    run_id = start_run(hub, world)
    wait_for_stage(hub, run_id, lambda stage: stage not in ("", "queued", "storing hits"))
    time.sleep(rng.uniform(0, 0.3))
    hub.kill()


def kill_during_storage(hub: HubUnderTest, world: World, scale: Scale, rng: random.Random) -> None:
    run_id = start_run(hub, world)
    wait_for_stage(hub, run_id, lambda stage: stage == "storing hits")
    time.sleep(rng.uniform(0, 0.05))
    hub.kill()


def kill_during_burst(hub: HubUnderTest, world: World, scale: Scale, rng: random.Random) -> None:
    def request(number: int) -> None:
        try:
            if number % 4 == 0:
                upload(hub, world, world.intake, intake_batch(world, 100))
            elif number % 8 == 1:
                start_run(hub, world)
            else:
                url = f"{hub.url}/v1/projects/{world.matching}/runs"
                httpx.get(url, headers=world.headers("analyst"), timeout=60)
        except httpx.TransportError:
            pass

    with ThreadPoolExecutor(scale.burst_requests) as pool:
        pending = [pool.submit(request, number) for number in range(scale.burst_requests)]
        time.sleep(rng.uniform(0.05, 0.4))
        hub.kill()
        for future in pending:
            future.result()


def start_run(hub: HubUnderTest, world: World) -> uuid.UUID:
    url = f"{hub.url}/v1/projects/{world.matching}/runs"
    response = httpx.post(url, json={}, headers=world.headers("analyst"), timeout=60)
    response.raise_for_status()
    return uuid.UUID(response.json()["id"])


def wait_for_stage(hub: HubUnderTest, run_id: uuid.UUID, wanted: Callable[[str], bool]) -> None:
    """Poll the run's row directly (no request, no audit entry) until its stage is wanted."""
    engine = _reader(hub)
    deadline = time.monotonic() + 60
    try:
        while time.monotonic() < deadline:
            with Session(engine) as session:
                run = session.get_one(Run, run_id)
                if wanted(run.stage):
                    return
                if run.status in ("succeeded", "failed"):
                    raise RuntimeError("the run ended before the stage to kill it in")
            time.sleep(0.005)
    finally:
        engine.dispose()
    raise RuntimeError("the run never reached the stage to kill it in")


KILLS: dict[str, Callable[[HubUnderTest, World, Scale, random.Random], None]] = {
    "upload": kill_during_upload,
    "run": kill_during_run,
    "storage": kill_during_storage,
    "burst": kill_during_burst,
}


# ---------------------------------------------------------------------------- invariants


def check_invariants(hub: HubUnderTest, world: World) -> dict[str, bool]:
    """What must hold once the killed hub serves again (it has been started)."""
    engine = _reader(hub)
    try:
        keyring = load_hub_keys(hub.data_dir, create=False).storage
        with Session(engine) as session:
            stored = list(session.scalars(select(Upload)))
            whole = {u.id for u in stored if _opens(u, hub.data_dir, keyring)}
            digests = {u.id: u.digest for u in stored}
        return {
            "uploads kept": all(digests.get(i) == d for i, d in world.accepted.items()),
            "no half batch": whole == set(digests),
            "runs settle": runs_settle(hub, world, engine),
            "audit verifies": audit_verifies(hub, world),
            "spool clean": spool_clean(hub.data_dir),
        }
    finally:
        engine.dispose()


def _opens(upload: Upload, data_dir: Path, keyring: Keyring) -> bool:
    try:
        batch = open_upload(upload, objects=LocalObjects(data_dir), keyring=keyring)
    except Exception:  # any failure to open is what this invariant is about
        return False
    return len(batch.references) == upload.record_count


def runs_settle(hub: HubUnderTest, world: World, engine: Engine) -> bool:
    """Every run ends; a succeeded one has all its hits; after a failed one a rerun succeeds."""
    deadline = time.monotonic() + SETTLE_SECONDS
    while time.monotonic() < deadline:
        with Session(engine) as session:
            runs = list(session.scalars(select(Run).order_by(Run.created_at)))
            if all(run.status in ("succeeded", "failed") for run in runs):
                break
        time.sleep(0.2)
    else:
        return False
    with Session(engine) as session:
        for run in runs:
            hits = session.scalar(select(func.count()).where(Hit.run_id == run.id))
            if run.status == "succeeded" and hits != run.hit_count:
                return False
    if runs and runs[-1].status == "failed":
        rerun = start_run(hub, world)
        return runs_settle(hub, world, engine) and _succeeded(engine, rerun)
    return True


def _succeeded(engine: Engine, run_id: uuid.UUID) -> bool:
    with Session(engine) as session:
        return session.get_one(Run, run_id).status == "succeeded"


def audit_verifies(hub: HubUnderTest, world: World) -> bool:
    url = f"{hub.url}/v1/audit/verify"
    response = httpx.get(url, headers=world.headers("auditor"), timeout=120)
    return response.status_code == 200 and response.json()["ok"] is True


def spool_clean(data_dir: Path) -> bool:
    spool = data_dir / "spool"
    leftovers = [path for path in spool.rglob("*") if path.is_file()] if spool.exists() else []
    return not leftovers and not list(data_dir.rglob("*.partial"))


def _reader(hub: HubUnderTest) -> Engine:
    return make_engine(Settings(database_url=SecretStr(hub.database_url)))


# ---------------------------------------------------------------------------- cycles


@dataclass
class Outcome:
    """Cycles per phase and, per invariant, how many checks held."""

    database: str
    cycles: dict[str, int] = field(default_factory=lambda: dict.fromkeys(PHASES, 0))
    held: dict[str, dict[str, int]] = field(default_factory=dict)
    seconds: float = 0.0

    def record(self, phase: str, results: dict[str, bool]) -> None:
        self.cycles[phase] += 1
        counts = self.held.setdefault(phase, dict.fromkeys(INVARIANTS, 0))
        for name, held in results.items():
            counts[name] += held

    @property
    def all_held(self) -> bool:
        return all(self.held[p][i] == self.cycles[p] for p in self.held for i in INVARIANTS)


def inject(
    database_url: str,
    folder: Path,
    *,
    cycles: int,
    scale: Scale,
    seed: int = 0,
    label: str = "",
) -> Outcome:
    """Seed a hub, then kill and restart it `cycles` times per phase, checking each time."""
    rng = random.Random(seed)
    hub = HubUnderTest(database_url, folder / "hub-data", folder / "hub.log")
    world = seed_world(hub)
    outcome = Outcome(database=label or make_url(database_url).get_backend_name())
    started = time.perf_counter()
    hub.start()
    try:
        for batch in planted_batches(scale.run_records, scale.run_persons, seed).values():
            upload(hub, world, world.matching, batch).raise_for_status()
        for phase in PHASES:
            for _ in range(cycles):
                KILLS[phase](hub, world, scale, rng)
                hub.start()
                outcome.record(phase, check_invariants(hub, world))
    finally:
        hub.stop()
    outcome.seconds = time.perf_counter() - started
    return outcome


@contextmanager
def postgres_database(server_url: str) -> Iterator[str]:
    """A database of its own on the server (`faults_...`), dropped afterwards."""
    name = f"faults_{uuid.uuid4().hex[:12]}"
    admin = create_engine(server_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(server_url).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE "{name}" WITH (FORCE)'))
        admin.dispose()


def table(outcomes: list[Outcome]) -> str:
    header = f"{'database':<10} {'phase':<8} {'kills':>5}  " + "  ".join(INVARIANTS)
    lines = [header]
    for outcome in outcomes:
        for phase in PHASES:
            kills = outcome.cycles[phase]
            held = outcome.held.get(phase, dict.fromkeys(INVARIANTS, 0))
            cells = "  ".join(f"{f'{held[name]}/{kills}':>{len(name)}}" for name in INVARIANTS)
            lines.append(f"{outcome.database:<10} {phase:<8} {kills:>5}  {cells}")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--cycles", type=int, default=5, help="kills per phase and database")
    parser.add_argument("--database", choices=["sqlite", "postgres", "both"], default="both")
    parser.add_argument(
        "--postgres",
        default=os.environ.get(
            "TEST_DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
        ),
        help="a server URL; a database of its own is created there and dropped",
    )
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    outcomes = []
    for database in ("sqlite", "postgres"):
        if args.database not in (database, "both"):
            continue
        with tempfile.TemporaryDirectory() as folder:
            if database == "sqlite":
                url = f"sqlite:///{Path(folder) / 'hub.db'}"
                outcomes.append(inject(url, Path(folder), cycles=args.cycles, scale=Scale()))
            else:
                with postgres_database(args.postgres) as url:
                    outcomes.append(inject(url, Path(folder), cycles=args.cycles, scale=Scale()))
        print(f"{database}: {outcomes[-1].seconds:.0f} s", flush=True)
    print(table(outcomes))
    if not all(outcome.all_held for outcome in outcomes):
        raise SystemExit("an invariant did not hold")


if __name__ == "__main__":
    main()
