"""Who may open a page: the API's role and project rules, applied to a signed-in browser.

The policies themselves are the API's: the role sets of `service.run_access` (or any
other tuple of roles) and `service.deps.get_accessible_project` for project access. So a
page answers exactly what the matching API call answers: 403 for a role that may not, 404
for a project that is absent or not the caller's, 410 once it expired (auditors excepted).
"""

import uuid
from collections.abc import Callable
from typing import Annotated

from fastapi import Depends

from service.auth import Role
from service.deps import SessionDep, get_accessible_project, get_visible_project
from service.errors import AccessDenied
from service.models import Project
from service.web.sessions import Browser, BrowserDep


def page_role(*roles: Role) -> Callable[[Browser], Browser]:
    """A dependency: the signed-in browser, if its role is one of these (403 otherwise)."""

    def check(browser: BrowserDep) -> Browser:
        if browser.role not in roles:
            raise AccessDenied()
        return browser

    return check


def page_project(*roles: Role) -> Callable[..., Project]:
    """A dependency: the path's project for these roles, with the API's access rule.

    The role first (403, before any lookup), then data rights in the project (404), as
    `service.run_access.project_for` does for the API.
    """

    def dependency(
        project_id: uuid.UUID,
        session: SessionDep,
        browser: Annotated[Browser, Depends(page_role(*roles))],
    ) -> Project:
        return get_accessible_project(project_id, session, browser.principal)

    return dependency


def visible_project(project_id: uuid.UUID, session: SessionDep, browser: BrowserDep) -> Project:
    """Project metadata as GET /v1/projects/{id} shows it (administrators: every project)."""
    return get_visible_project(project_id, session, browser.principal)
