"""`make screenshots`: a PNG of every web page, signed in as each role, into docs/screenshots/.

Starts a seeded hub (tests/web/seed.py), drives Debian's Chromium with Playwright and
writes one full-page PNG per entry of `SHOTS` (two pages in both languages). Other areas add
their pages to `SHOTS`: a file name, who signs in, and the path (built from the seeded ids).

    python -m tests.web.screenshots [--out docs/screenshots]
"""

import argparse
import sys
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from tests.web.conftest import CHROMIUM
from tests.web.seed import Seeded, seeded_hub

ROOT = Path(__file__).resolve().parents[2]
WIDTH = 1280


@dataclass(frozen=True)
class Ids:
    """The seeded ids page paths are made of."""

    carousel: str
    first_run: str
    second_run: str
    kmar_batch: str = ""  # one of kmar's batches in Carousel
    analyst_principal: str = ""  # the Field Lab analyst's principal id


@dataclass(frozen=True)
class Shot:
    file: str  # written as docs/screenshots/FILE.png
    who: str  # the seeded principal signed in ("" for none)
    path: Callable[[Ids], str]
    language: str = "en"


def _analyst(tail: str = "") -> Callable[[Ids], str]:
    return lambda ids: f"/app/analyst/projects/{ids.carousel}{tail.format(ids=ids)}"


SHOTS: list[Shot] = [
    Shot("sign-in", "", lambda ids: "/app/sign-in"),
    Shot("home-analyst", "analyst", lambda ids: "/app"),
    Shot("analyst-project", "analyst", _analyst()),
    Shot("analyst-run", "analyst", _analyst("/runs/{ids.second_run}")),
    Shot("analyst-hits", "analyst", _analyst("/runs/{ids.second_run}/hits?size=10")),
    Shot("analyst-hits-nl", "analyst", _analyst("/runs/{ids.second_run}/hits?size=10"), "nl"),
    Shot("analyst-hit", "analyst", _analyst("/runs/{ids.second_run}/hits/2")),
    Shot("analyst-hit-nl", "analyst", _analyst("/runs/{ids.second_run}/hits/2"), "nl"),
    Shot("analyst-quality", "analyst", _analyst("/runs/{ids.second_run}/quality")),
    Shot("analyst-suspects", "analyst", _analyst("/suspects")),
    Shot("refused-auditor-on-hit", "auditor", _analyst("/runs/{ids.second_run}/hits/1")),
    # The data officer's, auditor's and administrator's pages (service.web.officer, .auditor,
    # .admin).
    Shot("officer-batches", "kmar", lambda ids: f"/app/officer/projects/{ids.carousel}"),
    Shot("officer-batches-nl", "kmar", lambda ids: f"/app/officer/projects/{ids.carousel}", "nl"),
    Shot(
        "officer-batch",
        "kmar",
        lambda ids: f"/app/officer/projects/{ids.carousel}/batches/{ids.kmar_batch}",
    ),
    Shot("officer-hits", "kmar", lambda ids: f"/app/officer/projects/{ids.carousel}/hits"),
    Shot(
        "officer-approvals", "kmar", lambda ids: f"/app/officer/projects/{ids.carousel}/approvals"
    ),
    Shot("auditor-overview", "auditor", lambda ids: "/app/auditor"),
    Shot("auditor-log", "auditor", lambda ids: "/app/auditor/log"),
    Shot("auditor-log-nl", "auditor", lambda ids: "/app/auditor/log", "nl"),
    Shot("auditor-verify", "auditor", lambda ids: "/app/auditor/verify"),
    Shot("auditor-project", "auditor", lambda ids: f"/app/auditor/projects/{ids.carousel}"),
    Shot("admin-people", "admin", lambda ids: "/app/admin"),
    Shot("admin-principal", "admin", lambda ids: f"/app/admin/principals/{ids.analyst_principal}"),
    Shot("admin-projects", "admin", lambda ids: "/app/admin/projects"),
    Shot("admin-project", "admin", lambda ids: f"/app/admin/projects/{ids.carousel}"),
]


def seeded_ids(world: Seeded) -> Ids:
    """Carousel's id and its two seeded runs, as the analyst sees them."""
    headers = {"Authorization": f"Bearer {world.token('analyst')}"}
    projects = httpx.get(f"{world.url}/v1/projects", headers=headers).json()["items"]
    carousel = next(p["id"] for p in projects if p["name"] == "Carousel")
    runs = httpx.get(f"{world.url}/v1/projects/{carousel}/runs", headers=headers).json()["items"]
    kmar = {"Authorization": f"Bearer {world.token('kmar')}"}
    batch = httpx.get(f"{world.url}/v1/projects/{carousel}/uploads", headers=kmar).json()
    admin = {"Authorization": f"Bearer {world.token('admin')}"}
    people = httpx.get(f"{world.url}/v1/principals", headers=admin).json()["items"]
    return Ids(
        carousel=carousel,
        first_run=runs[-1]["id"],
        second_run=runs[-2]["id"],
        kmar_batch=batch["items"][0]["id"],
        analyst_principal=next(p["id"] for p in people if p["name"] == "Field Lab analyst"),
    )


def take(world: Seeded, shots: list[Shot], out: Path) -> list[Path]:
    """Write every shot; the paths written."""
    from playwright.sync_api import sync_playwright

    ids = seeded_ids(world)
    out.mkdir(parents=True, exist_ok=True)
    written = []
    with sync_playwright() as driver:
        browser = driver.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=["--no-sandbox"]
        )
        for shot in shots:
            written.append(_take(browser, world, ids, shot, out))
        browser.close()
    return written


def _take(browser: Any, world: Seeded, ids: Ids, shot: Shot, out: Path) -> Path:
    context = browser.new_context(
        base_url=world.url, viewport={"width": WIDTH, "height": 900}, reduced_motion="reduce"
    )
    page = context.new_page()
    page.goto(f"/app/language?lang={shot.language}&next=/app/sign-in")
    if shot.who:
        page.locator("#field-token").fill(world.token(shot.who))
        page.locator("form[action='/app/sign-in'] button[type=submit]").click()
        page.wait_for_url("**/app")
    page.goto(shot.path(ids))
    target = out / f"{shot.file}.png"
    page.screenshot(path=str(target), full_page=True)
    context.close()
    return target


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "screenshots")
    args = parser.parse_args(argv)
    if not CHROMIUM.exists():
        sys.stderr.write(f"no Chromium at {CHROMIUM}: install Debian's chromium package\n")
        return 1
    with tempfile.TemporaryDirectory() as folder, seeded_hub(Path(folder)) as world:
        for path in take(world, SHOTS, args.out):
            shown = path.relative_to(ROOT) if path.is_relative_to(ROOT) else path
            sys.stdout.write(f"{shown}\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
