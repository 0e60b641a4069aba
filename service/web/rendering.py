"""Server-side pages: the Jinja2 environment, `render()`, the pages' Content Security Policy.

Templates live in `templates/` (`base.html`, then one folder per area); every page extends
`base.html`, which draws the skip link, the navigation for the caller's role and the
language switch. `render()` gives each template `t` (the messages of the browser's
language), `browser` (the signed-in caller, or None), `csrf_token`, `nav` and `asset()`.

Pages allow scripts, styles and images from the hub itself only: no inline script, no
inline style (charts are SVG drawn with presentation attributes, which the policy does
not govern), no CDN. Assets are served from `static/app/` under /static/app/, each URL
carrying a digest of its content so that a changed file is fetched again.
"""

import hashlib
from collections.abc import Mapping
from datetime import UTC, datetime
from functools import cache
from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse
from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from service.web.i18n import LANGUAGE_NAMES, LANGUAGES, language_of, translator
from service.web.sessions import Browser

TEMPLATES_DIR = Path(__file__).parent / "templates"
STATIC_APP_DIR = Path(__file__).parent / "static" / "app"
ASSET_PREFIX = "/static/app"
PAGE_POLICY = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
)

# Navigation entries per role, added by the areas (service.web.pages): (message key, path).
NavEntry = tuple[str, str]


@cache
def environment() -> Environment:
    """The one Jinja2 environment: autoescaped, and an unknown name is an error, not ''."""
    env = Environment(
        loader=FileSystemLoader(TEMPLATES_DIR),
        autoescape=select_autoescape(default=True),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.globals.update(asset=asset, languages=LANGUAGES, language_names=LANGUAGE_NAMES)
    env.filters.update(when=when, number=number, share=share)
    return env


@cache
def asset(path: str) -> str:
    """The URL of a file in static/app/, with a digest of its content for cache busting."""
    digest = hashlib.sha256((STATIC_APP_DIR / path).read_bytes()).hexdigest()[:12]
    return f"{ASSET_PREFIX}/{path}?v={digest}"


def when(moment: datetime | None) -> str:
    """A time as people read it, in UTC: 2026-12-08 09:00 UTC ('' for none)."""
    if moment is None:
        return ""
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")


def number(value: int | float | None, digits: int = 0) -> str:
    """A number with thin grouping (1 234 567) that reads alike in English and Dutch."""
    if value is None:
        return ""
    text = f"{value:,.{digits}f}" if digits else f"{round(value):,}"
    return text.replace(",", "\u202f")


def share(value: float | None) -> str:
    """A fraction as a percentage with one decimal: 0.9731 -> 97.3%."""
    return "" if value is None else f"{value * 100:.1f}%"


def render(
    request: Request,
    template: str,
    context: Mapping[str, Any] | None = None,
    *,
    browser: Browser | None = None,
    status: int = 200,
    nav: list[NavEntry] | None = None,
) -> HTMLResponse:
    """A page: the template with the common context, answered under the pages' policy."""
    language = language_of(request)
    page = (
        environment()
        .get_template(template)
        .render(
            {
                "t": translator(language),
                "lang": language,
                "browser": browser,
                "csrf_token": browser.csrf_token if browser else "",
                "nav": nav if nav is not None else navigation(request, browser),
                "here": request.url.path,
                "here_with_query": _here_with_query(request),
                **(context or {}),
            }
        )
    )
    return HTMLResponse(page, status_code=status, headers={"Content-Security-Policy": PAGE_POLICY})


def navigation(request: Request, browser: Browser | None) -> list[NavEntry]:
    """The top navigation for the caller's role (the areas' entries, service.web.pages)."""
    if browser is None:
        return []
    by_role: Mapping[Any, list[NavEntry]] = getattr(request.app.state, "web_nav", {})
    return list(by_role.get(browser.role, []))


def _here_with_query(request: Request) -> str:
    query = request.url.query
    return f"{request.url.path}?{query}" if query else request.url.path
