"""Write or check openapi/openapi.json:  python -m service.openapi [--check]."""

import json
import sys
from collections.abc import Sequence
from pathlib import Path

from pydantic import SecretStr

from service.config import Settings
from service.main import create_app

SPEC_PATH = Path(__file__).resolve().parents[1] / "openapi" / "openapi.json"


def render() -> str:
    """The spec of an app built with neutral settings; it must not depend on the environment."""
    app = create_app(Settings(database_url=SecretStr("sqlite://")))
    return json.dumps(app.openapi(), indent=2, ensure_ascii=False) + "\n"


def main(argv: Sequence[str] | None = None) -> int:
    """Write the spec, or with --check report whether the committed one is stale."""
    args = sys.argv[1:] if argv is None else list(argv)
    if "--check" in args:
        if not SPEC_PATH.exists() or SPEC_PATH.read_text(encoding="utf-8") != render():
            sys.stderr.write("openapi/openapi.json is stale: run python -m service.openapi\n")
            return 1
        return 0
    SPEC_PATH.write_text(render(), encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
