"""An area of the web pages (analyst, officer, auditor, admin): its router and its links.

Each area module makes its router with `page_router(name)` and describes itself as an
`Area`; `service.web.pages.AREAS` lists them. A page router:

- serves under /app/NAME, outside the OpenAPI document (openapi/openapi.json is the API's);
- tags its routes `web-NAME`, so their audit entries read e.g. `web-analyst-hit_page`;
- requires a signed-in browser on every route and checks the CSRF token of every POST
  (`sessions.csrf_guard`); role and project checks are each route's (`service.web.access`).
"""

from collections.abc import Mapping
from dataclasses import dataclass, field

from fastapi import APIRouter, Depends

from service.auth import Role
from service.web.rendering import NavEntry
from service.web.sessions import PAGES_PREFIX, csrf_guard


def page_router(name: str) -> APIRouter:
    """The router of area `name`: /app/NAME, signed-in browsers, CSRF-checked forms."""
    return APIRouter(
        prefix=f"{PAGES_PREFIX}/{name}",
        tags=[f"web-{name}"],
        include_in_schema=False,
        dependencies=[Depends(csrf_guard)],
    )


@dataclass(frozen=True)
class Area:
    """One area of pages.

    Attributes:
        name: Its URL part, template folder and message file name (`analyst`).
        router: Made with `page_router(name)`.
        nav: Top navigation entries per role: (message key, path).
        project_pages: Per role, the page a project links to from the home page, as a
            format string with `{project_id}`.
    """

    name: str
    router: APIRouter
    nav: Mapping[Role, tuple[NavEntry, ...]] = field(default_factory=dict)
    project_pages: Mapping[Role, str] = field(default_factory=dict)
