"""Signing in and out, the session cookie, CSRF, expiry and lock-out, the audit of page views."""

from datetime import timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import create_engine, update

from service.models import WebSession, utcnow
from tests.contract.live_hub import enrol
from tests.web.conftest import choose_language, serious_violations, sign_in
from tests.web.seed import Seeded


def _database(seeded: Seeded) -> Any:
    return create_engine(f"sqlite:///{seeded.hub.folder / 'hub.db'}")


def _age_sessions(seeded: Seeded, **values: Any) -> None:
    engine = _database(seeded)
    with engine.begin() as connection:
        connection.execute(update(WebSession).values(**values))
    engine.dispose()


def test_sign_in_page_and_home_page_pass_the_accessibility_check(page: Any, seeded: Seeded) -> None:
    page.goto("/app")
    assert "/app/sign-in" in page.url
    assert page.get_by_text("Sign in to see this page.").is_visible()
    assert serious_violations(page) == []
    sign_in(page, seeded, "analyst")
    assert page.get_by_role("heading", name="Your projects").is_visible()
    assert page.get_by_role("link", name="Analysis of Carousel").is_visible()
    assert page.get_by_text("Signed in as Field Lab analyst (politie)").is_visible()
    assert serious_violations(page) == []


def test_a_wrong_token_is_refused_and_said_so(page: Any, seeded: Seeded) -> None:
    page.goto("/app/sign-in")
    page.get_by_label("Your API token").fill("not-a-token")
    with page.expect_response("**/app/sign-in") as answer:
        page.get_by_role("button", name="Sign in").click()

    assert answer.value.status == 401
    assert page.get_by_role("alert").get_by_text("This token is not valid").is_visible()
    assert page.context.cookies() == [] or all(
        cookie["name"] != "fieldlink_session" for cookie in page.context.cookies()
    )


def test_the_session_cookie_is_http_only_strict_and_only_for_the_pages(
    page: Any, seeded: Seeded
) -> None:
    sign_in(page, seeded, "auditor")
    cookie = next(c for c in page.context.cookies() if c["name"] == "fieldlink_session")

    assert cookie["httpOnly"] is True
    assert cookie["sameSite"] == "Strict"
    assert cookie["path"] == "/app"
    assert cookie["value"] != seeded.token("auditor")
    assert page.evaluate("document.cookie") == ""  # no script can read it


def test_sign_out_ends_the_session(page: Any, seeded: Seeded) -> None:
    sign_in(page, seeded, "analyst")
    page.get_by_role("button", name="Sign out").click()
    page.wait_for_url("**/app/sign-in?reason=signed_out")
    assert page.get_by_text("You are signed out.").is_visible()

    page.goto("/app")
    assert "/app/sign-in" in page.url


def test_a_form_without_the_sessions_csrf_token_is_refused(page: Any, seeded: Seeded) -> None:
    sign_in(page, seeded, "analyst")
    page.locator("form[action='/app/sign-out'] input[name=csrf_token]").evaluate(
        "input => input.value = 'forged'"
    )
    with page.expect_response("**/app/sign-out") as answer:
        page.get_by_role("button", name="Sign out").click()

    assert answer.value.status == 403
    assert page.get_by_role("heading", name="This form was refused").is_visible()
    assert serious_violations(page) == []
    page.goto("/app")  # still signed in: the forged form did nothing
    assert page.get_by_role("heading", name="Your projects").is_visible()


def test_a_post_from_another_page_without_the_token_is_refused(page: Any, seeded: Seeded) -> None:
    sign_in(page, seeded, "analyst")
    answer = page.request.post("/app/sign-out", form={"csrf_token": ""}, max_redirects=0)
    assert answer.status == 403


@pytest.mark.parametrize(
    "aged",
    [
        {"last_seen_at": utcnow() - timedelta(hours=2)},  # idle for longer than 30 minutes
        {"expires_at": utcnow() - timedelta(seconds=1)},  # past the absolute end
    ],
    ids=["idle", "absolute"],
)
def test_an_expired_session_goes_back_to_sign_in(
    page: Any, seeded: Seeded, aged: dict[str, Any]
) -> None:
    sign_in(page, seeded, "auditor")
    _age_sessions(seeded, **aged)

    page.goto("/app")

    assert "/app/sign-in" in page.url and "reason=ended" in page.url
    assert page.get_by_text("Your session has ended").is_visible()
    assert all(c["name"] != "fieldlink_session" for c in page.context.cookies())


def test_a_disabled_principal_is_locked_out_at_the_next_page(page: Any, seeded: Seeded) -> None:
    enrol(seeded.hub, "politie", "Analyst to disable", "analyst", "to_disable", "Carousel")
    sign_in(page, seeded, "to_disable")

    seeded.as_("admin", "admin", "disable-principal", "--principal", "Analyst to disable")
    page.goto("/app")

    assert "reason=ended" in page.url


def test_a_revoked_token_ends_its_session(page: Any, seeded: Seeded) -> None:
    enrol(seeded.hub, "kmar", "Officer who lost a token", "data_officer", "lost_token")
    sign_in(page, seeded, "lost_token")
    code = seeded.hub.folder / "tokens" / "lost_token.new-code"

    # A new enrolment code revokes the principal's tokens at once.
    seeded.as_(
        "admin",
        "admin",
        "enrolment-code",
        "--principal",
        "Officer who lost a token",
        "--code-out",
        str(code),
    )
    page.goto("/app")

    assert "reason=ended" in page.url


def test_every_page_view_is_audited_with_principal_and_token(page: Any, seeded: Seeded) -> None:
    sign_in(page, seeded, "analyst")
    page.goto("/app/no-such-page")
    auditor = {"Authorization": f"Bearer {seeded.token('auditor')}"}
    me = httpx.get(
        f"{seeded.url}/v1/principals/me",
        headers={"Authorization": f"Bearer {seeded.token('analyst')}"},
    ).json()

    home = httpx.get(
        f"{seeded.url}/v1/audit/entries",
        params={"principal_id": me["id"], "action": "web-home", "limit": 1000},
        headers=auditor,
    ).json()["items"]
    signed_in = httpx.get(
        f"{seeded.url}/v1/audit/entries",
        params={"principal_id": me["id"], "action": "web-sign_in", "limit": 1000},
        headers=auditor,
    ).json()["items"]
    unmatched = httpx.get(
        f"{seeded.url}/v1/audit/entries",
        params={"action": "unmatched", "outcome": 404, "limit": 1000},
        headers=auditor,
    ).json()["items"]

    assert home and all(entry["token_id"] and entry["role"] == "analyst" for entry in home)
    assert home[-1]["resource"] == "/app" and home[-1]["outcome"] == 200
    assert signed_in[-1]["outcome"] == 303 and signed_in[-1]["token_id"] == home[-1]["token_id"]
    assert any(entry["method"] == "GET" for entry in unmatched)


def test_the_language_is_remembered_and_every_page_follows_it(page: Any, seeded: Seeded) -> None:
    page.goto("/app/sign-in")
    choose_language(page, "Nederlands")
    assert page.get_by_role("heading", name="Aanmelden").is_visible()
    assert page.locator("html").get_attribute("lang") == "nl"
    page.get_by_label("Uw API-token").fill(seeded.token("analyst"))
    page.get_by_role("button", name="Aanmelden").click()
    page.wait_for_url("**/app")

    assert page.get_by_role("heading", name="Uw projecten").is_visible()
    assert serious_violations(page) == []
    choose_language(page, "English")
    assert page.get_by_role("heading", name="Your projects").is_visible()


def test_the_keyboard_reaches_the_skip_link_first_and_it_leads_to_the_content(
    page: Any, seeded: Seeded
) -> None:
    sign_in(page, seeded, "analyst")
    page.keyboard.press("Tab")
    focused = page.evaluate("document.activeElement.textContent")
    assert focused == "Skip to the main content"
    page.keyboard.press("Enter")
    assert page.evaluate("document.activeElement.id") == "main"
    page.keyboard.press("Tab")  # the next stop is inside the content, not the header
    inside = page.evaluate("document.getElementById('main').contains(document.activeElement)")
    assert inside


def test_a_key_custodian_signs_in_and_is_told_to_use_the_command_line(
    page: Any, seeded: Seeded
) -> None:
    sign_in(page, seeded, "custodian")
    assert page.get_by_text("Key custodians work with the fieldlink command").is_visible()


def test_page_forms_are_small_and_url_encoded(page: Any, seeded: Seeded) -> None:
    # Parsing a multipart form, or a large one, before any check would put a signed-in
    # user's upload in a plain temporary file or in memory: both are refused unread.
    sign_in(page, seeded, "analyst")
    token = page.locator("form[action='/app/sign-out'] input[name=csrf_token]").first
    csrf = token.get_attribute("value")

    multipart = page.request.post(
        "/app/sign-out",
        multipart={
            "csrf_token": csrf,
            "file": {
                "name": "x.bin",
                "mimeType": "application/octet-stream",
                "buffer": b"x" * 2_000_000,
            },
        },
        max_redirects=0,
    )
    large = page.request.post(
        "/app/sign-out", form={"csrf_token": csrf, "pad": "x" * 100_000}, max_redirects=0
    )

    assert multipart.status == 415
    assert large.status == 413
    page.goto("/app")
    assert "/app/sign-in" not in page.url  # neither was taken as signing out
