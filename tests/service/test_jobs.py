import logging
import time
from collections.abc import Callable, Iterator
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from pydantic import SecretStr
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from service import jobs
from service.config import Settings
from service.db import Base, make_engine
from service.main import create_app
from service.models import Hit, HitMember, Run, RunStatus, utcnow
from service.store import hits as hits_store
from service.store import runs as store
from tests.service.factories import bearer
from tests.service.matching_data import (
    THRESHOLD,
    Scene,
    execute_queued,
    job_context,
    make_scene,
    queue_run,
)

SessionFactory = Callable[[], Session]
LONG_AGO = timedelta(hours=1)


@pytest.fixture
def scene(session: Session, settings: Settings) -> Scene:
    return make_scene(session, settings)


def interrupted_run(
    session: Session, scene: Scene, *, attempts: int, beat_ago: timedelta = LONG_AGO
) -> Run:
    """A run as a hub process that died while executing it leaves it behind."""
    run = queue_run(session, scene.project)
    run.status, run.attempts, run.stage = RunStatus.RUNNING, attempts, "comparing"
    run.started_at = run.heartbeat_at = utcnow() - beat_ago
    session.commit()
    return run


def reread(session: Session, run: Run) -> Run:
    session.expire_all()
    return session.get_one(Run, run.id)


def hit_count(session: Session, run: Run) -> int:
    return session.scalar(select(func.count()).select_from(Hit).where(Hit.run_id == run.id)) or 0


def test_only_one_claim_of_a_queued_run_wins(session: Session, scene: Scene) -> None:
    run = queue_run(session, scene.project)

    first = store.claim(session, run.id, now=utcnow())
    second = store.claim(session, run.id, now=utcnow())
    session.commit()

    assert (first, second) == (1, None)
    assert reread(session, run).status is RunStatus.RUNNING


def test_an_interrupted_run_is_requeued_and_then_completes(
    session: Session, session_factory: SessionFactory, settings: Settings, scene: Scene
) -> None:
    run = interrupted_run(session, scene, attempts=1)

    assert jobs.recover(job_context(session_factory, settings)) == (1, 0)
    requeued = reread(session, run)
    assert (requeued.status, requeued.stage) == (RunStatus.QUEUED, store.REQUEUED_STAGE)
    execute_queued(session_factory, settings)

    done = reread(session, run)
    assert (done.status, done.attempts) == (RunStatus.SUCCEEDED, 2)
    assert hit_count(session, run) == len(scene.planted.persons)


def test_a_run_interrupted_at_every_attempt_is_failed_not_retried(
    session: Session, session_factory: SessionFactory, settings: Settings, scene: Scene
) -> None:
    run = interrupted_run(session, scene, attempts=store.MAX_ATTEMPTS)

    assert jobs.recover(job_context(session_factory, settings)) == (0, 1)

    failed = reread(session, run)
    assert failed.status is RunStatus.FAILED
    assert failed.error == "Interrupted: the hub stopped during each of 3 attempts"
    assert failed.finished_at is not None


def test_a_run_with_a_fresh_heartbeat_belongs_to_a_live_process(
    session: Session, session_factory: SessionFactory, settings: Settings, scene: Scene
) -> None:
    run = interrupted_run(session, scene, attempts=1, beat_ago=timedelta(seconds=5))

    assert jobs.recover(job_context(session_factory, settings)) == (0, 0)
    assert reread(session, run).status is RunStatus.RUNNING


def test_an_attempt_that_lost_its_claim_stores_nothing(session: Session, scene: Scene) -> None:
    run = queue_run(session, scene.project)
    old = store.claim(session, run.id, now=utcnow())
    store.recover_stale(session, stale_before=utcnow() + LONG_AGO, now=utcnow())
    new = store.claim(session, run.id, now=utcnow())
    session.commit()

    assert old is not None and new == old + 1
    assert not store.finish(session, run.id, old, report={}, hit_count=0, now=utcnow())
    assert not store.record_progress(session, run.id, old, stage="x", progress=0.5, now=utcnow())
    assert store.record_progress(
        session, run.id, new, stage="comparing", progress=0.5, now=utcnow()
    )


def test_a_reexecuted_run_replaces_what_an_earlier_attempt_left(
    session: Session, session_factory: SessionFactory, settings: Settings, scene: Scene
) -> None:
    run = interrupted_run(session, scene, attempts=1)
    stray = Hit(run_id=run.id, number=1, agency_count=2, best_score=1.0, links=[])
    session.add(stray)
    session.flush()
    stray_id = stray.id
    agency_id = scene.agencies["FIU"].id
    session.add(
        HitMember(hit_id=stray.id, position=0, run_id=run.id, agency_id=agency_id, reference="x")
    )
    session.commit()

    jobs.recover(job_context(session_factory, settings))
    execute_queued(session_factory, settings)

    assert reread(session, run).status is RunStatus.SUCCEEDED
    assert hit_count(session, run) == len(scene.planted.persons)
    assert stray_id not in {hit.id for hit in session.scalars(select(Hit))}


def test_an_attempt_taken_over_while_storing_stops_and_the_next_stores_everything(
    session: Session,
    session_factory: SessionFactory,
    settings: Settings,
    scene: Scene,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Hits are stored in short transactions (other writers go in between); each renews
    # the claim first, so an attempt whose run was taken over stops at the next one.
    monkeypatch.setattr(hits_store, "INSERT_ROWS", 5)
    run = queue_run(session, scene.project)
    session.commit()
    real_insert, inserted = hits_store.insert_rows, []

    def insert_then_lose_the_run(write: Session, batch: hits_store.RowBatch) -> None:
        real_insert(write, batch)
        inserted.append(len(batch[1]))
        if len(inserted) == 3:  # another hub process takes the run over after this batch
            store.recover_stale(write, stale_before=utcnow() + LONG_AGO, now=utcnow())
            assert store.claim(write, run.id, now=utcnow()) == 2

    monkeypatch.setattr(hits_store, "insert_rows", insert_then_lose_the_run)
    execute_queued(session_factory, settings)

    taken = reread(session, run)
    assert (taken.status, taken.attempts, len(inserted)) == (RunStatus.RUNNING, 2, 3)
    monkeypatch.setattr(hits_store, "insert_rows", real_insert)
    jobs.execute(job_context(session_factory, settings), run.id, 2)
    assert reread(session, run).status is RunStatus.SUCCEEDED
    assert hit_count(session, run) == len(scene.planted.persons)  # no half-stored leftovers


def test_comparisons_on_a_dask_cluster_give_the_in_process_hits(
    session: Session, session_factory: SessionFactory, settings: Settings, scene: Scene
) -> None:
    distributed = pytest.importorskip("dask.distributed")
    here, there = queue_run(session, scene.project), queue_run(session, scene.project)
    jobs.execute_next(job_context(session_factory, settings))

    with distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=False, dashboard_address=None
    ) as cluster:
        context = replace(
            job_context(session_factory, settings), dask_scheduler=cluster.scheduler_address
        )
        jobs.execute_next(context)

    assert reread(session, there).status is RunStatus.SUCCEEDED
    assert member_sets(session, there) == member_sets(session, here)


def member_sets(session: Session, run: Run) -> list[set[tuple[str, str]]]:
    rows = session.execute(
        select(Hit.number, HitMember.agency_id, HitMember.reference)
        .join(HitMember, HitMember.hit_id == Hit.id)
        .where(Hit.run_id == run.id)
        .order_by(Hit.number, HitMember.position)
    )
    groups: dict[int, set[tuple[str, str]]] = {}
    for number, agency_id, reference in rows:
        groups.setdefault(number, set()).add((str(agency_id), reference))
    return [groups[number] for number in sorted(groups)]


# Worker threads need a database each thread can open its own connection to: a file.


@pytest.fixture
def file_settings(tmp_path: Path) -> Settings:
    return Settings(
        database_url=SecretStr(f"sqlite:///{tmp_path / 'hub.db'}"),
        data_dir=tmp_path / "hub-data",
        run_workers=1,
    )


@pytest.fixture
def file_engine(file_settings: Settings) -> Iterator[Engine]:
    engine = make_engine(file_settings)
    Base.metadata.create_all(engine)
    yield engine
    engine.dispose()


@pytest.fixture
def file_scene(file_engine: Engine, file_settings: Settings) -> Scene:
    with Session(file_engine, expire_on_commit=False) as session:
        return make_scene(session, file_settings)


def wait_for(
    client: TestClient, url: str, token: str, timeout_s: float = 60.0
) -> dict[str, object]:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        run: dict[str, object] = client.get(url, headers=bearer(token)).json()
        if run["status"] in ("succeeded", "failed"):
            return run
        assert 0.0 <= float(str(run["progress"])) <= 1.0
        time.sleep(0.05)
    raise AssertionError(f"run not finished after {timeout_s} s")


def test_a_worker_thread_executes_a_started_run(
    file_engine: Engine, file_settings: Settings, file_scene: Scene
) -> None:
    runs = f"/v1/projects/{file_scene.project.id}/runs"
    token = file_scene.tokens["analyst"]

    with TestClient(create_app(file_settings, engine=file_engine)) as client:
        started = client.post(runs, json={"threshold": THRESHOLD}, headers=bearer(token)).json()
        run = wait_for(client, f"{runs}/{started['id']}", token)

    assert run["status"] == "succeeded"
    assert run["hit_count"] == len(file_scene.planted.persons)


def test_a_run_left_running_by_a_crashed_hub_completes_after_a_restart(
    file_engine: Engine,
    file_settings: Settings,
    file_scene: Scene,
    caplog: pytest.LogCaptureFixture,
) -> None:
    with Session(file_engine, expire_on_commit=False) as session:
        run = interrupted_run(session, file_scene, attempts=1)
    token = file_scene.tokens["analyst"]

    app = create_app(file_settings, engine=file_engine)
    url = f"/v1/projects/{file_scene.project.id}/runs/{run.id}"

    with caplog.at_level(logging.WARNING, logger="service.jobs"), TestClient(app) as client:
        done = wait_for(client, url, token)

    assert (done["status"], done["attempts"]) == ("succeeded", 2)
    assert "1 requeued, 0 failed" in caplog.text
