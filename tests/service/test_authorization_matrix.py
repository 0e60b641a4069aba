"""Every endpoint x every caller: who is let in, and what the others are told.

Callers are anonymous, the administrator, and each data role twice: "own" (a member of
the project, or for a data officer an officer of a participating agency) and "foreign"
(neither). Denials: 401 without a token, 403 for a wrong role, 404 for a project the
caller may not see, which is the same answer an absent project gets.
"""

from dataclasses import dataclass
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from service.auth import Role
from service.config import Settings
from service.main import create_app
from tests.service.factories import bearer, make_agency, make_principal, make_project, token_of

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


@dataclass(frozen=True)
class Endpoint:
    method: str
    path: str
    policy: str
    success: int = 200
    body: str | None = None  # name of a body builder below


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
    # runs, hits and the suspect list
    # audit log
]


@dataclass
class World:
    tokens: dict[str, str]
    ids: dict[str, str]
    bodies: dict[str, dict[str, Any]]


@pytest.fixture
def world(session: Session, admin_token: str) -> World:
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
    return World(
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


def expected_status(endpoint: Endpoint, caller: str) -> int:
    if endpoint.policy == PUBLIC:
        return endpoint.success
    if caller == "anonymous":
        return 401
    if endpoint.policy == ADMIN:
        return endpoint.success if caller == "administrator" else 403
    if endpoint.policy == VISIBLE and caller.endswith(":foreign"):
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

    response = client.request(
        endpoint.method, endpoint.path.format(**world.ids), json=body, headers=headers
    )

    assert response.status_code == expected_status(endpoint, caller), response.text


def test_matrix_covers_every_route() -> None:
    spec = create_app(Settings()).openapi()
    routes = {(method.upper(), path) for path, item in spec["paths"].items() for method in item}

    assert routes == {(endpoint.method, endpoint.path) for endpoint in ENDPOINTS}
