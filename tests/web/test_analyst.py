"""The analyst's pages in a real browser: overview, runs, hits, a link explained, suspects, quality.

Each role's limits are checked on the same pages: an auditor or a data officer opening an
analyst page is refused (403), an analyst opening another team's project finds nothing (404).
"""

import csv
import io
import re
from typing import Any

import httpx
import pytest

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


def _project(seeded: Seeded, name: str, who: str = "analyst") -> str:
    projects = _api(seeded, who, "/projects")["items"]
    return str(next(p["id"] for p in projects if p["name"] == name))


def _seeded_runs(seeded: Seeded) -> tuple[str, str]:
    """The seeded first and second runs of Carousel (tests may add later ones)."""
    project = _project(seeded, "Carousel")
    runs = _api(seeded, "analyst", f"/projects/{project}/runs")["items"]
    first, second = runs[-1], runs[-2]  # newest first
    return first["id"], second["id"]


def _base(seeded: Seeded) -> str:
    return f"/app/analyst/projects/{_project(seeded, 'Carousel')}"


def test_the_overview_shows_agencies_uploads_epoch_expiry_and_runs(
    page: Any, seeded: Seeded
) -> None:
    sign_in(page, seeded, "analyst")
    page.get_by_role("link", name="Analysis of Carousel").click()
    page.wait_for_url(re.compile(r"/app/analyst/projects/[0-9a-f-]{36}$"))

    assert page.get_by_role("heading", name="Project Carousel").is_visible()
    uploads = page.get_by_role("table", name="Agencies and their uploads")
    for agency in ("gemeente", "politie", "fiu", "kmar"):
        assert uploads.get_by_role("rowheader", name=agency).is_visible()
    assert uploads.get_by_text("kmar data officer").count() == 2  # two batches of kmar
    assert page.get_by_text(re.compile(r"epoch 1 \(key check value [0-9a-f]{16}\)")).is_visible()
    assert page.get_by_text(re.compile(r"\d+ days left")).is_visible()
    runs = page.get_by_role("table", name="Runs")
    assert runs.get_by_text("succeeded").count() >= 2
    assert serious_violations(page) == []


def test_an_analyst_starts_a_run_and_watches_it_to_the_end(page: Any, seeded: Seeded) -> None:
    sign_in(page, seeded, "analyst")
    page.goto(_base(seeded))
    page.get_by_role("button", name="Start a run").click()

    page.wait_for_url(re.compile(r"/runs/[0-9a-f-]{36}$"))
    assert page.get_by_role("list", name="Stages of the run").is_visible()
    # The page follows the run by itself and shows the result once it has succeeded.
    result = page.get_by_role("heading", name="Result")
    result.wait_for(timeout=60_000)
    assert page.get_by_text("succeeded").first.is_visible()
    assert page.get_by_role("heading", name="Compared with the previous run").is_visible()
    assert page.get_by_role("link", name=re.compile(r"^unchanged: \d+")).is_visible()
    assert serious_violations(page) == []


def test_a_threshold_out_of_range_is_refused_with_a_page(page: Any, seeded: Seeded) -> None:
    sign_in(page, seeded, "analyst")
    page.goto(_base(seeded))
    page.get_by_label("Threshold (optional)").evaluate("input => input.removeAttribute('pattern')")
    page.get_by_label("Threshold (optional)").fill("7")
    with page.expect_response(re.compile(r"/runs$")) as answer:
        page.get_by_role("button", name="Start a run").click()
    assert answer.value.status == 422
    assert page.get_by_role("heading", name="The page cannot use this value").is_visible()


def test_hits_filter_sort_page_and_compare_with_the_previous_run(page: Any, seeded: Seeded) -> None:
    _, second = _seeded_runs(seeded)
    sign_in(page, seeded, "analyst")
    page.goto(f"{_base(seeded)}/runs/{second}/hits")
    total = int(page.get_by_role("status").inner_text().split()[0])

    page.get_by_role("group", name="With records of each of").get_by_label("kmar").check()
    page.get_by_label("At least this many agencies").select_option("3")
    page.get_by_label("Sort by").select_option("score")
    page.get_by_role("button", name="Apply").click()

    narrowed = int(page.get_by_role("status").inner_text().split()[0])
    assert 0 < narrowed < total
    rows = page.get_by_role("table", name="Hits matching the filters").locator("tbody tr")
    assert rows.count() == narrowed
    scores = [float(s) for s in rows.locator("td.number").all_inner_texts()]
    assert scores == sorted(scores, reverse=True)
    for agencies in rows.locator("td:nth-child(2)").all_inner_texts():
        assert "kmar" in agencies and int(agencies.rsplit("(", 1)[1].rstrip(")")) >= 3
    changes = set(rows.locator("td .badge").all_inner_texts())
    assert changes and changes <= {"new", "grown", "changed", "unchanged"}
    assert changes & {"new", "grown", "changed"}  # kmar's and politie's second batches
    assert serious_violations(page) == []


def test_hits_come_a_page_at_a_time_and_the_change_filter_narrows(
    page: Any, seeded: Seeded
) -> None:
    _, second = _seeded_runs(seeded)
    sign_in(page, seeded, "analyst")
    page.goto(f"{_base(seeded)}/runs/{second}/hits?size=10")
    first_page = page.locator("tbody th a").all_inner_texts()
    page.get_by_role("link", name="Next page").click()
    second_page = page.locator("tbody th a").all_inner_texts()

    assert len(first_page) == 10 and second_page and not set(first_page) & set(second_page)
    assert page.get_by_text(re.compile(r"Page 2 of \d+")).is_visible()
    page.goto(f"{_base(seeded)}/runs/{second}/hits?change=new")
    kinds = set(page.locator("tbody td .badge").all_inner_texts())
    assert kinds <= {"new"}


def test_a_hits_page_explains_its_link_like_a_waterfall(page: Any, seeded: Seeded) -> None:
    _, second = _seeded_runs(seeded)
    sign_in(page, seeded, "analyst")
    page.goto(f"{_base(seeded)}/runs/{second}/hits/2")

    chart = page.get_by_role("img", name="Match weight of the link, comparison by comparison")
    assert chart.is_visible()
    steps = page.get_by_role("table", name="The steps of the chart")
    weights = steps.locator("tbody tr td:nth-child(3)").all_inner_texts()
    numbers = [float(w.split()[0].replace("\u2212", "-")) for w in weights if w[:1] in "+-"]
    assert len(numbers) >= 3
    prior, *parts, total = numbers
    assert abs(prior + sum(parts) - total) < 0.05  # the steps add up to the link's weight
    # The run kept the link's levels: every comparison of the person schema is a step with
    # the level it reached (a missing value as missing), then the chance class's share.
    levels = steps.locator("tbody tr td:nth-child(2)").all_inner_texts()[1:-2]
    assert len(levels) == 8 and len(parts) == 9
    named = ("agree", "close", "partial", "disagree", "day and month swapped", "missing")
    assert all(level.startswith(named) for level in levels)
    assert "agree" in levels
    missing = [w for level, w in zip(levels, parts, strict=False) if level.startswith("missing")]
    assert all(weight == 0.0 for weight in missing)
    assert steps.get_by_role("rowheader", name="Against chance pairs").is_visible()
    assert page.get_by_text("fieldlink hits --project").is_visible()
    assert serious_violations(page) == []


def test_an_analyst_keeps_the_suspect_list_and_exports_it(page: Any, seeded: Seeded) -> None:
    _, second = _seeded_runs(seeded)
    sign_in(page, seeded, "analyst")
    page.goto(f"{_base(seeded)}/runs/{second}/hits/5")
    page.get_by_label("Status").select_option("under_review")
    page.get_by_label("Note").fill("Same phone in both files")
    page.get_by_role("button", name="Put on the suspect list").click()

    page.wait_for_url("**/suspects")
    assert page.get_by_text("Notes are visible to everyone on the project's team").is_visible()
    section = page.get_by_role("region", name=re.compile(r"^Hit 5 of run"))
    assert section.get_by_text("under review").first.is_visible()
    section.get_by_label("Status").select_option("confirmed")
    section.get_by_role("button", name="Save hit 5").click()
    section = page.get_by_role("region", name=re.compile(r"^Hit 5 of run"))
    assert section.locator(".badge").inner_text() == "confirmed"
    assert serious_violations(page) == []

    with page.expect_download() as download:
        page.get_by_role("link", name="Download the list as CSV").click()
    rows = list(csv.DictReader(io.StringIO(download.value.path().read_text(encoding="utf-8"))))
    listed = [row for row in rows if row["hit"] == "5" and row["run"] == second]
    assert listed and {row["status"] for row in listed} == {"confirmed"}
    assert {row["note"] for row in listed} == {"Same phone in both files"}
    assert page.get_by_text(re.compile(r"--hit 5 .*--open --team-key")).count() == 1

    section.get_by_role("button", name="Take hit 5 off the list").click()
    assert page.get_by_role("region", name=re.compile(r"^Hit 5 of run")).count() == 0


def test_the_quality_view_shows_weights_scores_thresholds_and_overlap(
    page: Any, seeded: Seeded
) -> None:
    _, second = _seeded_runs(seeded)
    sign_in(page, seeded, "analyst")
    page.goto(f"{_base(seeded)}/runs/{second}/quality")

    assert page.get_by_role("img", name="Weight in bits of each comparison level").is_visible()
    assert page.get_by_role("img", name="Links per match weight").is_visible()
    # The run kept every compared pair's weight: the chart is not only the linked ones.
    assert page.get_by_text(re.compile(r"pairs the run compared, linked or not")).is_visible()
    cuts = page.get_by_role("table", name="Estimated precision and recall per threshold")
    assert cuts.get_by_text("(chosen)").is_visible()
    precisions = [float(p.rstrip("%")) for p in cuts.locator("td:nth-child(4)").all_inner_texts()]
    assert precisions == sorted(precisions)  # a higher threshold keeps surer links
    family = page.get_by_label("Salt family")
    other = family.locator("option").nth(1).get_attribute("value")
    family.select_option(other)
    page.get_by_role("button", name="Apply").click()
    weights = page.get_by_role("table", name=f"Weights of salt family {other}")
    assert weights.is_visible()
    # Salted runs weigh levels against the related class, as a link's explanation does.
    assert weights.get_by_role("columnheader", name="r (related)").is_visible()

    hits = _api(
        seeded,
        "analyst",
        f"/projects/{_project(seeded, 'Carousel')}/runs/{second}/hits",
        limit=1000,
    )["items"]
    both = sum(1 for hit in hits if {"politie", "kmar"} <= set(hit["agencies"]))
    matrix = page.get_by_role("table", name="Hits shared by two agencies")
    header = matrix.locator("thead th").all_inner_texts()
    row = matrix.locator("tbody tr", has=page.get_by_role("rowheader", name="politie"))
    assert row.locator("td").nth(header.index("kmar")).inner_text() == str(both)
    assert serious_violations(page) == []


@pytest.mark.parametrize("who", ["auditor", "kmar"])
def test_other_roles_are_refused_the_analysts_pages(page: Any, seeded: Seeded, who: str) -> None:
    _, second = _seeded_runs(seeded)
    sign_in(page, seeded, who)
    answer = page.goto(f"{_base(seeded)}/runs/{second}/hits/1")

    assert answer.status == 403
    assert page.get_by_role("heading", name="Your role may not open this page").is_visible()
    assert page.get_by_text("agree").count() == 0  # nothing of the hit is shown
    assert serious_violations(page) == []


def test_an_analyst_finds_nothing_of_another_teams_project(page: Any, seeded: Seeded) -> None:
    pilot = _project(seeded, "Pilot", who="politie")
    sign_in(page, seeded, "analyst")
    answer = page.goto(f"/app/analyst/projects/{pilot}")
    assert answer.status == 404
    assert page.get_by_role("heading", name="Not found").is_visible()


def test_the_hits_page_in_dutch(page: Any, seeded: Seeded) -> None:
    _, second = _seeded_runs(seeded)
    sign_in(page, seeded, "analyst")
    page.goto(f"{_base(seeded)}/runs/{second}/hits")
    choose_language(page, "Nederlands")

    assert page.get_by_role("heading", name=re.compile(r"^Hits van run")).is_visible()
    assert page.get_by_label("Sorteren op").is_visible()
    assert serious_violations(page) == []
