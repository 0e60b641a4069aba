"""Running the comparison tasks of a matching run on a Dask cluster.

The filters are scattered to every worker once; each task then sends only its four
bounds, the threshold and the band plan, and returns the pairs it found. Grouping stays
with the caller: it needs all pairs, and it is cheap. So does field scoring (levels, EM
and posteriors of the candidates, `linkage.match.fields`): it is linear in the candidates
and takes seconds where the comparisons take minutes. Results are identical to the
in-process runner because the tasks and their order are the same.

Usage (the hub does this when a scheduler address is configured):

    from dask.distributed import Client
    with Client("tcp://scheduler:8786") as client:
        hits, report = match_batches(batches, settings, runner=dask_runner(client))
"""

from collections.abc import Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

from linkage.match.dice import DicePairs
from linkage.match.engine import CompareTask, Runner, TaskDone, run_task


def dask_runner(client: Any) -> Runner:  # Any: dask is an optional dependency
    """A runner that executes the tasks on the cluster behind a `dask.distributed.Client`."""

    def run(
        filters: npt.NDArray[np.uint8], tasks: Sequence[CompareTask], done: TaskDone
    ) -> list[tuple[DicePairs, int]]:
        if not tasks:
            return []
        shared = client.scatter(np.ascontiguousarray(filters), broadcast=True)
        futures = client.map(run_task, [shared] * len(tasks), list(tasks), pure=False)
        results: list[tuple[DicePairs, int]] = []
        for future in futures:  # in task order, so results are those of the in-process runner
            results.append(future.result())
            done()
        return results

    return run
