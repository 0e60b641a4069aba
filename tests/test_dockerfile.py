"""The Dockerfile cannot be built here (no Docker engine): check what it would run, and run it.

The image's own commands (the first-run `hub init` its header names, its CMD and its
HEALTHCHECK) are started here as processes against a temporary /data, with the image's
environment; only the port differs, so that parallel test runs do not collide.
"""

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
import tomllib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from pydantic import SecretStr

from linkage.cli import parser
from service.config import Settings
from service.main import create_app
from tests.contract.live_hub import free_port
from tests.service.conftest import TestClient

ROOT = Path(__file__).resolve().parents[1]
IMAGE_PORT = 8000
# Exact tags (python:3.11.13-slim-bookworm) or a digest, never a floating tag.
PINNED = re.compile(r"^[\w./-]+:\d+\.\d+\.\d+[\w.-]*(@sha256:[0-9a-f]{64})?$|@sha256:[0-9a-f]{64}$")
COMPILERS = ("gcc", "g++", "clang", "build-essential", "make ", "cc ")


@dataclass(frozen=True)
class Stage:
    base: str
    name: str
    lines: list[str]  # instructions, continuation lines joined

    def instructions(self, keyword: str) -> list[str]:
        return [line[len(keyword) + 1 :] for line in self.lines if line.startswith(f"{keyword} ")]


def stages() -> list[Stage]:
    text = (ROOT / "Dockerfile").read_text(encoding="utf-8")
    joined = re.sub(r"\\\n\s*", " ", text)
    found: list[Stage] = []
    for line in joined.splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        if line.startswith("FROM "):
            base, _, name = line[5:].partition(" AS ")
            found.append(Stage(base.strip(), name.strip(), []))
        else:
            found[-1].lines.append(line.strip())
    return found


def _command() -> list[str]:
    (command,) = stages()[-1].instructions("CMD")
    parsed: list[str] = json.loads(command)
    return parsed


def _environment() -> dict[str, str]:
    variables: dict[str, str] = {}
    for line in stages()[-1].instructions("ENV"):
        variables |= dict(item.split("=", 1) for item in line.split())
    return variables


def _healthcheck() -> list[str]:
    (check,) = stages()[-1].instructions("HEALTHCHECK")
    parsed: list[str] = json.loads(check.split(" CMD ", 1)[1])
    return parsed


def test_the_image_serves_the_hub_with_the_installed_command() -> None:
    program, *arguments = _command()
    scripts = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"][
        "scripts"
    ]

    args = parser().parse_args(arguments)

    assert program in scripts
    assert (args.run.__module__, args.run.__name__) == ("service.cli", "_serve")
    assert (args.host, args.port) == ("0.0.0.0", IMAGE_PORT)  # noqa: S104 - inside the container
    assert f"EXPOSE {IMAGE_PORT}" in stages()[-1].lines


def test_the_image_copies_every_package() -> None:
    text = (ROOT / "Dockerfile").read_text(encoding="utf-8")

    for package in ("linkage", "keys", "service"):
        assert f"COPY {package} ./{package}" in text


def test_the_image_keeps_its_state_in_the_volume() -> None:
    text = (ROOT / "Dockerfile").read_text(encoding="utf-8")

    assert "VOLUME /data" in text
    assert "FIELDLINK_DATABASE_URL=sqlite:////data/" in text
    assert "FIELDLINK_DATA_DIR=/data/" in text


def test_the_image_is_built_in_one_stage_and_run_from_another_on_a_pinned_base() -> None:
    build, runtime = stages()

    assert (build.name, runtime.name) == ("build", "runtime")
    assert build.base == runtime.base  # the virtual environment moves between them as is
    assert PINNED.search(runtime.base), runtime.base
    assert any("pip wheel" in line for line in build.instructions("RUN"))
    # The runtime stage takes the installed environment from the build stage, nothing else:
    # no source tree, no pip run, no package manager, so no compiler.
    assert runtime.instructions("COPY") == ["--from=build /opt/fieldlink /opt/fieldlink"]
    run = " ".join(runtime.instructions("RUN"))
    assert "pip" not in run and "apt" not in run
    assert not [word for word in COMPILERS if word in " ".join(runtime.lines)]


def test_the_image_runs_as_an_unprivileged_numeric_user() -> None:
    (user,) = stages()[-1].instructions("USER")

    assert user.isdigit() and int(user) >= 1000  # numeric: Kubernetes' runAsNonRoot checks it
    assert f"--uid {user}" in " ".join(stages()[-1].instructions("RUN"))


def test_the_health_check_asks_the_hubs_health_route(tmp_path: Path) -> None:
    (url,) = re.findall(r"http://127\.0\.0\.1:(\d+)(/\S+?)'", " ".join(_healthcheck()))
    app = create_app(Settings(database_url=SecretStr("sqlite://"), data_dir=tmp_path))

    with TestClient(app) as client:
        answer = client.get(url[1])

    assert (int(url[0]), url[1]) == (IMAGE_PORT, "/v1/health")
    assert answer.status_code == 200


@dataclass(frozen=True)
class Served:
    url: str
    environment: dict[str, str]
    port: int


def _in_image(text: str, data: Path, port: int) -> str:
    """A Dockerfile string as it reads in this run: /data here, the test's port."""
    return text.replace("/data", str(data)).replace(f":{IMAGE_PORT}/", f":{port}/")


def _image_command(command: list[str], data: Path, port: int) -> list[str]:
    program, *arguments = command
    found = shutil.which(program, path=str(Path(sys.executable).parent))
    assert found is not None, f"{program} is not installed beside {sys.executable}"
    changed = [_in_image(argument, data, port) for argument in arguments]
    if "--port" in changed:
        changed[changed.index("--port") + 1] = str(port)
    return [found, *changed]


@pytest.fixture
def served(tmp_path: Path) -> Iterator[Served]:
    """The image's first-run init and its CMD, as processes, on a temporary /data."""
    data = tmp_path / "data"
    data.mkdir(mode=0o700)
    port = free_port()
    image_env = {
        name: _in_image(value, data, port)
        for name, value in _environment().items()
        if name.startswith(("FIELDLINK_", "PYTHON"))
    }
    environment = {**os.environ, **image_env}
    init = ["fieldlink", "hub", "init", "--token-file", "/data/admin.token"]
    done = subprocess.run(  # noqa: S603 - the console script of this environment
        _image_command(init, data, port),
        env=environment,
        cwd=data,
        capture_output=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr.decode()[-2000:]
    server = subprocess.Popen(  # noqa: S603
        _image_command(_command(), data, port),
        env=environment,
        cwd=data,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        yield Served(f"http://127.0.0.1:{port}", environment, port)
    finally:
        server.terminate()
        output, _ = server.communicate(timeout=60)
        # uvicorn shuts down cleanly, then exits by the signal it got (-15) or with 0.
        assert server.returncode in (0, -signal.SIGTERM), output.decode()[-2000:]
        assert b"Application shutdown complete" in output


def _wait_for_health(url: str) -> httpx.Response:
    deadline = time.monotonic() + 120
    while True:
        try:
            return httpx.get(f"{url}/v1/health", timeout=2)
        except httpx.TransportError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)


def test_the_images_commands_serve_the_hub_and_its_health_check_passes(
    served: Served, tmp_path: Path
) -> None:
    health = _wait_for_health(served.url)
    ready = httpx.get(f"{served.url}/v1/ready", timeout=5)
    check = subprocess.run(  # noqa: S603 - the image's HEALTHCHECK command line
        _image_command(_healthcheck(), tmp_path / "data", served.port),
        env=served.environment,
        capture_output=True,
        timeout=60,
    )

    assert health.status_code == ready.status_code == 200
    assert check.returncode == 0, check.stderr.decode()
    assert (tmp_path / "data" / "admin.token").stat().st_mode & 0o077 == 0
    assert (tmp_path / "data" / "hub.db").exists()
