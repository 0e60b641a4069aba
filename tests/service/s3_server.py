"""A real S3 API server for tests: moto's server mode, in a subprocess on a free port.

The hub talks to it with boto3 over HTTP exactly as it would to MinIO or AWS S3; nothing
in the hub's process is patched. Each test gets its own bucket (`fresh_bucket`).
"""

import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from service.objects import s3_client

REGION = "us-east-1"
ACCESS_KEY_ID = "fieldlink-test"
SECRET_ACCESS_KEY = "fieldlink-test-secret"  # moto takes any credentials
_START_SECONDS = 60.0


@dataclass(frozen=True, slots=True)
class S3Server:
    """Where the server listens."""

    url: str

    def client(self) -> Any:
        """A boto3 client for it, as the hub builds one (service.objects.s3_client)."""
        return s3_client(
            endpoint_url=self.url,
            region=REGION,
            access_key_id=ACCESS_KEY_ID,
            secret_access_key=SECRET_ACCESS_KEY,
        )

    def fresh_bucket(self) -> str:
        """Create an empty bucket with a new name; return the name."""
        name = f"fieldlink-{uuid.uuid4().hex[:16]}"
        self.client().create_bucket(Bucket=name)
        return name


@contextmanager
def running_s3() -> Iterator[S3Server]:
    """Start `python -m moto.server` on a free local port; stop it afterwards."""
    port = _free_port()
    process = subprocess.Popen(  # noqa: S603 - this interpreter, fixed arguments
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        _wait_for(port, process)
        yield S3Server(f"http://127.0.0.1:{port}")
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def _wait_for(port: int, process: "subprocess.Popen[bytes]") -> None:
    deadline = time.monotonic() + _START_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"moto_server exited with {process.returncode}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"moto_server did not listen on port {port} within {_START_SECONDS} s")
