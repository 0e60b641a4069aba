import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from service.bootstrap import create_first_admin
from service.errors import Conflict
from tests.service.factories import bearer


def test_first_admin_token_works(client: TestClient, admin_token: str) -> None:
    response = client.get("/v1/agencies", headers=bearer(admin_token))

    assert response.status_code == 200
    assert [item["name"] for item in response.json()["items"]] == ["Hub operations"]


def test_second_bootstrap_is_refused(session: Session, admin_token: str) -> None:
    with pytest.raises(Conflict):
        create_first_admin(session, "Elsewhere", "Second administrator")
