"""A second hub process for the audit tests: appends entries to a chain until told to stop.

    python -m tests.service.audit_appender DATABASE_URL DATA_DIR STOP_FILE

It opens the database and the hub's keys as a hub process would and appends entries
through its own AuditWriter, from several threads, until STOP_FILE exists, while the test
process appends through its own.
"""

import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from pydantic import SecretStr
from sqlalchemy.orm import sessionmaker

from service.audit_writer import AuditWriter
from service.config import Settings
from service.db import make_engine
from service.hub_keys import load_hub_keys
from service.models import utcnow
from service.store.audit import EntryDraft

_MAX_ENTRIES = 5000  # per thread; a safety stop should the test never say stop


def draft(number: int) -> EntryDraft:
    return EntryDraft(
        at=utcnow(),
        request_id=f"appender-{number}",
        principal_id=None,
        agency_id=None,
        role=None,
        action="unmatched",
        method="GET",
        project_id=None,
        resource=None,
        outcome=404,
        records=None,
    )


def append_until(writer: AuditWriter, stop: Path, thread: int) -> None:
    # Each thread waits for its entry before the next, as requests do: a steady stream.
    for number in range(_MAX_ENTRIES):
        writer.append(draft(thread * _MAX_ENTRIES + number)).result(timeout=60)
        if stop.exists():
            return


def main(url: str, data_dir: Path, stop: Path, *, threads: int = 4) -> None:
    engine = make_engine(Settings(database_url=SecretStr(url)))
    writer = AuditWriter(
        sessionmaker(engine, expire_on_commit=False),
        load_hub_keys(data_dir, create=False),
        checkpoint_every=7,
    )
    writer.start()
    try:
        with ThreadPoolExecutor(threads) as pool:
            list(pool.map(lambda thread: append_until(writer, stop, thread), range(threads)))
    finally:
        writer.close()
        engine.dispose()


if __name__ == "__main__":
    main(sys.argv[1], Path(sys.argv[2]), Path(sys.argv[3]))
