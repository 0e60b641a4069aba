"""Schemathesis against the checked-in OpenAPI, a thousand requests per operation; and the limits.

    python -m benchmarks.security_fuzz [--examples 1000] [--workers 2] [--only PATH-PART]

Part one builds a hub (SQLite file, runs inline) with three agencies' uploads, a run with
hits and a suspect, and sends `--examples` generated requests (valid and invalid, as an
administrator, a data officer, an analyst, an auditor or with generated credentials) to
every operation in openapi/openapi.json, checking each answer: no 5xx, status and body as
the spec says (tests/contract/fuzzing.py). Its rate limits are off for this part.

Part two measures the limits at their defaults: 1,000 requests with bad tokens from one
address (how many 401s before the backoff's 429s), a burst from one principal and one
address, and runs queued in one project.
"""

import argparse
import multiprocessing
import tempfile
import time
import uuid
from collections import Counter
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

from pydantic import SecretStr
from sqlalchemy.orm import Session

from service.bootstrap import create_first_admin
from service.config import Settings
from service.db import Base, make_engine
from service.main import create_app
from tests.contract.fuzzing import NO_LIMITS, Tally, build_world, fuzz, operations
from tests.service.conftest import TestClient
from tests.service.factories import bearer
from tests.service.matching_data import Scene, make_scene


def hub_settings(folder: Path, **changes: object) -> Settings:
    base = Settings(
        database_url=SecretStr("sqlite://"),  # in memory: no fsync per audit entry
        data_dir=folder / "hub-data",
        run_workers=0,
        run_inline=True,
    )
    return base.model_copy(update=changes)


def fuzz_part(examples: int, seed: int, only: str | None, workers: int) -> list[Tally]:
    """Every operation fuzzed, shared out over `workers` processes (each with its own hub)."""
    labels = [op.label for op in operations() if only is None or only in op.path]
    shares = [labels[index::workers] for index in range(workers)]
    if workers == 1:
        return fuzz_share(shares[0], examples, seed)
    with ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn")) as pool:
        results = pool.map(fuzz_share, shares, [examples] * workers, [seed] * workers)
        return [tally for share in results for tally in share]


def fuzz_share(labels: list[str], examples: int, seed: int) -> list[Tally]:
    """These operations fuzzed on a fresh hub (in memory) with its own world."""
    with tempfile.TemporaryDirectory() as folder:
        settings = hub_settings(Path(folder), **NO_LIMITS)
        engine = make_engine(settings)
        Base.metadata.create_all(engine)
        chosen = [op for op in operations() if op.label in labels]
        with (
            Session(engine, expire_on_commit=False) as session,
            TestClient(create_app(settings, engine=engine)) as client,
        ):
            admin = create_first_admin(session, "Hub operations", "First administrator")
            world = build_world(client, session, settings, admin)
            return fuzz(client, world, examples=examples, chosen=chosen, seed=seed, report=show)


def show(tally: Tally) -> None:
    statuses = " ".join(f"{status}:{count}" for status, count in sorted(tally.statuses.items()))
    print(
        f"{tally.operation:<68} {tally.requests:>6} req {tally.seconds:>6.1f} s "
        f"failures {len(tally.failures):>3}  {statuses}",
        flush=True,
    )
    for failure in sorted(set(tally.failures))[:5]:
        print(f"    {failure}")


def limits_part() -> None:
    with tempfile.TemporaryDirectory() as folder:
        settings = hub_settings(Path(folder), run_inline=False)  # runs stay queued
        engine = make_engine(settings)
        Base.metadata.create_all(engine)
        with (
            Session(engine, expire_on_commit=False) as session,
            TestClient(create_app(settings, engine=engine)) as client,
        ):
            scene = make_scene(session, settings)
            bad_tokens(client)
        with TestClient(create_app(settings, engine=engine)) as client:
            burst(client, "analyst, one principal", bearer(scene.tokens["analyst"]), scene)
        with TestClient(create_app(settings, engine=engine)) as client:
            queue(client, scene)


def bad_tokens(client: TestClient) -> None:
    started, statuses, first_429 = time.perf_counter(), Counter[int](), None
    for index in range(1000):
        status = client.get("/v1/agencies", headers=bearer(uuid.uuid4().hex)).status_code
        statuses[status] += 1
        if status == 429 and first_429 is None:
            first_429 = index + 1
    seconds = time.perf_counter() - started
    print(
        f"1,000 bad tokens from one address: {dict(statuses)}; first 429 at request "
        f"{first_429}; {1000 / seconds:.0f} requests/s"
    )


def burst(client: TestClient, who: str, headers: dict[str, str], scene: Scene) -> None:
    url = f"/v1/projects/{scene.project.id}"
    started, statuses, first_429 = time.perf_counter(), Counter[int](), None
    for index in range(2000):
        status = client.get(url, headers=headers).status_code
        statuses[status] += 1
        if status == 429 and first_429 is None:
            first_429 = index + 1
    seconds = time.perf_counter() - started
    print(
        f"2,000 requests at once, {who}: {dict(statuses)}; first 429 at request {first_429}; "
        f"{2000 / seconds:.0f} requests/s"
    )


def queue(client: TestClient, scene: Scene) -> None:
    analyst = bearer(scene.tokens["analyst"])
    statuses = [
        client.post(f"/v1/projects/{scene.project.id}/runs", json={}, headers=analyst).status_code
        for _ in range(6)
    ]
    print(f"6 runs started in one project, none finished: {statuses}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--examples", type=int, default=1000, help="requests per operation")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--only", help="fuzz only operations whose path contains this")
    parser.add_argument("--workers", type=int, default=1, help="processes sharing the work")
    parser.add_argument("--skip-limits", action="store_true")
    args = parser.parse_args()
    started = time.perf_counter()
    tallies = fuzz_part(args.examples, args.seed, args.only, args.workers)
    requests = sum(t.requests for t in tallies)
    failures = sum(len(t.failures) for t in tallies)
    server_errors = sum(count for t in tallies for s, count in t.statuses.items() if s >= 500)
    print(
        f"\n{len(tallies)} operations, {requests} requests "
        f"(fewest for one operation: {min(t.requests for t in tallies)}), "
        f"{server_errors} 5xx, {failures} failed checks, {time.perf_counter() - started:.0f} s"
    )
    if not args.skip_limits:
        print()
        limits_part()


if __name__ == "__main__":
    main()
