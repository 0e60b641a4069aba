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
