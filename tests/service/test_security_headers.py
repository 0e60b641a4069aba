"""Browser and transport hygiene: headers on every answer, /metrics behind a token, docs
pages that load nothing from outside the hub."""

import base64
import hashlib
import re

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from service.auth import Role
from service.config import Settings
from service.main import create_app
from tests.service.factories import bearer, make_agency, make_principal

# A URL with a scheme or a protocol-relative one: anything a page could fetch from elsewhere.
OUTSIDE = re.compile(r"""(?:https?:)?//[A-Za-z0-9]""")


@pytest.mark.parametrize(
    "path", ["/v1/health", "/v1/projects", "/v1/nowhere", "/openapi.json", "/metrics"]
)
def test_every_answer_forbids_caching_sniffing_framing_and_referrers(
    client: TestClient, path: str
) -> None:
    response = client.get(path)

    assert response.headers["cache-control"] == "no-store"
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["referrer-policy"] == "no-referrer"
    assert response.headers["x-frame-options"] == "DENY"
    assert response.headers["content-security-policy"].startswith("default-src 'none'")
    assert "strict-transport-security" not in response.headers  # plain http: no HSTS


def test_hsts_is_sent_over_tls(settings: Settings) -> None:
    with TestClient(create_app(settings), base_url="https://hub.example") as client:
        response = client.get("/v1/health")

    assert response.headers["strict-transport-security"].startswith("max-age=31536000")


def test_an_unhandled_error_answer_carries_the_headers_too(settings: Settings) -> None:
    app = create_app(settings)

    @app.get("/v1/boom", tags=["test"])
    def boom() -> None:
        raise RuntimeError("boom")

    with TestClient(app) as client:
        response = client.get("/v1/boom")

    assert response.status_code == 500
    assert response.headers["cache-control"] == "no-store"
    assert response.headers["x-content-type-options"] == "nosniff"


@pytest.mark.parametrize("role", [Role.ADMINISTRATOR, Role.AUDITOR])
def test_metrics_need_an_administrator_or_auditor_token(
    client: TestClient, session: Session, role: Role
) -> None:
    _, token = make_principal(session, make_agency(session), role=role)

    response = client.get("/metrics", headers=bearer(token))

    assert response.status_code == 200
    assert "fieldlink_requests" in response.text


def test_metrics_are_refused_without_a_token_or_to_data_roles(
    client: TestClient, session: Session
) -> None:
    agency = make_agency(session)
    _, analyst = make_principal(session, agency, role=Role.ANALYST)
    _, officer = make_principal(session, agency, role=Role.DATA_OFFICER, name="Officer")

    anonymous = client.get("/metrics")

    assert anonymous.status_code == 401
    assert "fieldlink_requests" not in anonymous.text
    for token in (analyst, officer):
        assert client.get("/metrics", headers=bearer(token)).status_code == 403


@pytest.mark.parametrize("page", ["/docs", "/redoc"])
def test_the_docs_pages_load_everything_from_the_hub(client: TestClient, page: str) -> None:
    response = client.get(page)

    html = response.text
    assets = re.findall(r"""(?:src|href)=["']([^"']+)["']""", html)
    assert response.status_code == 200
    assert not OUTSIDE.search(html), OUTSIDE.findall(html)
    assert assets and all(asset.startswith("/static/docs/") for asset in assets)
    for asset in assets:
        served = client.get(asset)
        assert served.status_code == 200, asset
        assert len(served.content) > 500
        assert "no-store" not in served.headers.get("cache-control", "")


def test_the_docs_pages_allow_scripts_from_the_hub_and_their_own_start_script_only(
    client: TestClient,
) -> None:
    response = client.get("/docs")

    policy = response.headers["content-security-policy"]
    (inline,) = re.findall(r"<script>(.*?)</script>", response.text, re.DOTALL)
    digest = base64.b64encode(hashlib.sha256(inline.encode()).digest()).decode()
    assert f"script-src 'self' 'sha256-{digest}';" in policy
    assert "unsafe-eval" not in policy and "script-src 'self' 'unsafe-inline'" not in policy
    assert '"validatorUrl": null' in response.text  # no badge from an outside server
    assert client.get("/redoc").headers["content-security-policy"].startswith("default-src 'none'")
