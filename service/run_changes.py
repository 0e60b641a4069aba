"""What a run changed since the project's previous succeeded run, counted once it succeeds.

The team reads it with the run (`RunPublic.changes`): after a standing watch re-ran the
project on a new batch, "since run X: 3 new hits, 2 grown, 1 gone" says what to look at.
Hits are compared by the records they hold (`linkage.hits.compare_hits`, the comparison
`fieldlink runs compare` makes), which is sound because references are reproducible.
Only counts and the earlier run's id are stored: never a reference.

Both runs' members are read into memory once, when the run is stored: about as much as
the run's own result, which the worker held a moment before.
"""

from typing import Any

from sqlalchemy.orm import Session

from linkage.hits import compare_hits
from service.models import Run
from service.store import hits as hits_store
from service.store import runs as runs_store


def count_changes(session: Session, run: Run) -> dict[str, Any] | None:
    """The changes from the previous succeeded run to `run`; None when there is none.

    `run`'s hits must be stored already.
    """
    previous = runs_store.previous_succeeded(session, run)
    if previous is None:
        return None
    old = hits_store.hit_records(session, previous.id)
    new = hits_store.hit_records(session, run.id)
    changes = compare_hits(old, new)
    return {
        "since_run_id": str(previous.id),
        "new": len(changes.new),
        "grown": len(changes.grown),
        "changed": len(changes.changed),
        "unchanged": len(changes.unchanged),
        "gone": len(changes.gone),
    }
