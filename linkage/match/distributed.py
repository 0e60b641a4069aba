"""Running the tasks of a matching run (`linkage.match.tasks`) on a Dask cluster.

The object every task reads (the pool's filters for comparison blocks) is scattered to
every worker once. Tasks are scattered a few at a time, each to one worker, and run
there: a comparison block is four bounds, a threshold and a band plan; a salt-group block
(`group_tasks`) carries its own records' digests and comparison words, never the whole
pool. At most `in_flight` tasks are out at once, so the caller never holds more than
that many packed blocks. Each runs on its worker's one thread (`tasks.run_alone`).
Results are gathered in task order, so they are those of the in-process runner: the hits
do not depend on the cluster.

What stays with the caller: choosing the threshold, grouping, and learning the models
of field scoring (`scoring`: EM on the distinct level patterns, seconds), which need
every block's result.

Progress and cancellation: `done()` is called after each task's result, in task order.
If it raises (the hub stops a run that lost its claim), or a task fails, the tasks still
out are cancelled on the cluster before the error goes on.

Usage (the hub does this when a scheduler address is configured):

    from dask.distributed import Client
    with Client("tcp://scheduler:8786") as client:
        hits, report = match_batches(batches, settings, runner=dask_runner(client))
"""

from collections.abc import Sequence
from typing import Any, TypeVar

from linkage.match.tasks import Runner, Task, TaskDone, run_alone

S = TypeVar("S")
R = TypeVar("R")


def dask_runner(client: Any, *, in_flight: int | None = None) -> Runner:  # Any: dask optional
    """A runner that executes the tasks on the cluster behind a `dask.distributed.Client`.

    Args:
        client: A connected `dask.distributed.Client`.
        in_flight: Tasks out on the cluster at once; default two per worker thread.
    """

    def run(shared: S, tasks: Sequence[Task[S, R]], done: TaskDone) -> list[R]:
        if not tasks:
            return []
        window = in_flight or 2 * max(1, sum(client.nthreads().values()))
        pending: dict[int, tuple[Any, Any]] = {}  # task index -> its result's and its future
        held: list[Any] = []
        results: list[R] = []
        try:
            held.append(client.scatter(shared, broadcast=True, hash=False))
            sent = 0
            for index in range(len(tasks)):
                if sent < min(len(tasks), index + window):
                    batch = list(tasks[sent : index + window])
                    for offset, task in enumerate(client.scatter(batch, hash=False)):
                        result = client.submit(run_alone, held[0], task, pure=False)
                        pending[sent + offset] = (result, task)
                    sent += len(batch)
                # The result's and the task's futures are dropped with it: released.
                results.append(pending.pop(index)[0].result())
                done()
        except BaseException:
            client.cancel([future for both in pending.values() for future in both] + held)
            raise
        client.cancel(held)
        return results

    return run
