"""A real hub for command-line tests: `fieldlink hub init`, then uvicorn on a free port.

The hub runs in a thread of the test process, on a SQLite file, with one run worker: runs
are queued and matched in the background as in production, and every `fieldlink` command
reaches it over HTTP like a user's would. `fieldlink(...)` runs one command in process and
returns its exit status and output. Principals enrol as people do (`enrol`): the first
administrator registers them, a second person activates them (service.activation), and the
second administrator, which the hub operator activated at set-up, proposes team members.
"""

import io
import os
import re
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager, redirect_stderr, redirect_stdout
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import uvicorn
from pydantic import SecretStr

from linkage.cli import main
from service.config import Settings
from service.main import create_app


@dataclass(frozen=True)
class Answer:
    """What one `fieldlink` command did: its exit status and what it printed."""

    status: int
    out: str
    err: str


SECOND_ADMIN = "admin2"  # the second administrator's token file name (`hub.token`)
_CHECK = re.compile(r"enrolment check: (\S+)")


@dataclass(frozen=True)
class LiveHub:
    url: str
    folder: Path  # database, hub data and token files
    # Who enrolled with `enrol`: token file name -> (agency, role); picks the second person.
    enrolled: dict[str, tuple[str, str]] = field(default_factory=dict)

    @property
    def setup_args(self) -> list[str]:
        """`--database-url` and `--data-dir` of this hub, for `fieldlink hub ...` commands."""
        database = f"sqlite:///{self.folder / 'hub.db'}"
        return ["--database-url", database, "--data-dir", str(self.folder / "hub-data")]

    def token(self, who: str) -> Path:
        """The token file of a principal enrolled with `enrol` (or the first admin's)."""
        return self.folder / "tokens" / f"{who}.token"

    def as_(self, who: str, *argv: str) -> Answer:
        """Run `fieldlink ARGV` against this hub with `who`'s token file."""
        return fieldlink(*argv, env={"FIELDLINK_HUB_URL": self.url, **_token_env(self, who)})


def _token_env(hub: LiveHub, who: str) -> dict[str, str]:
    return {"FIELDLINK_TOKEN_FILE": str(hub.token(who))} if who else {}


def fieldlink(*argv: str, env: dict[str, str] | None = None) -> Answer:
    """Run `fieldlink ARGV` in process, with these environment variables; capture its output."""
    out, err = io.StringIO(), io.StringIO()
    with _environment(env or {}), redirect_stdout(out), redirect_stderr(err):
        status = main(list(argv))
    return Answer(status, out.getvalue(), err.getvalue())


@contextmanager
def _environment(values: dict[str, str]) -> Iterator[None]:
    saved = {name: os.environ.get(name) for name in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


@contextmanager
def live_hub(folder: Path) -> Iterator[LiveHub]:
    """Initialise a hub in `folder` with `fieldlink hub init` and serve it until the end."""
    database = f"sqlite:///{folder / 'hub.db'}"
    (folder / "tokens").mkdir(mode=0o700, parents=True)
    admin_token = folder / "tokens" / "admin.token"
    init = ["hub", "init", "--database-url", database, "--data-dir", str(folder / "hub-data")]
    answer = fieldlink(*init, "--token-file", str(admin_token))
    assert answer.status == 0, answer.err
    settings = Settings(database_url=SecretStr(database), data_dir=folder / "hub-data")
    port = free_port()
    config = uvicorn.Config(
        create_app(settings), host="127.0.0.1", port=port, log_level="warning", ws="none"
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name="live-hub", daemon=True)
    thread.start()
    try:
        _wait_until_ready(f"http://127.0.0.1:{port}", server)
        hub = LiveHub(url=f"http://127.0.0.1:{port}", folder=folder)
        _second_administrator(hub)
        yield hub
    finally:
        server.should_exit = True
        thread.join(timeout=30)


def enrol(hub: LiveHub, agency: str, name: str, role: str, who: str, *teams: str) -> None:
    """The administrator registers a principal; it enrols itself; a second person activates it.

    The second person: a data officer or key custodian of its agency enrolled here before,
    else the second administrator (an agency's first officer). Its token is then in
    `hub.token(who)`. The second administrator proposes it for `teams`: the memberships
    wait for a data officer's confirmation.
    """
    check = _register_and_enrol(hub, "admin", agency, name, role, who)
    activator = next(
        (
            other
            for other, (where, kind) in hub.enrolled.items()
            if where == agency and kind in ("data_officer", "key_custodian")
        ),
        SECOND_ADMIN,
    )
    activated = hub.as_(activator, "activate", "--principal", name, "--check", check)
    assert activated.status == 0, activated.err
    hub.enrolled[who] = (agency, role)
    for team in teams:
        member = ["admin", "add-member", "--project", team, "--principal", name]
        proposed = hub.as_(SECOND_ADMIN, *member)
        assert proposed.status == 0, proposed.err


def _register_and_enrol(
    hub: LiveHub, admin: str, agency: str, name: str, role: str, who: str
) -> str:
    """Register and enrol a principal; the enrolment check `fieldlink enrol` printed."""
    code = hub.folder / "tokens" / f"{who}.code"
    principal = ["admin", "add-principal", "--agency", agency, "--name", name, "--role", role]
    done = hub.as_(admin, *principal, "--code-out", str(code))
    assert done.status == 0, done.err
    enrolled = hub.as_("", "enrol", "--code-file", str(code), "--token-out", str(hub.token(who)))
    assert enrolled.status == 0, enrolled.err
    found = _CHECK.search(enrolled.out)
    assert found is not None, enrolled.out
    return found.group(1)


def _second_administrator(hub: LiveHub) -> None:
    # The hub operator activates it: with one administrator, nobody else can.
    name = "Second administrator"
    check = _register_and_enrol(hub, "admin", "Hub operations", name, "administrator", SECOND_ADMIN)
    setup = ["hub", "activate", *hub.setup_args, "--principal", name, "--check", check]
    activated = fieldlink(*setup)
    assert activated.status == 0, activated.err


def free_port() -> int:
    """A port nothing listens on (at the moment of asking)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def _wait_until_ready(url: str, server: uvicorn.Server) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            if server.started and httpx.get(f"{url}/v1/ready").is_success:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.05)
    raise AssertionError("the hub did not become ready")
