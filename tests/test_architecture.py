"""Import boundaries between the three packages, and a complete public API list."""

import ast
import importlib
import subprocess
import sys
from pathlib import Path

import pytest

import linkage

ROOT = Path(__file__).resolve().parents[1]
FORBIDDEN = {"keys": {"linkage", "service"}, "linkage": {"service"}, "service": {"keys"}}
SERVICE_MAY_USE = (
    "linkage.batch",
    "linkage.types",
    "linkage.match",
    "linkage.errors",
    "linkage.hits",
    "linkage.arrow",
    "linkage.audit",
    "linkage.ipc_blocks",
    "linkage.spill",
)


def imported_modules(path: Path) -> list[str]:
    names = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.extend(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.append(node.module)
    return names


@pytest.mark.parametrize(("package", "banned"), FORBIDDEN.items())
def test_import_boundaries(package: str, banned: set[str]) -> None:
    for path in (ROOT / package).rglob("*.py"):
        for name in imported_modules(path):
            assert name.split(".")[0] not in banned, f"{path} imports {name}"
            if package == "service" and name.startswith("linkage"):
                assert name.startswith(SERVICE_MAY_USE), f"{path} imports {name}"


# Modules that hold or use keys: the agency side. `linkage.compiled.mix` (a keyless mixer)
# is shared with blocking.
ENCODER_SIDE = (
    "keys",
    "linkage.bloom",
    "linkage.comparisons",
    "linkage.compiled.bloom",
    "linkage.compiled.comparisons",
    "linkage.compiled.siphash",
    "linkage.encode",
    "linkage.envelopes",
    "linkage.siphash",
    "linkage.vectorized",
)


def test_matching_core_never_reaches_the_encoder_or_keys() -> None:
    # The hub imports linkage.match and linkage.batch; neither may pull in secrets.
    hub_modules = ("batch.py", "hits.py", "arrow.py", "audit.py", "ipc_blocks.py", "spill.py")
    hub_side = [ROOT / "linkage" / name for name in hub_modules]
    for path in [*(ROOT / "linkage" / "match").rglob("*.py"), *hub_side]:
        for name in imported_modules(path):
            assert not name.startswith(ENCODER_SIDE), f"{path} imports {name}"


def test_public_api_is_sorted_and_complete() -> None:
    exported = linkage.__all__

    assert exported == sorted(exported)
    assert set(exported) == set(linkage._HOMES)  # every name has a home to load it from
    for name in exported:
        assert getattr(linkage, name) is getattr(
            importlib.import_module(linkage._HOMES[name]), name
        )


def test_importing_linkage_loads_neither_the_encoder_nor_the_kernels() -> None:
    code = "import sys, linkage, linkage.errors; print(sorted(sys.modules))"
    loaded = subprocess.run(  # noqa: S603 - a fresh interpreter, our own code
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout

    for heavy in ("numba", "pyarrow", "linkage.bloom", "linkage.match"):
        assert f"'{heavy}'" not in loaded
