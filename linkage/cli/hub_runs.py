"""Which run a hub command acts on, and following a run until it has finished.

Commands that act on a run take `--run`: a run id, its first characters as `runs list`
prints them, `latest` (the default: the newest succeeded run) or `previous` (the succeeded
run before that). Each of them names the run it used in its answer, so an analyst never
reads one run's hits believing they are another's.

Following polls the run and shows its stage and progress on stderr. Ctrl-C stops only the
following: the run goes on at the hub, and the command says how to take it up again.
"""

import argparse
import sys
from collections.abc import Iterable
from datetime import UTC, datetime

from tqdm import tqdm

from linkage.cli.common import by_id
from linkage.client import HubClient
from linkage.errors import LinkageError
from linkage.hub_models import Project, Run

INTERRUPTED = 130  # the shell's status for Ctrl-C: the command stopped, the run did not
_RUN_HELP = (
    "the run: its id or first characters, `latest` (default) or `previous`, "
    "the newest succeeded runs"
)
_OLDEST = datetime.min.replace(tzinfo=UTC)


def add_run_option(parser: argparse.ArgumentParser) -> None:
    """--run (alias --run-id): which run the command acts on."""
    parser.add_argument("--run", "--run-id", dest="run_spec", metavar="RUN", help=_RUN_HELP)


def choose_run(hub: HubClient, project: Project, spec: str | None) -> Run:
    """The run named by `spec` (see the module docstring); `latest` when None.

    Raises:
        LinkageError: The project has no such run, or no succeeded one yet (exit 1).
        UsageError: The id's start is too short or fits several runs (exit 2).
    """
    runs = newest_first(hub.runs(project.id))
    word = (spec or "latest").strip().lower()
    if word not in ("latest", "previous"):
        return by_id(runs, word, "run", lambda run: str(run.id), f" in project {project.name}")
    finished = [run for run in runs if run.status == "succeeded"]
    wanted = 0 if word == "latest" else 1
    if len(finished) <= wanted:
        have = "no finished run yet" if not finished else "only one finished run"
        raise LinkageError(f"project {project.name} has {have}")
    return finished[wanted]


def newest_first(runs: Iterable[Run]) -> list[Run]:
    """Runs by when they were made, newest first (whatever order the hub lists them in)."""
    return sorted(runs, key=lambda run: run.created_at or _OLDEST, reverse=True)


def short(run: Run) -> str:
    """The first 8 characters of the run's id, as lists print it."""
    return str(run.id)[:8]


def follow(hub: HubClient, project: Project, run: Run, *, timeout_s: float | None) -> Run | None:
    """Poll the run until it has finished; None when Ctrl-C stopped the following.

    Raises:
        LinkageError: It has not finished within `timeout_s` (it goes on at the hub).
    """
    try:
        with tqdm(total=100, unit="%", desc=f"run {short(run)}", file=sys.stderr) as bar:

            def show(current: Run) -> None:  # what it is doing: queued, or its stage
                bar.set_postfix_str(current.stage or current.status)
                bar.update(round(current.progress * 100) - bar.n)

            return hub.wait(project.id, run.id, on_progress=show, timeout_s=timeout_s or 1e12)
    except KeyboardInterrupt:
        sys.stderr.write(
            f"\nstopped following run {run.id}; it goes on at the hub. Follow it again with:"
            f" fieldlink runs follow {short(run)} --project {project.name}\n"
        )
        return None
    except TimeoutError as err:
        raise LinkageError(
            f"run {run.id} has not finished after {timeout_s:g} s; it goes on at the hub"
        ) from err


def run_summary(run: Run) -> str:
    """The run's outcome: for a succeeded one its hits, threshold and what changed.

    The first line names the run, its hits and threshold; a second says what changed since
    the previous succeeded run, where the hub counted it.
    """
    if run.status != "succeeded":
        detail = run.error or run.stage or "no detail"
        return f"run {run.id} {run.status}: {detail}"
    estimate = ""
    if run.estimated_precision is not None and run.estimated_recall is not None:
        basis = ""
        if run.recall_interval is not None:
            low, high = run.recall_interval
            basis = f" [{low:.3f}-{high:.3f}] of all pairs"
        elif run.recall_basis:
            basis = f" of the {run.recall_basis} only"
        estimate = (
            f" (estimated without labels: precision {run.estimated_precision:.3f},"
            f" recall {run.estimated_recall:.3f}{basis})"
        )
    threshold = f"{run.threshold:.3f}" if run.threshold is not None else "auto"
    summary = f"run {run.id} succeeded: {run.hit_count} hits at threshold {threshold}{estimate}"
    since = changes_line(run)
    return summary if since is None else f"{summary}\n{since}"


def changes_line(run: Run) -> str | None:
    """What changed since the previous succeeded run, counted by the hub (None: not known).

    "since run 3f2a1b9c: 3 new hits, 2 grown, 0 changed, 1 gone, 40 unchanged". Data
    officers are not told: the counts are over every agency's hits.
    """
    changes = run.changes
    if changes is None:
        return None
    return (
        f"since run {str(changes.since_run_id)[:8]}: {changes.new} new hits, "
        f"{changes.grown} grown, {changes.changed} changed, {changes.gone} gone, "
        f"{changes.unchanged} unchanged"
    )
