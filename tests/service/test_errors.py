from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from service.config import Settings
from service.main import create_app
from tests.service.factories import bearer, make_agency

MARKER = "Jan-de-Vries-1987-06-05"  # stands in for a value that must never be echoed


def test_unknown_route_is_a_problem(client: TestClient) -> None:
    response = client.get("/v1/nowhere")

    assert response.status_code == 404
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json() == {
        "type": "about:blank",
        "title": "Not Found",
        "status": 404,
        "code": "http-error",
    }


def test_wrong_method_is_a_problem(client: TestClient) -> None:
    response = client.delete("/v1/health")

    assert response.status_code == 405
    assert response.json()["code"] == "http-error"


def test_hub_error_carries_status_code_title_and_detail(
    client: TestClient, admin_token: str
) -> None:
    client.post("/v1/agencies", json={"name": "FIOD"}, headers=bearer(admin_token))

    response = client.post("/v1/agencies", json={"name": "FIOD"}, headers=bearer(admin_token))

    assert response.status_code == 409
    assert response.headers["content-type"] == "application/problem+json"
    body = response.json()
    assert body["status"] == 409
    assert body["code"] == "conflict"
    assert body["title"]
    assert body["detail"] == "an agency with this name exists"


def test_validation_problem_never_echoes_the_submitted_values(
    client: TestClient, session: Session, admin_token: str
) -> None:
    agency = make_agency(session)
    body = {
        "name": MARKER * 20,  # too long
        "purpose": MARKER,
        "legal_basis": MARKER,
        "agency_ids": [str(agency.id), MARKER],
        "schema_fingerprint": MARKER,
        "key_check": MARKER,
        "threshold": MARKER,
        "min_agencies": MARKER,
    }

    response = client.post("/v1/projects", json=body, headers=bearer(admin_token))

    assert response.status_code == 422
    assert response.json()["code"] == "invalid-request"
    assert {"loc", "msg"} == set(response.json()["errors"][0])
    assert len(response.json()["errors"]) >= 6
    assert MARKER not in response.text


def test_malformed_json_is_a_problem_without_the_body(client: TestClient, admin_token: str) -> None:
    response = client.post(
        "/v1/agencies",
        content=f'{{"name": "{MARKER}"',
        headers={**bearer(admin_token), "content-type": "application/json"},
    )

    assert response.status_code == 422
    assert MARKER not in response.text


def test_unexpected_error_is_a_bare_500_problem(settings: Settings) -> None:
    app = create_app(settings)

    @app.get("/v1/boom", tags=["test"])
    def boom() -> None:
        raise RuntimeError(MARKER)

    with TestClient(app, raise_server_exceptions=False) as client:
        response = client.get("/v1/boom")

    assert response.status_code == 500
    assert response.json()["code"] == "internal-error"
    assert MARKER not in response.text
