from collections.abc import Iterator

import pytest

from linkage.match.distributed import dask_runner
from linkage.match.engine import MatchSettings, match_batches
from tests.linkage.field_data import synth_batches
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
