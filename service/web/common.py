"""The pages every role shares: sign-in, sign-out, the home page, the language switch.

Signing in takes the principal's API token once (a password field, posted over the form
with the sign-in CSRF token) and opens a session (service.web.sessions). A wrong token is
answered 401 like a wrong bearer token, so the hub's failed-authentication backoff
(service.limits) counts sign-in attempts too. Nothing here stores or shows the token.
"""

from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request, Response
from fastapi.responses import RedirectResponse

from service import store
from service.auth import Principal, Role, hash_token
from service.config import Settings
from service.deps import SessionDep, SettingsDep
from service.models import utcnow
from service.web.i18n import LANGUAGE_COOKIE, LANGUAGES
from service.web.page_errors import SIGN_IN_PATH, safe_next
from service.web.rendering import render
from service.web.sessions import (
    PAGES_PREFIX,
    SESSION_COOKIE,
    SIGN_IN_COOKIE,
    BrowserDep,
    CsrfRefused,
    clear_cookie,
    csrf_guard,
    csrf_matches,
    csrf_token_for,
    end_session,
    new_secret,
    open_session,
    set_cookie,
)

router = APIRouter(prefix=PAGES_PREFIX, tags=["web"], include_in_schema=False)
_LANGUAGE_SECONDS = 365 * 24 * 3600
_TOKEN_CHARS = 200  # tokens are 43 characters; anything much longer is not one


@router.get("")
def home(request: Request, browser: BrowserDep, session: SessionDep) -> Response:
    """The caller's projects, each linking to the pages of the caller's role."""
    projects = store.list_visible_projects(session, browser.principal)
    pages: dict[Role, list[tuple[str, str]]] = getattr(request.app.state, "web_project_pages", {})
    links = [
        (
            project,
            [
                (area, page.format(project_id=project.id))
                for area, page in pages.get(browser.role, [])
            ],
        )
        for project in projects
    ]
    return render(request, "home.html", {"projects": links, "now": utcnow()}, browser=browser)


@router.get("/sign-in")
def sign_in_page(request: Request, reason: str = "", next: str = PAGES_PREFIX) -> Response:
    """The sign-in form (and why the browser was sent here: signed out, session ended)."""
    return _sign_in_form(request, reason=reason if reason in _REASONS else "", target=next)


_REASONS = ("required", "ended", "signed_out")


def _sign_in_form(
    request: Request, *, reason: str = "", target: str = PAGES_PREFIX, failed: bool = False
) -> Response:
    secret = request.cookies.get(SIGN_IN_COOKIE) or new_secret()
    settings: Settings = request.app.state.settings
    context = {
        "idle_minutes": settings.web_session_idle_minutes,
        "session_hours": settings.web_session_hours,
        "reason": reason,
        "failed": failed,
        "target": safe_next(target),
        "sign_in_token": csrf_token_for(secret),
    }
    response = render(request, "sign_in.html", context, status=401 if failed else 200, nav=[])
    set_cookie(request, response, SIGN_IN_COOKIE, secret)
    return response


@router.post("/sign-in")
def sign_in(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    token: Annotated[str, Form(max_length=_TOKEN_CHARS)] = "",
    csrf_token: Annotated[str, Form(max_length=100)] = "",
    target: Annotated[str, Form(alias="next", max_length=2000)] = PAGES_PREFIX,
) -> Response:
    """Open a session for the principal whose live token this is; 401 and the form again if none."""
    if not csrf_matches(request.cookies.get(SIGN_IN_COOKIE), csrf_token):
        raise CsrfRefused()
    found = store.find_principal_by_token_hash(session, hash_token(token.strip()), now=utcnow())
    if found is None or found[0].pending_activation:  # service.activation: not yet, here too
        return _sign_in_form(request, target=target, failed=True)
    owner, token_id = found
    end_session(session, request.cookies.get(SESSION_COOKIE))  # never two over one cookie
    session_id = open_session(session, owner, token_id, settings)
    session.commit()
    request.state.principal = Principal(owner.id, owner.agency_id, owner.role, token_id)
    response = RedirectResponse(safe_next(target), status_code=303)
    set_cookie(request, response, SESSION_COOKIE, session_id)
    clear_cookie(request, response, SIGN_IN_COOKIE)
    return response


@router.post("/sign-out", dependencies=[Depends(csrf_guard)])
def sign_out(request: Request, browser: BrowserDep, session: SessionDep) -> Response:
    """End this browser's session; the token itself stays valid for the command line."""
    end_session(session, request.cookies.get(SESSION_COOKIE))
    session.commit()
    response = RedirectResponse(f"{SIGN_IN_PATH}?reason=signed_out", status_code=303)
    clear_cookie(request, response, SESSION_COOKIE)
    return response


@router.get("/language")
def choose_language(request: Request, lang: str = "", next: str = PAGES_PREFIX) -> Response:
    """Remember the chosen language (a cookie) and go back to the page it was chosen on."""
    response = RedirectResponse(safe_next(next), status_code=303)
    if lang in LANGUAGES:
        response.set_cookie(
            LANGUAGE_COOKIE,
            lang,
            max_age=_LANGUAGE_SECONDS,
            path=PAGES_PREFIX,
            httponly=True,
            samesite="strict",
            secure=request.url.scheme == "https",
        )
    return response
