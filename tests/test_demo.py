"""`make demo` end to end, small: every role's commands against a real hub process."""

import os
import re
import socket
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@pytest.mark.slow
def test_the_demo_walks_every_role_through_the_hub(tmp_path: Path) -> None:
    out = tmp_path / "demo"
    env = os.environ | {
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
        "DEMO_EXIT": "1",
        "DEMO_OUT": str(out),
        "DEMO_PERSONS": "300",
        "PORT": str(_free_port()),
    }

    done = subprocess.run(  # noqa: S603 - our own script
        [ROOT / "scripts" / "demo"],
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )

    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert re.search(r"run \S+ succeeded: \d+ hits", done.stdout)
    assert re.search(r"shortlisted \d+ hits", done.stdout)
    assert re.search(r"ok: \d+ entries", done.stdout)
    tokens = [path.read_text().strip() for path in (out / "tokens").glob("*.token")]
    codes = [path.read_text().strip() for path in (out / "codes").glob("*.code")]
    assert (len(tokens), len(codes)) == (9, 8)  # everyone but the first administrator enrolled
    # ... and a second person activated each: the hub operator the second administrator,
    # the second administrator each agency's first officer, the police officer the others.
    assert "is active; the audit log records it as the hub operator's" in done.stdout
    assert done.stdout.count("is active: its token works from now on") == 7
    hub_log = (out / "hub.log").read_text()
    secrets = tokens + codes
    assert not [secret for secret in secrets if secret in hub_log]  # never in the hub's log
    assert not [secret for secret in secrets if secret in done.stdout + done.stderr]  # nor shown
    assert (out / "hub.db").stat().st_mode & 0o777 == 0o600
    assert (out / "hub-data").stat().st_mode & 0o777 == 0o700
