from fastapi.testclient import TestClient

from tests.service.factories import bearer


def test_admin_registers_and_lists_agencies(client: TestClient, admin_token: str) -> None:
    created = client.post(
        "/v1/agencies", json={"name": "FIU-Nederland"}, headers=bearer(admin_token)
    )

    listed = client.get("/v1/agencies", headers=bearer(admin_token))

    assert created.status_code == 201
    assert created.json()["name"] == "FIU-Nederland"
    names = [item["name"] for item in listed.json()["items"]]
    assert names == sorted(names)
    assert "FIU-Nederland" in names


def test_agency_names_are_unique(client: TestClient, admin_token: str) -> None:
    client.post("/v1/agencies", json={"name": "KMar"}, headers=bearer(admin_token))

    again = client.post("/v1/agencies", json={"name": "KMar"}, headers=bearer(admin_token))

    assert again.status_code == 409
