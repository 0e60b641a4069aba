"""The Dockerfile cannot be built here (no Docker engine): check what it would run."""

import json
import tomllib
from pathlib import Path

from linkage.cli import parser

ROOT = Path(__file__).resolve().parents[1]


def _command() -> list[str]:
    lines = (ROOT / "Dockerfile").read_text(encoding="utf-8").splitlines()
    command: list[str] = json.loads(next(line for line in lines if line.startswith("CMD "))[4:])
    return command


def test_the_image_serves_the_hub_with_the_installed_command() -> None:
    program, *arguments = _command()
    scripts = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"][
        "scripts"
    ]

    args = parser().parse_args(arguments)

    assert program in scripts
    assert (args.run.__module__, args.run.__name__) == ("service.cli", "_serve")
    assert (args.host, args.port) == ("0.0.0.0", 8000)  # noqa: S104 - inside the container


def test_the_image_copies_every_package() -> None:
    text = (ROOT / "Dockerfile").read_text(encoding="utf-8")

    for package in ("linkage", "keys", "service"):
        assert f"COPY {package} ./{package}" in text


def test_the_image_keeps_its_state_in_the_volume() -> None:
    text = (ROOT / "Dockerfile").read_text(encoding="utf-8")

    assert "VOLUME /data" in text
    assert "FIELDLINK_DATABASE_URL=sqlite:////data/" in text
    assert "FIELDLINK_DATA_DIR=/data/" in text
