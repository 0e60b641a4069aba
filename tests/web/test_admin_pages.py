"""An administrator's pages in a real browser: agencies, people and tokens, projects and teams.

The main task: revoking a token, after which that token signs in nowhere and the browser
signed in with it is sent back to the sign-in page at its next page. The separation of
duties holds on the pages as in the API: an administrator cannot disable itself, and a
proposed team member waits for a second person. Principals enrolled here are the tests'
own, so the seeded ones keep working for the other tests.
"""

import re
from typing import Any

import httpx
import pytest

from tests.contract.live_hub import enrol
from tests.web.conftest import API_TIMEOUT, choose_language, serious_violations, sign_in
from tests.web.seed import Seeded


def _api(seeded: Seeded, who: str, path: str) -> httpx.Response:
    return httpx.get(
        f"{seeded.url}/v1{path}",
        headers={"Authorization": f"Bearer {seeded.token(who)}"},
        timeout=API_TIMEOUT,
    )


def _principal_id(seeded: Seeded, name: str) -> str:
    principals = _api(seeded, "admin", "/principals").json()["items"]
    return str(next(p["id"] for p in principals if p["name"] == name))


def _project_id(seeded: Seeded, name: str) -> str:
    projects = _api(seeded, "admin", "/projects").json()["items"]
    return str(next(p["id"] for p in projects if p["name"] == name))


def test_agencies_and_people_are_listed_with_role_and_state(page: Any, seeded: Seeded) -> None:
    sign_in(page, seeded, "admin")
    page.get_by_role("link", name="Agencies and people").click()

    agencies = page.get_by_role("table", name="Agencies")
    for agency in ("gemeente", "politie", "fiu", "kmar"):
        assert agencies.get_by_role("rowheader", name=agency, exact=True).is_visible()
    people = page.get_by_role("table", name="People and their roles")
    row = people.locator("tbody tr", has=page.get_by_role("link", name="Field Lab analyst"))
    assert row.get_by_text("analyst", exact=True).is_visible()
    assert row.get_by_text("active", exact=True).is_visible()
    assert page.get_by_text("fieldlink admin add-principal").is_visible()
    assert serious_violations(page) == []


def test_an_admin_adds_an_agency_and_a_second_one_of_that_name_is_refused(
    page: Any, seeded: Seeded
) -> None:
    sign_in(page, seeded, "admin")
    page.goto("/app/admin")
    page.get_by_label("New agency's name").fill("douane")
    page.get_by_role("button", name="Add the agency").click()

    page.wait_for_url(re.compile(r"/app/admin#agency-[0-9a-f-]{36}$"))
    agencies = page.get_by_role("table", name="Agencies")
    assert agencies.get_by_role("rowheader", name="douane", exact=True).is_visible()
    assert "douane" in {a["name"] for a in _api(seeded, "admin", "/agencies").json()["items"]}

    page.get_by_label("New agency's name").fill("douane")
    with page.expect_response("**/app/admin/agencies") as answer:
        page.get_by_role("button", name="Add the agency").click()
    assert answer.value.status == 409
    assert page.get_by_role("heading", name="This cannot be done now").is_visible()


def test_an_admin_revokes_a_token_and_it_no_longer_signs_in_anywhere(
    page: Any, chromium: Any, seeded: Seeded
) -> None:
    enrol(seeded.hub, "kmar", "Officer whose token is revoked", "data_officer", "revoked_token")
    holder = chromium.new_context(base_url=seeded.url)
    other = holder.new_page()
    sign_in(other, seeded, "revoked_token")
    principal = _principal_id(seeded, "Officer whose token is revoked")

    sign_in(page, seeded, "admin")
    page.goto(f"/app/admin/principals/{principal}")
    tokens = page.get_by_role("table", name="Tokens")
    assert tokens.get_by_text("works").count() == 1
    assert serious_violations(page) == []
    tokens.get_by_role("button", name=re.compile(r"^Revoke token [0-9a-f]{8}$")).click()

    page.wait_for_url(re.compile(r"#token-[0-9a-f-]{36}$"))
    assert (
        page.get_by_role("table", name="Tokens").get_by_text(re.compile("^revoked ")).is_visible()
    )
    assert page.get_by_role("button", name=re.compile("^Revoke token")).count() == 0
    other.goto("/app")  # the browser signed in with it: its session ends
    assert "/app/sign-in" in other.url and "reason=ended" in other.url
    holder.close()
    assert _api(seeded, "revoked_token", "/principals/me").status_code == 401
    page.context.clear_cookies()
    page.goto("/app/sign-in")
    page.get_by_label("Your API token").fill(seeded.token("revoked_token"))
    with page.expect_response("**/app/sign-in") as answer:
        page.get_by_role("button", name="Sign in").click()
    assert answer.value.status == 401


def test_the_revoke_form_refuses_a_forged_csrf_token(page: Any, seeded: Seeded) -> None:
    enrol(seeded.hub, "kmar", "Officer keeping a token", "data_officer", "kept_token")
    principal = _principal_id(seeded, "Officer keeping a token")
    sign_in(page, seeded, "admin")
    page.goto(f"/app/admin/principals/{principal}")
    form = page.locator("form[action*='/revoke']")
    form.locator("input[name=csrf_token]").evaluate("input => input.value = 'forged'")
    with page.expect_response(re.compile(r"/revoke$")) as answer:
        form.get_by_role("button").click()

    assert answer.value.status == 403
    assert page.get_by_role("heading", name="This form was refused").is_visible()
    assert _api(seeded, "kept_token", "/principals/me").status_code == 200  # still works


def test_an_admin_disables_another_principal_but_not_itself(page: Any, seeded: Seeded) -> None:
    enrol(seeded.hub, "fiu", "Officer to disable", "data_officer", "to_disable_officer")
    sign_in(page, seeded, "admin")
    page.goto(f"/app/admin/principals/{_principal_id(seeded, 'First administrator')}")
    assert page.get_by_text("You cannot disable yourself").is_visible()
    assert page.get_by_role("button", name=re.compile("^Disable")).count() == 0

    page.goto(f"/app/admin/principals/{_principal_id(seeded, 'Officer to disable')}")
    page.get_by_role("button", name="Disable Officer to disable").click()
    assert page.get_by_text("disabled", exact=True).first.is_visible()
    assert page.get_by_text("This person is disabled").is_visible()
    assert _api(seeded, "to_disable_officer", "/principals/me").status_code == 401
    assert serious_violations(page) == []


def test_projects_and_a_team_proposed_member_waits_for_a_second_person(
    page: Any, seeded: Seeded
) -> None:
    enrol(seeded.hub, "kmar", "Proposed analyst", "analyst", "proposed_analyst")
    sign_in(page, seeded, "admin")
    page.get_by_role("link", name="Manage projects").click()
    projects = page.get_by_role("table", name="Projects")
    assert projects.get_by_role("link", name="Carousel").is_visible()
    assert projects.get_by_role("link", name="Pilot").is_visible()
    assert serious_violations(page) == []

    projects.get_by_role("link", name="Pilot").click()
    assert page.get_by_role("heading", name="Project Pilot").is_visible()
    page.get_by_label("Person to propose").select_option(label="Proposed analyst (kmar)")
    page.get_by_role("button", name="Propose for the team").click()

    team = page.get_by_role("table", name="Team")
    row = team.locator("tbody tr", has=page.get_by_role("link", name="Proposed analyst"))
    assert row.get_by_text("waiting for confirmation").is_visible()
    assert row.get_by_text("proposed by First administrator").is_visible()
    pilot = _project_id(seeded, "Pilot")
    members = _api(seeded, "admin", f"/projects/{pilot}/members").json()["items"]
    assert {m["name"]: m["status"] for m in members}["Proposed analyst"] == "pending"
    assert serious_violations(page) == []

    row.get_by_role("button", name="Remove Proposed analyst from the team").click()
    assert page.get_by_role("link", name="Proposed analyst").count() == 0
    members = _api(seeded, "admin", f"/projects/{pilot}/members").json()["items"]
    assert "Proposed analyst" not in {m["name"] for m in members}


@pytest.mark.parametrize("who", ["analyst", "auditor", "kmar"])
def test_other_roles_are_refused_the_administrators_pages(
    page: Any, seeded: Seeded, who: str
) -> None:
    analyst = _principal_id(seeded, "Field Lab analyst")
    carousel = _project_id(seeded, "Carousel")
    sign_in(page, seeded, who)
    for path in (
        "/app/admin",
        "/app/admin/projects",
        f"/app/admin/projects/{carousel}",
        f"/app/admin/principals/{analyst}",
    ):
        answer = page.goto(path)
        assert answer.status == 403, path
    assert page.get_by_role("heading", name="Your role may not open this page").is_visible()
    assert page.get_by_text("Tokens").count() == 0


def test_the_people_page_in_dutch(page: Any, seeded: Seeded) -> None:
    sign_in(page, seeded, "admin")
    page.goto("/app/admin")
    choose_language(page, "Nederlands")

    assert page.get_by_role("heading", name="Organisaties en mensen").is_visible()
    assert page.get_by_label("Naam van de nieuwe organisatie").is_visible()
    assert serious_violations(page) == []


def test_every_form_of_the_administrators_pages_refuses_a_forged_token(
    page: Any, seeded: Seeded
) -> None:
    analyst = _principal_id(seeded, "Field Lab analyst")
    sign_in(page, seeded, "admin")
    actions: set[str] = set()
    for path in (
        "/app/admin",
        "/app/admin/projects",
        f"/app/admin/projects/{_project_id(seeded, 'Carousel')}",
        f"/app/admin/principals/{analyst}",
    ):
        page.goto(path)
        found = page.locator("main form[method=post]").evaluate_all(
            "forms => forms.map(form => form.getAttribute('action'))"
        )
        actions.update(found)
    assert {"/app/admin/agencies"} < actions and any("/revoke" in a for a in actions)
    assert any(a.endswith("/disable") for a in actions) and any("/remove" in a for a in actions)

    for action in sorted(actions):
        answer = page.request.post(action, form={"csrf_token": "forged"}, max_redirects=0)
        assert answer.status == 403, action
    assert _api(seeded, "analyst", "/principals/me").status_code == 200  # nothing was done
    members = _api(seeded, "admin", f"/projects/{_project_id(seeded, 'Carousel')}/members")
    assert "Field Lab analyst" in {m["name"] for m in members.json()["items"]}
