"""Schemathesis in `make test`: a few generated requests per operation, no 5xx, no spec drift.

benchmarks/security_fuzz.py runs the same with a thousand requests per operation.
"""

import pytest
from sqlalchemy.orm import Session

from service.config import Settings
from tests.contract.fuzzing import NO_LIMITS, build_world, fuzz
from tests.service.conftest import TestClient

EXAMPLES = 8  # per operation and backend: about 45 operations


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return settings.model_copy(update=NO_LIMITS)


def test_generated_requests_get_no_5xx_and_answers_as_specified(
    client: TestClient, session: Session, settings: Settings, admin_token: str
) -> None:
    world = build_world(client, session, settings, admin_token)

    tallies = fuzz(client, world, examples=EXAMPLES)

    failures = [f"{t.operation}: {failure}" for t in tallies for failure in t.failures]
    assert failures == []
    assert all(t.requests > 0 for t in tallies)
    assert sum(t.requests for t in tallies) >= 4 * len(tallies)
