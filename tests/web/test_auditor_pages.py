"""An auditor's pages in a real browser: the log filtered, paged and exported, the chain, projects.

The page's filters are checked against what GET /v1/audit/entries answers for the same
filters; the CSV holds the same entries with names beside the ids; the signed export
verifies offline. What an auditor must not see: a hit, and the other roles' pages.
"""

import csv
import io
import json
import re
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from linkage.audit import verify_export
from tests.web.conftest import API_TIMEOUT, choose_language, serious_violations, sign_in
from tests.web.seed import Seeded


def _api(seeded: Seeded, who: str, path: str, **params: Any) -> Any:
    answer = httpx.get(
        f"{seeded.url}/v1{path}",
        params=params,
        headers={"Authorization": f"Bearer {seeded.token(who)}"},
        timeout=API_TIMEOUT,
    )
    answer.raise_for_status()
    return answer.json()


def _entries(seeded: Seeded, **filters: Any) -> list[dict[str, Any]]:
    """Every entry the API gives an auditor for these filters, in chain order."""
    found: list[dict[str, Any]] = []
    after = 0
    while True:
        page = _api(seeded, "auditor", "/audit/entries", after=after, limit=1000, **filters)
        found += page["items"]
        if page["next_after"] is None:
            return found
        after = page["next_after"]


def _principal_id(seeded: Seeded, name: str) -> str:
    principals = _api(seeded, "auditor", "/principals")["items"]
    return str(next(p["id"] for p in principals if p["name"] == name))


def _carousel(seeded: Seeded) -> str:
    projects = _api(seeded, "auditor", "/projects")["items"]
    return str(next(p["id"] for p in projects if p["name"] == "Carousel"))


def _count(page: Any) -> int:
    return int(page.get_by_role("status").inner_text().split()[0].replace("\u202f", ""))


def test_the_overview_shows_the_chain_and_each_projects_releases_and_changes(
    page: Any, seeded: Seeded
) -> None:
    sign_in(page, seeded, "auditor")
    page.get_by_role("link", name="Audit overview").click()

    assert page.get_by_role("heading", name="Audit overview").is_visible()
    assert page.get_by_text(re.compile(r"\d+ entries, each chained")).is_visible()
    glance = page.get_by_role("table", name="Releases and changes per project")
    row = glance.locator("tbody tr", has=page.get_by_role("link", name="Carousel"))
    assert re.search(r"\d+ changes", row.locator("td").nth(2).inner_text())  # suspects added
    assert serious_violations(page) == []


def test_an_auditor_filters_the_log_by_names_and_exports_what_it_shows(
    page: Any, seeded: Seeded
) -> None:
    analyst = _principal_id(seeded, "Field Lab analyst")
    expected = _entries(seeded, principal_id=analyst, action="suspects-create_suspect")
    assert expected  # the seed shortlisted two hits
    sign_in(page, seeded, "auditor")
    page.get_by_role("link", name="Access log").click()
    page.get_by_label("Who").select_option(label="Field Lab analyst (politie)")
    page.get_by_label("Action").select_option("suspects-create_suspect")
    page.get_by_role("button", name="Apply").click()

    assert _count(page) == len(expected)
    table = page.get_by_role("table", name="Entries of the access log, newest first")
    sequences = [int(s) for s in table.locator("tbody th").all_inner_texts()]
    assert sequences == sorted((e["sequence"] for e in expected), reverse=True)
    assert table.get_by_text("Field Lab analyst").count() == len(expected)
    assert table.get_by_text(re.compile(r"^run [0-9a-f]{8} hit \d+$")).count() == len(expected)
    assert serious_violations(page) == []

    with page.expect_download() as download:
        page.get_by_role("link", name="Download as CSV").click()
    text = download.value.path().read_text(encoding="utf-8")
    rows = list(csv.DictReader(io.StringIO(text)))
    assert [int(r["sequence"]) for r in rows] == [e["sequence"] for e in expected]
    assert {r["principal"] for r in rows} == {"Field Lab analyst"}
    assert {r["agency"] for r in rows} == {"politie"}
    assert {r["project"] for r in rows} == {"Carousel"}
    assert [r["entry_hash"] for r in rows] == [e["entry_hash"] for e in expected]
    assert seeded.token("analyst") not in text and seeded.token("auditor") not in text


def test_the_time_range_and_outcome_filter_like_the_api(page: Any, seeded: Seeded) -> None:
    today = datetime.now(UTC).date()
    since = datetime.combine(today, datetime.min.time(), tzinfo=UTC)
    refused = _entries(seeded, outcome=403, since=since.isoformat())
    sign_in(page, seeded, "kmar")
    page.goto("/app/auditor/log")  # refused: it is the auditors' page (one more 403)
    page.context.clear_cookies()
    sign_in(page, seeded, "auditor")
    page.goto("/app/auditor/log")
    page.get_by_label("Outcome (HTTP status)").fill("403")
    page.get_by_label("From (UTC date)").fill(today.isoformat())
    page.get_by_label("To and including (UTC date)").fill(today.isoformat())
    page.get_by_role("button", name="Apply").click()

    assert _count(page) == len(refused) + 1
    table = page.get_by_role("table", name="Entries of the access log, newest first")
    assert table.locator("tbody tr").first.get_by_text("kmar data officer").is_visible()
    assert table.get_by_text("403 refused").count() == min(len(refused) + 1, 50)

    tomorrow = (today + timedelta(days=1)).isoformat()
    page.get_by_label("From (UTC date)").fill(tomorrow)
    page.get_by_label("To and including (UTC date)").fill(tomorrow)
    page.get_by_role("button", name="Apply").click()
    assert _count(page) == 0
    assert page.get_by_text("No entry matches these filters.").is_visible()


def test_the_log_pages_back_and_forth(page: Any, seeded: Seeded) -> None:
    sign_in(page, seeded, "auditor")
    page.goto("/app/auditor/log")
    table = page.get_by_role("table", name="Entries of the access log, newest first")
    first = [int(s) for s in table.locator("tbody th").all_inner_texts()]
    assert len(first) == 50 and first == sorted(first, reverse=True)

    page.get_by_role("link", name="Older entries").click()
    older = [int(s) for s in table.locator("tbody th").all_inner_texts()]
    assert older and max(older) < min(first)
    assert older[0] == min(first) - 1  # no entry skipped between the pages

    page.get_by_role("link", name="Newer entries").click()
    again = [int(s) for s in table.locator("tbody th").all_inner_texts()]
    assert min(again) == min(first)  # back to the page before (newer entries may be added)


def test_a_filter_the_page_cannot_use_is_refused_with_a_page(page: Any, seeded: Seeded) -> None:
    sign_in(page, seeded, "auditor")
    answer = page.goto("/app/auditor/log?since=yesterday")
    assert answer.status == 422
    assert page.get_by_role("heading", name="The page cannot use this value").is_visible()


def test_the_chain_verifies_and_the_signed_export_verifies_offline(
    page: Any, seeded: Seeded
) -> None:
    sign_in(page, seeded, "auditor")
    page.goto("/app/auditor")
    page.get_by_role("link", name="Verify the chain now").click()

    assert page.get_by_role("status").get_by_text("intact").is_visible()
    assert page.get_by_text(re.compile(r"The hub checked \d+ entries")).is_visible()
    keys = _api(seeded, "auditor", "/audit/keys")["public_keys"]
    for key_id, public in keys.items():
        assert page.get_by_role("row", name=re.compile(key_id)).get_by_text(public).is_visible()
    assert serious_violations(page) == []

    with page.expect_download() as download:
        page.get_by_role("link", name="Download the signed export (JSON)").click()
    document = json.loads(download.value.path().read_text(encoding="utf-8"))
    verdict = verify_export(document, trusted_keys=list(keys.values()))
    assert verdict.ok, verdict.problem
    page.reload()
    assert page.get_by_text(re.compile(r"entry [\d\u202f]+, signed .* with key")).is_visible()


def test_a_projects_page_shows_releases_approvals_and_suspect_changes(
    page: Any, seeded: Seeded
) -> None:
    sign_in(page, seeded, "auditor")
    page.get_by_role("link", name="Audit of Carousel").click()

    assert page.get_by_role("heading", name="Audit of Carousel").is_visible()
    changes = page.get_by_role("table", name="Latest changes to the suspect list")
    assert changes.get_by_text("suspects-create_suspect").count() >= 2
    listed = page.get_by_role("table", name="The suspect list now")
    suspects = _api(seeded, "auditor", f"/projects/{_carousel(seeded)}/suspects")["items"]
    assert listed.locator("tbody tr").count() == len(suspects)
    notes = [suspect["note"] for suspect in suspects if suspect["note"]]
    assert notes  # the seed wrote one ("Seen in two cities")
    assert all(page.get_by_text(note).count() == 0 for note in notes)  # notes stay out
    assert serious_violations(page) == []


@pytest.mark.parametrize("who", ["analyst", "kmar", "admin"])
def test_other_roles_are_refused_the_auditors_pages(page: Any, seeded: Seeded, who: str) -> None:
    sign_in(page, seeded, who)
    for path in ("/app/auditor", "/app/auditor/log", "/app/auditor/log.csv", "/app/auditor/verify"):
        answer = page.request.get(path, max_redirects=0)
        assert answer.status == 403, path
    answer = page.goto(f"/app/auditor/projects/{_carousel(seeded)}")
    assert answer.status == 403
    assert page.get_by_role("heading", name="Your role may not open this page").is_visible()


def test_an_auditor_opening_a_hit_page_or_a_batch_is_refused(page: Any, seeded: Seeded) -> None:
    carousel = _carousel(seeded)
    run = _api(seeded, "analyst", f"/projects/{carousel}/runs")["items"][-1]["id"]
    batch = _api(seeded, "kmar", f"/projects/{carousel}/uploads")["items"][0]["id"]
    sign_in(page, seeded, "auditor")

    hit = page.goto(f"/app/analyst/projects/{carousel}/runs/{run}/hits/1")
    assert hit.status == 403
    assert page.get_by_text("agree").count() == 0
    officer = page.goto(f"/app/officer/projects/{carousel}/batches/{batch}")
    assert officer.status == 403
    assert batch[:8] not in page.locator("main").inner_text()
    assert serious_violations(page) == []


def test_the_log_page_in_dutch(page: Any, seeded: Seeded) -> None:
    sign_in(page, seeded, "auditor")
    page.goto("/app/auditor/log")
    choose_language(page, "Nederlands")

    assert page.get_by_role("heading", name="Toegangslogboek").is_visible()
    assert page.get_by_label("Wie").is_visible()
    assert page.get_by_label("Tot en met (UTC-datum)").is_visible()
    assert serious_violations(page) == []
