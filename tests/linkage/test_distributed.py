import os
import signal
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from linkage.batch import MatchBatch
from linkage.batch_stream import read_for_matching
from linkage.match import group_tasks
from linkage.match.distributed import dask_runner
from linkage.match.engine import MatchSettings, match_batches
from linkage.match.tasks import run_here, threads_allowed
from linkage.spill import SpillSettings
from tests.linkage.field_data import SynthBatches, synth_batches
from tests.linkage.test_batch import to_bytes
from tests.linkage.test_engine import three_agencies

distributed = pytest.importorskip("dask.distributed")


@pytest.fixture(scope="module")
def client() -> Iterator[object]:
    cluster = distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
    )
    with cluster, distributed.Client(cluster) as connected:
        yield connected


@pytest.mark.parametrize("blocking", ["none", "lsh"])
def test_a_two_worker_cluster_gives_the_in_process_result(client: object, blocking: str) -> None:
    settings = MatchSettings(threshold=0.75, blocking=blocking)

    here = match_batches(three_agencies(), settings)
    there = match_batches(three_agencies(), settings, runner=dask_runner(client))

    assert there == here


def test_field_scoring_on_a_cluster_gives_the_in_process_result(
    client: object, tmp_path_factory: pytest.TempPathFactory
) -> None:
    synth = synth_batches(tmp_path_factory.mktemp("synth"))

    here = match_batches(synth.batches)
    there = match_batches(synth.batches, runner=dask_runner(client))

    assert here[1].scoring == "fields"
    assert there == here


def test_field_scoring_with_planned_bands_on_a_cluster_gives_the_in_process_result(
    client: object, tmp_path_factory: pytest.TempPathFactory
) -> None:
    # LSH bands planned from the profile's similarities, their pairs gathered in steps:
    # value filters (the unsalted schema); salt group filters are paired by sorting.
    synth = synth_batches(tmp_path_factory.mktemp("synth"), "person-classic")
    settings = MatchSettings(blocking="lsh")

    here = match_batches(synth.batches, settings)
    there = match_batches(synth.batches, settings, runner=dask_runner(client))

    assert here[1].scoring == "fields"
    assert set(here[1].blocking.values()) == {"lsh"}
    assert here[1].comparisons < here[1].all_pairs
    assert there == here


@pytest.fixture(scope="module")
def synth(tmp_path_factory: pytest.TempPathFactory) -> SynthBatches:
    return synth_batches(tmp_path_factory.mktemp("salted"))


def _wanted(client: Any) -> int:
    """Keys (tasks, scattered data) the scheduler holds for this client, once it has
    handled everything the client sent before (one stream, in order: a task's result
    comes back after the scheduler read every earlier message)."""
    barrier = client.submit(len, [], pure=False)
    barrier.result()
    me = client.id
    held = client.run_on_scheduler(
        lambda dask_scheduler: len(dask_scheduler.clients[me].wants_what)
    )
    return int(held) - 1  # the barrier's own key


def read_as(synth: SynthBatches, read: str) -> list[MatchBatch]:
    """The batches whole, or read from their files as a run reads uploads (digests, their
    comparison words kept in memory or spilled to disk)."""
    if read == "whole":
        return list(synth.batches)
    spill = SpillSettings(over_records=0) if read == "spilled" else None
    return [read_for_matching([to_bytes(batch)], spill=spill) for batch in synth.batches]


@pytest.mark.parametrize("read", ["whole", "digests", "spilled"])
def test_salt_group_blocks_on_a_cluster_give_the_in_process_result(
    client: Any, synth: SynthBatches, monkeypatch: pytest.MonkeyPatch, read: str
) -> None:
    # Every family cut into many digest ranges, spread over both workers a few at a time.
    monkeypatch.setattr(group_tasks, "BLOCK_RECORDS", 40)
    here_steps: list[tuple[str, float]] = []
    there_steps: list[tuple[str, float]] = []

    here = match_batches(synth.batches, progress=lambda *step: here_steps.append(step))
    there = match_batches(
        read_as(synth, read),
        runner=dask_runner(client, in_flight=3),
        progress=lambda *step: there_steps.append(step),
    )

    assert there == here
    assert set(here[1].blocking.values()) == {"salt groups"}
    assert there_steps == here_steps  # a step per block, in block order, on either runner
    assert _wanted(client) == 0  # nothing left behind on the cluster


def test_a_run_stopped_through_its_progress_cancels_its_tasks_on_the_cluster(
    client: Any, synth: SynthBatches, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(group_tasks, "BLOCK_RECORDS", 40)
    steps: list[str] = []

    class Stop(Exception):
        pass

    def progress(stage: str, fraction: float) -> None:
        if stage.startswith("comparing"):
            steps.append(stage)
            if len(steps) == 3:
                raise Stop  # as the hub does when a run lost its claim

    with pytest.raises(Stop) as stopped:
        match_batches(synth.batches, runner=dask_runner(client, in_flight=6), progress=progress)

    # The runner's frame (and any future it held) lives on in the traceback: only an
    # explicit cancel has released the blocks still out on the cluster.
    assert stopped.traceback is not None
    assert len(steps) == 3
    assert _wanted(client) == 0


@dataclass(frozen=True)
class _Threads:
    """A task that says whether it may use numba's threads where it runs."""

    def run(self, shared: None) -> bool:
        return threads_allowed()


def test_tasks_run_on_one_thread_on_the_cluster_and_on_every_core_here(client: Any) -> None:
    tasks = [_Threads(), _Threads(), _Threads()]

    assert run_here(None, tasks) == [True, True, True]
    assert dask_runner(client)(None, tasks, lambda: None) == [False, False, False]


class _Executions(pytest.importorskip("distributed.diagnostics.plugin").SchedulerPlugin):  # type: ignore[misc]
    """A scheduler plugin that counts finished executions of the runner's tasks."""

    name = "count-task-executions"

    def __init__(self) -> None:
        self.count = 0

    def transition(self, key: Any, start: str, finish: str, *args: Any, **kwargs: Any) -> None:
        if start == "processing" and finish == "memory" and str(key).startswith("run_alone"):
            self.count += 1


def _executions(client: Any) -> int:
    return int(
        client.run_on_scheduler(
            lambda dask_scheduler: dask_scheduler.plugins[_Executions.name].count
        )
    )


def _settled(dask_scheduler: Any, me: str) -> bool:
    """Whether every task this client still wants has finished (none is running)."""
    wanted = dask_scheduler.clients[me].wants_what
    return all(ts.state == "memory" for ts in wanted if str(ts.key).startswith("run_alone"))


def _until(condition: Callable[[], bool]) -> None:
    """Wait for a state of the cluster (a minute at most, then fail rather than hang)."""
    for _ in range(1200):
        if condition():
            return
        time.sleep(0.05)
    raise AssertionError("the cluster did not reach the state waited for")


def _lone_holders(dask_scheduler: Any, me: str) -> dict[str, list[str]]:
    """Worker -> the keys this client wants that only that worker holds."""
    held: dict[str, list[str]] = {}
    for ts in dask_scheduler.clients[me].wants_what:
        if ts.state == "memory" and len(ts.who_has) == 1:
            (ws,) = ts.who_has
            held.setdefault(ws.address, []).append(str(ts.key))
    return held


@pytest.mark.parametrize("read", ["whole", "digests"])
def test_a_worker_killed_mid_run_costs_only_its_tasks(
    synth: SynthBatches, monkeypatch: pytest.MonkeyPatch, read: str
) -> None:
    # With digests, a family's words are let go after its last result: the blocks sent
    # again must come from families still held.
    import dask

    monkeypatch.setattr(group_tasks, "BLOCK_RECORDS", 40)
    here_steps: list[tuple[str, float]] = []
    once: list[int] = []  # tasks of each runner call

    def counted(shared: Any, tasks: Any, done: Any) -> Any:
        once.append(len(tasks))
        return run_here(shared, tasks, done)

    here = match_batches(
        synth.batches, runner=counted, progress=lambda *step: here_steps.append(step)
    )

    # No work stealing: a block stays where it was scattered unless its task runs
    # elsewhere, so what the killed worker alone holds is known when it is killed.
    with (
        dask.config.set({"distributed.scheduler.work-stealing": False}),
        distributed.LocalCluster(  # any free port: the other tests' cluster holds 8787
            n_workers=2,
            threads_per_worker=1,
            processes=True,
            dashboard_address=":0",
            scheduler_kwargs={"dashboard": False},
        ) as cluster,
        distributed.Client(cluster) as client,
    ):
        client.register_plugin(_Executions())
        steps: list[tuple[str, float]] = []
        lost: list[str] = []
        runner = dask_runner(client, in_flight=6)

        def progress(stage: str, fraction: float) -> None:
            steps.append((stage, fraction))
            if lost or sum(step.startswith("comparing") for step, _ in steps) != 3:
                return
            # Every task out has finished; the results not yet gathered are on the
            # workers. Kill the worker that alone holds the most of them (blocks too).
            _wanted(client)
            _until(lambda: client.run_on_scheduler(_settled, me=client.id))
            alone = client.run_on_scheduler(_lone_holders, me=client.id)
            victim = max(alone, key=lambda address: len(alone[address]))
            lost.extend(key for key in alone[victim] if key.startswith("run_alone"))
            pid = client.run(os.getpid, workers=[victim])[victim]
            os.kill(pid, signal.SIGKILL)
            _until(lambda: victim not in client.scheduler_info()["workers"])

        there = match_batches(read_as(synth, read), runner=runner, progress=progress)
        executions = _executions(client)

    assert there == here
    assert steps == here_steps  # progress once per block, in block order
    assert lost  # the killed worker held results not yet gathered
    assert 1 <= runner.resubmitted <= len(lost)  # blocks sent again: only the lost ones
    assert executions == sum(once) + len(lost)  # each lost result ran once more, nothing else
