"""The one-line summary of a hub run says what its recall estimate counts."""

import uuid

from linkage.cli.hub_runs import run_summary
from linkage.hub_models import Run


def _run(**estimate: object) -> Run:
    return Run.model_validate(
        {
            "id": str(uuid.uuid4()),
            "project_id": str(uuid.uuid4()),
            "status": "succeeded",
            "stage": "done",
            "progress": 1.0,
            "threshold": 0.5,
            "hit_count": 12,
            "error": None,
            "estimated_precision": 0.99,
            "estimated_recall": 0.9,
            **estimate,
        }
    )


def test_a_recall_over_all_pairs_shows_its_interval() -> None:
    line = run_summary(_run(recall_basis="all pairs", recall_interval=[0.88, 0.93]))
    assert "recall 0.900 [0.880-0.930] of all pairs" in line


def test_a_recall_over_compared_pairs_says_so() -> None:
    line = run_summary(_run(recall_basis="compared pairs"))
    assert "recall 0.900 of the compared pairs only" in line


def test_a_run_the_hub_compared_says_what_is_new_since_the_run_before() -> None:
    since = uuid.uuid4()
    changes = {"since_run_id": str(since), "new": 3, "grown": 2, "changed": 1}
    run = _run(changes=changes | {"unchanged": 40, "gone": 4}, trigger="watch")

    first, second = run_summary(run).splitlines()

    assert first.startswith(f"run {run.id} succeeded: 12 hits")
    assert second == (
        f"since run {str(since)[:8]}: 3 new hits, 2 grown, 1 changed, 4 gone, 40 unchanged"
    )


def test_a_run_without_changes_is_one_line() -> None:
    assert len(run_summary(_run()).splitlines()) == 1
