"""The web pages' installation: every area's router, the navigation, errors as pages.

To add an area: write `service/web/NAME.py` with `router = page_router(NAME)` and
`AREA = Area(NAME, router, nav=..., project_pages=...)`, templates in `templates/NAME/`,
messages in `messages/NAME.en.json` and `NAME.nl.json`, and list it in `AREAS` below.
"""

from collections import defaultdict

from fastapi import FastAPI
from fastapi.responses import RedirectResponse

from service.auth import Role
from service.web import admin, analyst, auditor, common, officer
from service.web.areas import Area
from service.web.page_errors import install_page_errors
from service.web.rendering import NavEntry
from service.web.sessions import PAGES_PREFIX

# The areas, in the order of their navigation entries. Add yours here.
AREAS: tuple[Area, ...] = (analyst.AREA, officer.AREA, auditor.AREA, admin.AREA)

_HOME: NavEntry = ("common.nav.home", PAGES_PREFIX)


def install_pages(app: FastAPI, areas: tuple[Area, ...] = AREAS) -> None:
    """Serve the pages under /app (and send / there); after the error handlers and /static."""
    install_page_errors(app)
    app.include_router(common.router)
    nav: dict[Role, list[NavEntry]] = {role: [_HOME] for role in Role}
    project_pages: dict[Role, list[tuple[str, str]]] = defaultdict(list)
    for area in areas:
        app.include_router(area.router)
        for role, entries in area.nav.items():
            nav[role].extend(entries)
        for role, page in area.project_pages.items():
            project_pages[role].append((area.name, page))
    app.state.web_nav = nav
    app.state.web_project_pages = dict(project_pages)
    app.add_api_route("/", _to_pages, include_in_schema=False, tags=["web"])


async def _to_pages() -> RedirectResponse:
    return RedirectResponse(PAGES_PREFIX, status_code=303)
