"""Browser tests: a real seeded hub (tests/web/seed.py) and Debian's Chromium via Playwright.

Playwright drives /usr/bin/chromium (Debian's `chromium` package, which `make test`
installs when it can); it never downloads a browser. Without that browser, or without
Playwright, every test here is skipped with a message that says which is missing.

One hub serves the whole session (seeding takes the bulk of the time); each test gets a
fresh browser context, so cookies never leak between tests. Tests that change who may do
what (disabling, revoking) use the principals kept for it (`spare_analyst`).
"""

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.web.seed import Seeded, seeded_hub

# Seconds a test waits for the seeded hub's API: the suite's two passes and a browser
# share two cores, and httpx's default of 5 s was once not enough (a ReadTimeout in CI).
API_TIMEOUT = 60.0


CHROMIUM = Path(os.environ.get("FIELDLINK_TEST_CHROMIUM", "/usr/bin/chromium"))
_HERE = Path(__file__).parent
SERIOUS = ("serious", "critical")


def _missing() -> str | None:
    if not CHROMIUM.exists():
        return f"no Chromium at {CHROMIUM}: install Debian's chromium package (make test does)"
    try:
        import axe_playwright_python  # noqa: F401
        import playwright  # noqa: F401
    except ImportError:
        return "playwright or axe-playwright-python is not installed (pip install -e '.[dev]')"
    return None


_BROWSER_FIXTURES = {"page", "chromium"}


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    reason = _missing()
    for item in items:
        uses_browser = _BROWSER_FIXTURES & set(getattr(item, "fixturenames", ()))
        if _HERE in Path(str(item.fspath)).parents and uses_browser:
            item.add_marker(pytest.mark.browser)
            if reason:
                item.add_marker(pytest.mark.skip(reason=reason))


@pytest.fixture(scope="session")
def seeded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Seeded]:
    with seeded_hub(tmp_path_factory.mktemp("web-hub")) as world:
        yield world


@pytest.fixture(scope="session")
def chromium() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as driver:
        browser = driver.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=["--no-sandbox"]
        )
        yield browser
        browser.close()


@pytest.fixture
def page(chromium: Any, seeded: Seeded) -> Iterator[Any]:
    context = chromium.new_context(base_url=seeded.url)
    context.set_default_timeout(15_000)
    page = context.new_page()
    yield page
    context.close()


def sign_in(page: Any, seeded: Seeded, who: str) -> None:
    """Sign in through the form as a seeded principal; ends on the home page."""
    page.goto("/app/sign-in")
    page.get_by_label("Your API token").fill(seeded.token(who))
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url("**/app")


LANGUAGES = {"English": "en", "Nederlands": "nl"}


def choose_language(page: Any, name: str) -> None:
    """Follow the language link `name` and wait until the page is back in that language.

    The link redirects to the page it was on, so the click returns before that page has
    loaded: a check straight after it may still see the page in the old language.
    """
    page.get_by_role("link", name=name).click()
    page.locator(f'html[lang="{LANGUAGES[name]}"]').wait_for(state="attached")


def csrf_token(page: Any) -> str:
    """The CSRF token in the current page's forms."""
    token: str = page.locator("input[name=csrf_token]").first.get_attribute("value")
    return token


def serious_violations(page: Any) -> list[str]:
    """axe-core's serious and critical findings on the current page, one line each."""
    from axe_playwright_python.sync_playwright import Axe

    results = Axe().run(page)
    return [
        f"{violation['id']} ({violation['impact']}): {violation['help']} "
        f"at {[node['target'] for node in violation['nodes']][:3]}"
        for violation in results.response["violations"]
        if violation["impact"] in SERIOUS
    ]
