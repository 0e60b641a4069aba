"""Every endpoint x every caller: who is let in, and what the others are told.

Callers are anonymous, the administrator, and each data role twice: "own" (a member of
the project, or for a data officer an officer of a participating agency) and "foreign"
(neither). Denials: 401 without a token, 403 for a wrong role, 404 for a project the
caller may not see, which is the same answer an absent project gets.
"""

import uuid
from dataclasses import dataclass, field
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from service.auth import Role
from service.config import Settings
from service.main import create_app
from service.models import Agency, Principal, Project, SuspectStatus, utcnow
from service.store.suspects import add_suspect
from tests.service.batch_files import ARROW, as_file, make_batch
from tests.service.factories import bearer, make_agency, make_principal, make_project, token_of
from tests.service.matching_data import make_finished_run, store_upload

CALLERS = [
    "anonymous",
    "administrator",
    "data_officer:own",
    "data_officer:foreign",
    "analyst:own",
    "analyst:foreign",
    "auditor:own",
    "auditor:foreign",
]
PUBLIC, AUTHENTICATED, ADMIN, VISIBLE = "public", "authenticated", "admin", "visible"
# OFFICER: data officers of a participating agency only. DATA: every role but administrator.
OFFICER, DATA = "officer", "data"
# ANALYST: analysts on the team only. HITS: those analysts and officers of a participating agency.
ANALYST, HITS = "analyst", "hits"
# AUDITOR: every auditor, on the team or not: the audit log is the whole hub's.
AUDITOR = "auditor"


@dataclass(frozen=True)
class Endpoint:
    method: str
    path: str
    policy: str
    success: int = 200
    body: str | None = None  # name of a body builder below
    content: str | None = None  # name of a batch file below, sent as the raw body


ENDPOINTS = [
    Endpoint("GET", "/v1/health", PUBLIC),
    Endpoint("GET", "/v1/ready", PUBLIC),
    Endpoint("POST", "/v1/agencies", ADMIN, 201, "agency"),
    Endpoint("GET", "/v1/agencies", ADMIN),
    Endpoint("POST", "/v1/principals", ADMIN, 201, "principal"),
    Endpoint("GET", "/v1/principals", ADMIN),
    Endpoint("POST", "/v1/principals/{principal_id}/tokens", ADMIN, 201),
    Endpoint("POST", "/v1/principals/{principal_id}/tokens/{token_id}/revoke", ADMIN),
    Endpoint("POST", "/v1/projects", ADMIN, 201, "project"),
    Endpoint("GET", "/v1/projects", AUTHENTICATED),
    Endpoint("GET", "/v1/projects/{project_id}", VISIBLE),
    Endpoint("POST", "/v1/projects/{project_id}/members", ADMIN, 201, "member"),
    Endpoint("GET", "/v1/projects/{project_id}/members", VISIBLE),
    # uploads
    Endpoint("POST", "/v1/projects/{project_id}/uploads", OFFICER, 201, content="new"),
    Endpoint("GET", "/v1/projects/{project_id}/uploads", DATA),
    Endpoint("GET", "/v1/projects/{project_id}/uploads/{upload_id}", DATA),
    Endpoint("PUT", "/v1/projects/{project_id}/uploads/{upload_id}", OFFICER, content="other"),
    Endpoint("DELETE", "/v1/projects/{project_id}/uploads/{upload_id}", OFFICER, 204),
    # runs, hits and the suspect list
    Endpoint("POST", "/v1/projects/{project_id}/runs", ANALYST, 202, "run"),
    Endpoint("GET", "/v1/projects/{project_id}/runs", DATA),
    Endpoint("GET", "/v1/projects/{project_id}/runs/{run_id}", DATA),
    Endpoint("GET", "/v1/projects/{project_id}/runs/{run_id}/hits", HITS),
    Endpoint("GET", "/v1/projects/{project_id}/runs/{run_id}/hits/export", HITS),
    Endpoint("POST", "/v1/projects/{project_id}/suspects", ANALYST, 201, "suspect"),
    Endpoint("GET", "/v1/projects/{project_id}/suspects", ANALYST),
    Endpoint("GET", "/v1/projects/{project_id}/suspects/export", ANALYST),
    Endpoint("PATCH", "/v1/projects/{project_id}/suspects/{suspect_id}", ANALYST, 200, "note"),
    Endpoint("DELETE", "/v1/projects/{project_id}/suspects/{suspect_id}", ANALYST, 204),
    # audit log
    Endpoint("GET", "/v1/audit/entries", AUDITOR),
    Endpoint("GET", "/v1/audit/export", AUDITOR),
    Endpoint("GET", "/v1/audit/verify", AUDITOR),
    Endpoint("GET", "/v1/audit/keys", PUBLIC),
]


@dataclass
class World:
    tokens: dict[str, str]
    ids: dict[str, str]
    bodies: dict[str, dict[str, Any]]
    files: dict[str, bytes] = field(default_factory=dict)


@pytest.fixture
def world(client: TestClient, session: Session, settings: Settings, admin_token: str) -> World:
    own, partner, foreign = (make_agency(session, name) for name in ("Politie", "KMar", "FIOD"))
    officers = {
        "data_officer:own": make_principal(session, own, role=Role.DATA_OFFICER),
        "data_officer:foreign": make_principal(session, foreign, role=Role.DATA_OFFICER),
    }
    team = {
        f"{role}:{side}": make_principal(session, own, role=role, name=f"{role} {side}")
        for role in (Role.ANALYST, Role.AUDITOR)
        for side in ("own", "foreign")
    }
    project = make_project(
        session, [own, partner], members=[team["analyst:own"][0], team["auditor:own"][0]]
    )
    target, _ = make_principal(session, partner, name="Newcomer")
    world = World(
        tokens={"administrator": admin_token}
        | {caller: token for caller, (_, token) in (officers | team).items()},
        ids={
            "project_id": str(project.id),
            "principal_id": str(target.id),
            "token_id": str(token_of(session, target).id),
        },
        bodies={
            "agency": {"name": "Gemeente Rotterdam"},
            "principal": {"agency_id": str(own.id), "name": "New", "role": "analyst"},
            "project": {
                "name": "Second cycle",
                "purpose": "p",
                "legal_basis": "b",
                "agency_ids": [str(own.id), str(foreign.id)],
                "schema_fingerprint": "ab" * 32,
                "key_check": "0123456789abcdef",
            },
            "member": {"principal_id": str(target.id)},
        },
    )
    _add_upload(client, world, own.name)
    _add_run(session, settings, world, [own, partner], target)
    return world


def _add_upload(client: TestClient, world: World, agency: str) -> None:
    url = "/v1/projects/{project_id}/uploads".format(**world.ids)
    headers = bearer(world.tokens["data_officer:own"]) | ARROW
    response = client.post(url, content=as_file(make_batch(agency)), headers=headers)
    world.ids["upload_id"] = response.json()["id"]
    world.files = {
        "new": as_file(make_batch(agency, first=100)),
        "other": as_file(make_batch(agency, seed=1)),
    }


def _add_run(
    session: Session, settings: Settings, world: World, agencies: list[Agency], partner: Principal
) -> None:
    # A second agency's upload, so that a run may start; a finished run with two hits, the
    # second one on the suspect list.
    batch = make_batch(agencies[1].name)
    project = session.get_one(Project, uuid.UUID(world.ids["project_id"]))
    store_upload(
        session, settings, project=project, agency=agencies[1], uploaded_by=partner.id, batch=batch
    )
    members = [[(agencies[0], f"own-{n}"), (agencies[1], f"partner-{n}")] for n in (1, 2)]
    run, hits = make_finished_run(session, project, partner.id, members)
    suspect = add_suspect(
        session,
        project_id=project.id,
        hit_id=hits[1].id,
        status=SuspectStatus.NEW,
        note="",
        created_by=partner.id,
        now=utcnow(),
    )
    session.commit()
    world.ids |= {"run_id": str(run.id), "suspect_id": str(suspect.id)}
    world.bodies |= {"run": {}, "suspect": {"hit_id": str(hits[0].id)}, "note": {"note": "seen"}}


def expected_status(endpoint: Endpoint, caller: str) -> int:
    if endpoint.policy == PUBLIC:
        return endpoint.success
    if caller == "anonymous":
        return 401
    if endpoint.policy == ADMIN:
        return endpoint.success if caller == "administrator" else 403
    if endpoint.policy == OFFICER and not caller.startswith("data_officer"):
        return 403
    if endpoint.policy == DATA and caller == "administrator":
        return 403
    if endpoint.policy == ANALYST and not caller.startswith("analyst"):
        return 403
    if endpoint.policy == HITS and not caller.startswith(("analyst", "data_officer")):
        return 403
    if endpoint.policy == AUDITOR and not caller.startswith("auditor"):
        return 403
    if endpoint.policy in (VISIBLE, OFFICER, DATA, ANALYST, HITS) and caller.endswith(":foreign"):
        return 404
    return endpoint.success


@pytest.mark.parametrize("caller", CALLERS)
@pytest.mark.parametrize("endpoint", ENDPOINTS, ids=lambda e: f"{e.method} {e.path}")
def test_authorization_matrix(
    client: TestClient, world: World, endpoint: Endpoint, caller: str
) -> None:
    token = world.tokens.get(caller)
    headers = bearer(token) if token else {}
    body = world.bodies[endpoint.body] if endpoint.body else None
    content = world.files[endpoint.content] if endpoint.content else None
    if content is not None:
        headers |= ARROW

    response = client.request(
        endpoint.method,
        endpoint.path.format(**world.ids),
        json=body,
        content=content,
        headers=headers,
    )

    assert response.status_code == expected_status(endpoint, caller), response.text


def test_matrix_covers_every_route() -> None:
    spec = create_app(Settings()).openapi()
    routes = {(method.upper(), path) for path, item in spec["paths"].items() for method in item}

    assert routes == {(endpoint.method, endpoint.path) for endpoint in ENDPOINTS}
