"""The Dockerfile cannot be built here (no Docker engine): check what it would run."""

import importlib
import json
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_the_image_command_names_the_app_factory() -> None:
    lines = (ROOT / "Dockerfile").read_text(encoding="utf-8").splitlines()
    command = json.loads(next(line for line in lines if line.startswith("CMD "))[4:])

    module, _, factory = command[command.index("--factory") + 1].partition(":")

    assert command[0] == "uvicorn"
    assert callable(getattr(importlib.import_module(module), factory))


def test_the_image_copies_every_package() -> None:
    text = (ROOT / "Dockerfile").read_text(encoding="utf-8")

    for package in ("linkage", "keys", "service"):
        assert f"COPY {package} ./{package}" in text
