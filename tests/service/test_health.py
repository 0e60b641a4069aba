from fastapi.testclient import TestClient
from pydantic import SecretStr

from service.config import Settings
from service.main import create_app


def test_health_answers_without_a_token(client: TestClient) -> None:
    response = client.get("/v1/health")

    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


def test_ready_answers_when_the_database_does(client: TestClient) -> None:
    response = client.get("/v1/ready")

    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


def test_ready_is_a_503_problem_when_the_database_is_gone(settings: Settings) -> None:
    settings = settings.model_copy(
        update={"database_url": SecretStr("sqlite:////nonexistent-dir/fieldlink/hub.db")}
    )

    with TestClient(create_app(settings)) as client:
        response = client.get("/v1/ready")

    assert response.status_code == 503
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["code"] == "unavailable"
