from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from linkage.match import group_tasks
from linkage.match.distributed import dask_runner
from linkage.match.engine import MatchSettings, match_batches
from linkage.match.tasks import run_here, threads_allowed
from tests.linkage.field_data import SynthBatches, synth_batches
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


def test_salt_group_blocks_on_a_cluster_give_the_in_process_result(
    client: Any, synth: SynthBatches, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Every family cut into many digest ranges, spread over both workers a few at a time.
    monkeypatch.setattr(group_tasks, "BLOCK_RECORDS", 40)
    here_steps: list[tuple[str, float]] = []
    there_steps: list[tuple[str, float]] = []

    here = match_batches(synth.batches, progress=lambda *step: here_steps.append(step))
    there = match_batches(
        synth.batches,
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
