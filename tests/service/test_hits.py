import csv
import io
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, event
from sqlalchemy.orm import Session

from linkage.hits import read_hits
from service.config import Settings
from service.hit_views import safe_cell
from service.schemas import HitList
from tests.service.factories import bearer
from tests.service.matching_data import THRESHOLD, Scene, make_scene, queue_run

SessionFactory = Callable[[], Session]


@pytest.fixture
def scene(session: Session, settings: Settings) -> Scene:
    return make_scene(session, settings)


@pytest.fixture
def hits_url(client: TestClient, scene: Scene) -> str:
    runs = f"/v1/projects/{scene.project.id}/runs"
    started = client.post(  # executed inline under the test settings
        runs, json={"threshold": THRESHOLD}, headers=bearer(scene.tokens["analyst"])
    )
    return f"{runs}/{started.json()['id']}/hits"


def all_pages(client: TestClient, url: str, token: str, limit: int = 5) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    after: int | None = 0
    while after is not None:
        page = client.get(url, params={"limit": limit, "after": after}, headers=bearer(token))
        assert page.status_code == 200, page.text
        HitList.model_validate(page.json())  # the hand-encoded body is the documented model
        items.extend(page.json()["items"])
        after = page.json()["next_after"]
    return items


def member_set(hit: dict[str, Any]) -> frozenset[tuple[str, str]]:
    return frozenset((m["agency"], m["reference"]) for m in hit["members"])


def test_an_analyst_finds_every_planted_person(
    client: TestClient, scene: Scene, hits_url: str
) -> None:
    hits = all_pages(client, hits_url, scene.tokens["analyst"])

    assert {member_set(hit) for hit in hits} == set(scene.planted.persons)
    assert [hit["number"] for hit in hits] == list(range(1, len(hits) + 1))
    for hit in hits:
        assert hit["agencies"] == sorted({m["agency"] for m in hit["members"]})
        assert hit["best_score"] >= THRESHOLD
        assert all(0 <= link["left"] < len(hit["members"]) for link in hit["links"])
        assert hit["agreed_fields"] is None


def test_pages_follow_each_other_by_hit_number(
    client: TestClient, scene: Scene, hits_url: str
) -> None:
    token = bearer(scene.tokens["analyst"])

    first = client.get(hits_url, params={"limit": 5}, headers=token).json()
    second = client.get(hits_url, params={"limit": 5, "after": 5}, headers=token).json()
    last = client.get(hits_url, params={"limit": 100, "after": 10}, headers=token).json()

    assert [hit["number"] for hit in first["items"]] == [1, 2, 3, 4, 5]
    assert first["next_after"] == 5
    assert [hit["number"] for hit in second["items"]] == [6, 7, 8, 9, 10]
    assert [hit["number"] for hit in last["items"]] == [11, 12]
    assert last["next_after"] is None


def test_a_page_takes_the_same_number_of_queries_whatever_its_size(
    client: TestClient, scene: Scene, hits_url: str, engine: Engine
) -> None:
    counted: list[str] = []

    def count(*args: object) -> None:
        counted.append("query")

    token = bearer(scene.tokens["officer:Politie"])
    event.listen(engine, "before_cursor_execute", count)
    try:
        client.get(hits_url, params={"limit": 1}, headers=token)
        small = len(counted)
        counted.clear()
        client.get(hits_url, params={"limit": 100}, headers=token)
        large = len(counted)
    finally:
        event.remove(engine, "before_cursor_execute", count)

    assert large == small


def test_a_data_officer_sees_own_references_and_only_names_of_the_others(
    client: TestClient, scene: Scene, hits_url: str
) -> None:
    own = scene.agencies["FIU"].name

    hits = all_pages(client, hits_url, scene.tokens["officer:FIU"], limit=3)

    expected = [person for person in scene.planted.persons if any(a == own for a, _ in person)]
    assert len(hits) == len(expected)
    for hit in hits:
        person = next(p for p in expected if member_set(hit) <= p)
        assert member_set(hit) == {(a, ref) for a, ref in person if a == own}
        assert hit["agencies"] == sorted({a for a, _ in person})
        assert all(link["left"] < len(hit["members"]) > link["right"] for link in hit["links"])


def test_a_data_officer_response_holds_no_reference_of_another_agency(
    client: TestClient, scene: Scene, hits_url: str
) -> None:
    response = client.get(
        hits_url, params={"limit": 1000}, headers=bearer(scene.tokens["officer:Politie"])
    )
    export = client.get(
        f"{hits_url}/export",
        params={"format": "csv"},
        headers=bearer(scene.tokens["officer:Politie"]),
    )

    others = {
        ref
        for batch in scene.planted.batches.values()
        if not batch.agency.startswith("Politie")
        for ref in batch.references
    }
    assert not any(ref in response.text or ref in export.text for ref in others)


def test_a_data_officer_sees_several_own_records_of_a_hit_but_no_link_to_others(
    client: TestClient, scene: Scene, hits_url: str
) -> None:
    # Person 0 has two records at FIU: its officer sees both. Records of one agency are
    # never compared, so the only links of a hit run to other agencies: none is shown.
    hits = all_pages(client, hits_url, scene.tokens["officer:FIU"])

    assert any(len(hit["members"]) == 2 for hit in hits)
    assert all(hit["links"] == [] for hit in hits)


@pytest.mark.parametrize("caller", ["auditor", "outsider"])
def test_auditors_are_refused_and_outsiders_do_not_see_the_project(
    client: TestClient, scene: Scene, hits_url: str, caller: str
) -> None:
    response = client.get(hits_url, headers=bearer(scene.tokens[caller]))

    assert response.status_code == {"auditor": 403, "outsider": 404}[caller]


def test_hits_of_an_unfinished_run_are_a_conflict(
    client: TestClient, scene: Scene, session: Session
) -> None:
    queued = queue_run(session, scene.project)

    response = client.get(
        f"/v1/projects/{scene.project.id}/runs/{queued.id}/hits",
        headers=bearer(scene.tokens["analyst"]),
    )

    assert response.status_code == 409


def test_hits_of_a_run_of_another_project_are_not_found(
    client: TestClient,
    scene: Scene,
    session: Session,
    session_factory: SessionFactory,
    settings: Settings,
    hits_url: str,
) -> None:
    other = make_scene(session, settings, name="Other", seed=1)
    own_run = hits_url.split("/")[-2]

    response = client.get(
        f"/v1/projects/{other.project.id}/runs/{own_run}/hits",
        headers=bearer(other.tokens["analyst"]),
    )

    assert response.status_code == 404


@pytest.mark.parametrize("caller", ["analyst", "officer:Gemeente Rotterdam"])
def test_the_json_export_is_a_hits_file_that_reveal_can_read(
    client: TestClient, scene: Scene, hits_url: str, tmp_path: Path, caller: str
) -> None:
    token = scene.tokens[caller]

    response = client.get(f"{hits_url}/export", params={"format": "json"}, headers=bearer(token))
    path = tmp_path / "hits.json"
    path.write_bytes(response.content)
    hits = read_hits(path)

    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    assert "attachment" in response.headers["content-disposition"]
    assert (hits.threshold, hits.min_agencies) == (THRESHOLD, 2)
    pages = all_pages(client, hits_url, token)
    assert [frozenset((m.agency, m.reference) for m in g.members) for g in hits.groups] == [
        member_set(hit) for hit in pages
    ]
    assert [[(k.left, k.right, k.score) for k in g.links] for g in hits.groups] == [
        [(k["left"], k["right"], k["score"]) for k in hit["links"]] for hit in pages
    ]
    assert [(g.number, list(g.agencies), g.score) for g in hits.groups] == [
        (hit["number"], hit["agencies"], hit["best_score"]) for hit in pages
    ]


def test_the_csv_export_has_a_row_per_member(
    client: TestClient, scene: Scene, hits_url: str
) -> None:
    response = client.get(
        f"{hits_url}/export", params={"format": "csv"}, headers=bearer(scene.tokens["analyst"])
    )

    rows = list(csv.DictReader(io.StringIO(response.text)))
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    assert len(rows) == sum(len(person) for person in scene.planted.persons)
    assert {(row["agency"], row["reference"]) for row in rows} == set().union(
        *scene.planted.persons
    )
    assert all(row["agencies"].count(";") >= 1 and float(row["best_score"]) for row in rows)


def test_a_csv_cell_never_starts_a_formula() -> None:
    assert safe_cell("=HYPERLINK(1)") == "'=HYPERLINK(1)"
    assert safe_cell("@sum") == "'@sum"
    assert safe_cell("pol-00001") == "pol-00001"


def test_a_large_export_is_streamed_in_pieces(
    client: TestClient, scene: Scene, hits_url: str
) -> None:
    with client.stream(
        "GET", f"{hits_url}/export", headers=bearer(scene.tokens["analyst"])
    ) as response:
        pieces = list(response.iter_raw())

    assert response.headers.get("content-length") is None
    assert len(pieces) >= 1
