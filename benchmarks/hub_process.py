"""A real hub in a uvicorn subprocess, for the hub benchmarks (uploads, hits, audit)."""

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import httpx
from fastapi import FastAPI

from service.audit import AuditMiddleware
from service.config import Settings
from service.main import create_app

HUB = "service.main:create_app"
WITHOUT_AUDIT = "benchmarks.hub_process:hub_without_audit"


def hub_without_audit() -> FastAPI:
    """The hub with its audit middleware taken out: for comparison figures only."""
    app = create_app()
    audit: object = AuditMiddleware
    app.user_middleware = [m for m in app.user_middleware if m.cls is not audit]
    return app


@dataclass(frozen=True)
class HubProcess:
    url: str
    pid: int  # of uvicorn's main process


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@contextmanager
def running_hub(
    settings: Settings, *, port: int = 0, workers: int = 1, factory: str = HUB
) -> Iterator[HubProcess]:
    """A uvicorn subprocess serving the hub on `settings`; yields once it is ready."""
    port = port or free_port()
    env = os.environ | {
        "FIELDLINK_DATABASE_URL": settings.database_url.get_secret_value(),
        "FIELDLINK_DATA_DIR": str(settings.data_dir),
        "FIELDLINK_MAX_UPLOAD_BYTES": str(settings.max_upload_bytes),
        "FIELDLINK_RATE_PER_ADDRESS": str(settings.rate_per_address),
        "FIELDLINK_RATE_PER_PRINCIPAL": str(settings.rate_per_principal),
        "FIELDLINK_LOG_LEVEL": "WARNING",
    }
    command = [sys.executable, "-m", "uvicorn", "--factory", factory, "--host", "127.0.0.1"]
    command += ["--port", str(port), "--workers", str(workers), "--log-level", "warning"]
    command += ["--no-access-log"]
    server = subprocess.Popen(command, env=env)
    hub = HubProcess(url=f"http://127.0.0.1:{port}", pid=server.pid)
    try:
        _wait_ready(hub.url, server)
        yield hub
    finally:
        server.terminate()
        server.wait(timeout=30)


def _wait_ready(url: str, server: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise SystemExit("the hub exited during start-up")
        try:
            if httpx.get(f"{url}/v1/ready", timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    raise SystemExit("the hub did not become ready within 60 s")
