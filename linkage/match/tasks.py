"""Independent tasks of a matching run, and the runner that executes them in this process.

What: a run's work is cut into tasks that share nothing but one read-only object (the
pool's filters for comparison blocks; nothing for salt-group blocks, which carry their own
records). A runner executes a list of tasks and returns their results in task order:
`run_here` one after another in this process, `linkage.match.distributed.dask_runner` on a
Dask cluster. Because results come back in task order whatever ran them where, a run's
hits do not depend on the runner.

Why: one interface for every kind of block (all-pairs and LSH blocks of the CLK,
digest ranges of salt families), so that the hub's configured runner, its progress and
its cancellation apply to all of them.

Progress and cancellation: the runner calls `done()` once per finished task, in task
order. Whoever passed `done` may raise from it (the hub stops a run that lost its claim
this way); the runner then stops, and a cluster runner cancels the tasks not yet run.

Threads: in this process a task may use numba's threads (every core). A cluster's worker
runs its tasks with `run_alone`: the cluster spreads tasks over cores itself, and a
kernel's idle threads would spin on the cores the other workers need.
"""

from collections.abc import Callable, Sequence
from contextvars import ContextVar
from typing import Protocol, TypeVar

S = TypeVar("S")  # what every task of a list reads (scattered once to each worker)
R = TypeVar("R")  # a task's result
S_contra = TypeVar("S_contra", contravariant=True)
R_co = TypeVar("R_co", covariant=True)


class Task(Protocol[S_contra, R_co]):
    """One block of a run: `run` depends only on the task and the shared object."""

    def run(self, shared: S_contra) -> R_co:
        """Do the block's work; the result must not depend on where it runs."""
        ...


TaskDone = Callable[[], None]  # a runner calls it once per finished task, in task order


class Runner(Protocol):
    """Executes tasks and returns their results in task order."""

    def __call__(self, shared: S, tasks: Sequence[Task[S, R]], done: TaskDone) -> list[R]:
        """Run every task with `shared`; `done()` after each, in task order."""
        ...


def run_task(shared: S, task: Task[S, R]) -> R:
    """One task (a module-level function, so that cluster workers can be sent it)."""
    return task.run(shared)


_alone: ContextVar[bool] = ContextVar("linkage_task_alone", default=False)


def threads_allowed() -> bool:
    """Whether the task now running may use numba's threads (not on a cluster's worker)."""
    return not _alone.get()


def run_alone(shared: S, task: Task[S, R]) -> R:
    """One task on one thread: what a cluster's workers run (`distributed`)."""
    token = _alone.set(True)
    try:
        return task.run(shared)
    finally:
        _alone.reset(token)


def _nothing() -> None:
    return None


def run_here(shared: S, tasks: Sequence[Task[S, R]], done: TaskDone = _nothing) -> list[R]:
    """The in-process runner: tasks one after another (each may use every core)."""
    results = []
    for task in tasks:
        results.append(run_task(shared, task))
        done()
    return results
