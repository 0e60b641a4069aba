"""Import boundaries between the three packages, and a complete public API list."""

import ast
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


def test_matching_core_never_reaches_the_encoder_or_keys() -> None:
    # The hub imports linkage.match and linkage.batch; neither may pull in secrets.
    hub_side = [ROOT / "linkage" / name for name in ("batch.py", "hits.py", "arrow.py", "audit.py")]
    for path in [*(ROOT / "linkage" / "match").rglob("*.py"), *hub_side]:
        for name in imported_modules(path):
            assert not name.startswith(
                ("keys", "linkage.bloom", "linkage.encode", "linkage.envelopes")
            ), f"{path} imports {name}"


def test_public_api_is_sorted_and_complete() -> None:
    exported = linkage.__all__
    public = {name for name in vars(linkage) if not name.startswith("_")}
    modules = {name for name in public if isinstance(getattr(linkage, name), type(linkage))}

    assert exported == sorted(exported)
    assert set(exported) == public - modules
