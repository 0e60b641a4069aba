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

A worker that dies mid-run costs only its tasks: the blocks scattered to it, and results
it held that were not yet gathered, are lost with it; the runner scatters those tasks
again from its own list (a block refers to the pool the caller holds) and the rest of
the run goes on. A task is sent again at most `retries` times (then `TaskLost`); results
are still gathered in task order and `done()` still comes once per task. Results the
scheduler can recompute itself (their block is still on a live worker) it recomputes.

Usage (the hub does this when a scheduler address is configured):

    from dask.distributed import Client
    with Client("tcp://scheduler:8786") as client:
        hits, report = match_batches(batches, settings, runner=dask_runner(client))
"""

from collections.abc import Sequence
from concurrent.futures import CancelledError
from typing import Any, TypeVar

from linkage.match.tasks import Task, TaskDone, run_alone

S = TypeVar("S")
R = TypeVar("R")

RETRIES = 3  # resubmissions of one task whose block or result a lost worker took with it


class TaskLost(RuntimeError):
    """A task was lost with its worker more often than the runner retries one task."""

    def __init__(self, index: int, retries: int) -> None:
        super().__init__(f"task {index} was lost with its worker {retries + 1} times")
        self.index = index


def _lost(error: BaseException) -> bool:
    """Whether a task's future failed because a worker went away, not because it raised.

    Its scattered block went with the worker (the future is cancelled), or the task was
    running on workers that died too often (`KilledWorker`).
    """
    return isinstance(error, CancelledError) or type(error).__name__ == "KilledWorker"


class _Run:
    """One call of a `DaskRunner`: the futures it has out, and how often each task was lost."""

    def __init__(self, runner: "DaskRunner", shared: Any, tasks: Sequence[Task[Any, Any]]):
        self.runner = runner
        self.client = runner.client
        self.shared = shared
        self.tasks = tasks
        self.pending: dict[int, tuple[Any, Any]] = {}  # index -> its result's, its future
        self.losses: dict[int, int] = {}  # task index -> times it was lost
        self.held = [self.client.scatter(shared, broadcast=True, hash=False)]

    def send(self, indices: Sequence[int]) -> None:
        """Scatter these tasks (one worker each) and submit them."""
        if self.held[0].status != "finished":  # every copy of the shared object was lost
            self.held[0] = self.client.scatter(self.shared, broadcast=True, hash=False)
        batch = [self.tasks[index] for index in indices]
        for index, task in zip(indices, self.client.scatter(batch, hash=False), strict=True):
            result = self.client.submit(run_alone, self.held[0], task, pure=False)
            self.pending[index] = (result, task)

    def resend(self, index: int) -> None:
        """Send a lost task again, or give up once it was lost too often."""
        self.losses[index] = self.losses.get(index, 0) + 1
        if self.losses[index] > self.runner.retries:
            raise TaskLost(index, self.runner.retries)
        self.runner.resubmitted += 1
        self.send([index])

    def gather(self, index: int) -> Any:
        """The task's result, sending it again (with any other lost task) while it is lost."""
        while True:
            try:
                result = self.pending[index][0].result()
                break
            except BaseException as error:
                if not _lost(error):
                    raise
            # Only the lost tasks go again: this one and any other the worker took.
            self.resend(index)
            for other in sorted(self.pending):
                if other != index and self.pending[other][0].status == "cancelled":
                    self.resend(other)
        # The result's and the task's futures are dropped with it: released.
        del self.pending[index]
        return result

    def cancel(self) -> None:
        """Release everything still out on the cluster."""
        out = [future for both in self.pending.values() for future in both]
        self.client.cancel(out + self.held)


class DaskRunner:
    """A runner that executes the tasks on the cluster behind a `dask.distributed.Client`.

    `resubmitted` counts the tasks this runner sent again because a worker took them
    with it (over every run it made): a task runs once, plus once per loss.
    """

    def __init__(
        self, client: Any, *, in_flight: int | None = None, retries: int = RETRIES
    ) -> None:  # Any: dask is optional
        self.client = client
        self.in_flight = in_flight
        self.retries = retries
        self.resubmitted = 0

    def __call__(self, shared: S, tasks: Sequence[Task[S, R]], done: TaskDone) -> list[R]:
        """Run every task with `shared` on the cluster; `done()` after each, in task order."""
        if not tasks:
            return []
        window = self.in_flight or 2 * max(1, sum(self.client.nthreads().values()))
        run = _Run(self, shared, tasks)
        results: list[R] = []
        try:
            sent = 0
            for index in range(len(tasks)):
                upto = min(len(tasks), index + window)
                if sent < upto:
                    run.send(range(sent, upto))
                    sent = upto
                results.append(run.gather(index))
                done()
        except BaseException:
            run.cancel()
            raise
        run.client.cancel(run.held)
        return results


def dask_runner(
    client: Any, *, in_flight: int | None = None, retries: int = RETRIES
) -> DaskRunner:  # Any: dask optional
    """A runner that executes the tasks on the cluster behind a `dask.distributed.Client`.

    Args:
        client: A connected `dask.distributed.Client`.
        in_flight: Tasks out on the cluster at once; default two per worker thread.
        retries: Times one task is sent again after a worker took it with it.
    """
    return DaskRunner(client, in_flight=in_flight, retries=retries)
