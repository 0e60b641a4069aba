"""Schemathesis against the checked-in OpenAPI: generated requests, every role, the real app.

`fuzz()` draws requests for each operation of openapi/openapi.json (valid and invalid
ones), sends each in-process as one of the world's callers (administrator, data officer,
analyst, auditor, or the generated credentials), and checks every answer: no 5xx, and
body and status as the spec describes them. Path parameters are often replaced by ids
that exist, so that requests get past "not found" into the routes' own checks.

Used by tests/contract/test_fuzz_api.py (a few examples per operation, in `make test`) and
by benchmarks/security_fuzz.py (a thousand and more).
"""

import io
import json
import random
import time
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import hypothesis
import pyarrow as pa
from hypothesis import HealthCheck, Phase
from hypothesis import strategies as st
from schemathesis import GenerationMode, openapi
from schemathesis.checks import not_a_server_error
from schemathesis.core.failures import FailureGroup
from schemathesis.core.result import Ok
from schemathesis.schemas import APIOperation
from schemathesis.specs.openapi.checks import response_schema_conformance
from sqlalchemy.orm import Session

from service.config import Settings
from service.routes.uploads import BATCH_MEDIA_TYPE
from tests.service.batch_files import as_file, make_batch
from tests.service.conftest import TestClient
from tests.service.factories import bearer, make_principal
from tests.service.matching_data import THRESHOLD, make_scene

SPEC = Path(__file__).resolve().parents[2] / "openapi" / "openapi.json"
CHECKS = [not_a_server_error, response_schema_conformance]
Operation = APIOperation[Any, Any, Any, Any]
CALLERS = ("administrator", "data_officer", "analyst", "auditor", "generated")
KNOWN_ID_SHARE = 0.7  # of path parameters given an id that exists
# Fuzzing sends far more bad tokens from one address than the backoff allows (service.limits).
NO_LIMITS = {"rate_per_address": 0, "rate_per_principal": 0, "auth_failures_allowed": 10**9}
_LAST = ("revoke", "disable", "remove")
_CHAIN_READERS = ("/v1/audit/export", "/v1/audit/verify")


@dataclass
class World:
    """Existing ids by path parameter name, and a bearer token per caller."""

    tokens: dict[str, str]
    ids: dict[str, list[str]]


@dataclass
class Tally:
    """What one operation's fuzzing saw: requests sent, statuses, failed checks."""

    operation: str
    requests: int = 0
    statuses: Counter[int] = field(default_factory=Counter)
    by_caller: Counter[tuple[str, int]] = field(default_factory=Counter)  # (caller, status)
    failures: list[str] = field(default_factory=list)
    seconds: float = 0.0


def batch_files() -> st.SearchStrategy[bytes]:
    """Upload bodies: batch files good and bad (compressed, truncated, another agency's)."""
    good = as_file(make_batch("Politie Carousel", records=30, first=10_000))
    table = pa.ipc.open_file(pa.py_buffer(good)).read_all()
    compressed = io.BytesIO()
    with pa.ipc.new_file(
        compressed, table.schema, options=pa.ipc.IpcWriteOptions(compression="zstd")
    ) as writer:
        writer.write_table(table)
    samples = [
        good,
        compressed.getvalue(),
        as_file(make_batch("FIU Carousel", records=5)),
        good[: len(good) // 2],
        good[:-7] + b"ARROW1\0",
    ]
    return st.one_of(st.sampled_from(samples), st.binary(max_size=2048))


def operations() -> list[Operation]:
    """The spec's operations, the destructive ones last."""
    openapi.media_type(BATCH_MEDIA_TYPE, batch_files())
    schema = openapi.from_path(str(SPEC))
    found = []
    for result in schema.get_all_operations():
        if not isinstance(result, Ok):
            raise result.err()  # the spec itself is broken
        found.append(result.ok())
    return sorted(found, key=_order)


def _order(operation: Operation) -> int:
    # Audit exports and verification read the whole chain, which every request lengthens:
    # they go first. Operations that destroy what later requests use go last.
    if operation.path.startswith(_CHAIN_READERS):
        return 0
    destroys = operation.method.upper() == "DELETE" or any(w in operation.path for w in _LAST)
    return 2 if destroys else 1


def build_world(client: TestClient, session: Session, settings: Settings, admin: str) -> World:
    """Three agencies with uploads, a succeeded run with hits, a suspect, four callers."""
    scene = make_scene(session, settings)
    project = f"/v1/projects/{scene.project.id}"
    analyst = bearer(scene.tokens["analyst"])
    run = client.post(f"{project}/runs", json={"threshold": THRESHOLD}, headers=analyst).json()
    hits = client.get(f"{project}/runs/{run['id']}/hits", headers=analyst).json()["items"]
    suspect = client.post(f"{project}/suspects", json={"hit_id": hits[0]["id"]}, headers=analyst)
    bystander, _ = make_principal(session, scene.agencies["FIU"], name="Bystander")
    uploads = client.get(f"{project}/uploads", headers=analyst).json()["items"]
    return World(
        tokens={
            "administrator": admin,
            "data_officer": scene.tokens["officer:Politie"],
            "analyst": scene.tokens["analyst"],
            "auditor": scene.tokens["auditor"],
        },
        ids={
            "project_id": [str(scene.project.id)],
            "run_id": [run["id"]],
            "agency_id": [str(agency.id) for agency in scene.agencies.values()],
            "upload_id": [upload["id"] for upload in uploads],
            "suspect_id": [suspect.json()["id"]],
            "principal_id": [str(bystander.id)],  # never a caller: it may be disabled
            "number": [str(hit["number"]) for hit in hits[:3]],
            "hit_id": [hit["id"] for hit in hits[:3]],
        },
    )


def fuzz(
    client: TestClient,
    world: World,
    *,
    examples: int,
    chosen: Iterable[Operation] | None = None,
    seed: int = 0,
    report: Callable[[Tally], None] | None = None,
) -> list[Tally]:
    """Send `examples` generated requests to every operation; a tally per operation."""
    tallies = []
    for operation in chosen if chosen is not None else operations():
        tally = _fuzz_operation(client, world, operation, examples=examples, seed=seed)
        tallies.append(tally)
        if report is not None:
            report(tally)
    return tallies


def _fuzz_operation(
    client: TestClient, world: World, operation: Operation, *, examples: int, seed: int
) -> Tally:
    tally = Tally(operation=operation.label)
    modes = [GenerationMode.POSITIVE]
    if operation.path_parameters or operation.query or operation.body:
        modes.append(GenerationMode.NEGATIVE)
    strategies = {mode: operation.as_strategy(generation_mode=mode) for mode in modes}

    @hypothesis.settings(
        max_examples=examples,
        deadline=None,
        database=None,
        phases=[Phase.generate],  # no shrinking: a failure is reported as found
        suppress_health_check=list(HealthCheck),
    )
    @hypothesis.seed(seed)
    @hypothesis.given(data=st.data())
    def probe(data: st.DataObject) -> None:
        # Hypothesis leans towards a list's first element; the mix of modes, callers and
        # known ids is drawn evenly instead (from a random it seeds, so runs repeat).
        mix = data.draw(st.randoms(use_true_random=True), label="mix")
        case = data.draw(strategies[mix.choice(modes)], label="case")
        for name in list(case.path_parameters or {}):
            known = world.ids.get(name)
            if known and mix.random() < KNOWN_ID_SHARE:
                case.path_parameters[name] = mix.choice(known)
        if isinstance(case.body, dict):
            _use_known_ids(case.body, world, mix)
        caller = mix.choice(CALLERS)
        status = _send_and_check(client, case, world.tokens.get(caller), tally)
        if status is not None:
            tally.by_caller[caller, status] += 1

    started = time.perf_counter()
    probe()
    tally.seconds = time.perf_counter() - started
    return tally


def _use_known_ids(body: dict[str, Any], world: World, mix: random.Random) -> None:
    # Body fields naming ids ("hit_id", "agency_ids") often get ids that exist.
    for key in list(body):
        singular = key.removesuffix("s")
        known = world.ids.get(singular)
        if not known or mix.random() >= KNOWN_ID_SHARE:
            continue
        if key == singular:
            body[key] = mix.choice(known)
        else:
            body[key] = mix.sample(known, k=mix.randint(min(2, len(known)), len(known)))


def _send_and_check(client: TestClient, case: Any, token: str | None, tally: Tally) -> int | None:
    request = case.as_transport_kwargs(base_url="http://testserver")
    headers = dict(request.get("headers") or {})
    if token is not None:
        headers["Authorization"] = f"Bearer {token}"
    try:
        response = client.request(
            request["method"],
            request["url"],
            params=request.get("params"),
            headers=headers,
            content=_content(request),
        )
    except (UnicodeEncodeError, ValueError):
        return None  # a header or URL no HTTP client can send: nothing reached the hub
    tally.requests += 1
    tally.statuses[response.status_code] += 1
    try:
        case.validate_response(response, checks=CHECKS)
    except FailureGroup as failed:
        tally.failures.append(f"{response.status_code}: {_first_line(failed)}")
    return response.status_code


def _content(request: dict[str, Any]) -> bytes | None:
    if "json" in request:
        return json.dumps(request["json"]).encode()
    data = request.get("data")
    if isinstance(data, str):
        return data.encode()
    return data if isinstance(data, bytes) else None


def _first_line(failed: FailureGroup) -> str:
    titles = sorted({failure.title for failure in failed.exceptions})
    return "; ".join(titles)
