"""The contract tests use the hub's fixtures: the real app on SQLite and PostgreSQL."""

from tests.contract.key_journey import (  # noqa: F401 - fixtures, registered by import
    journey,
    records,
    wired,
)
from tests.service.conftest import (  # noqa: F401 - fixtures, registered by import
    admin_token,
    client,
    engine,
    session,
    session_factory,
    settings,
)
