"""Errors on the web pages: an HTML page in the browser's language, the API's status codes.

The app's handlers answer application/problem+json (service.errors); for paths under /app
they are wrapped to answer a page instead, with the same status: 403 for a role that may
not (or a form without its CSRF token), 404 for what is absent or not the caller's, 410
for an expired project, 422 for a value the page cannot use. A browser without a live
session is sent to the sign-in page (303), with the page it asked for to come back to.
"""

from collections.abc import Awaitable, Callable
from typing import Any, cast
from urllib.parse import urlencode

from fastapi import FastAPI, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import RedirectResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from service.errors import HubError, RateLimited
from service.web.rendering import render
from service.web.sessions import PAGES_PREFIX, SESSION_COOKIE, SignInNeeded, clear_cookie

Handler = Callable[[Request, Exception], Awaitable[Response]]
SIGN_IN_PATH = f"{PAGES_PREFIX}/sign-in"


def is_page(request: Request) -> bool:
    """Whether the request is for a web page (under /app)."""
    path = request.url.path
    return path == PAGES_PREFIX or path.startswith(PAGES_PREFIX + "/")


def install_page_errors(app: FastAPI) -> None:
    """Answer errors under /app with pages; install after service.errors' handlers."""
    for exc_type in (HubError, RequestValidationError, StarletteHTTPException, Exception):
        api_handler = cast(Handler, app.exception_handlers[exc_type])
        app.add_exception_handler(exc_type, _page_or(api_handler))
    app.add_exception_handler(SignInNeeded, sign_in_redirect)


def _page_or(api_handler: Handler) -> Handler:
    async def handle(request: Request, exc: Exception) -> Response:
        if not is_page(request):
            return await api_handler(request, exc)
        return error_page(request, exc)

    return handle


def error_page(request: Request, exc: Exception) -> Response:
    """The page for an error: its title in the browser's language, and what to do next."""
    status, code, detail = _described(exc)
    response = render(
        request,
        "error.html",
        {"status": status, "code": code, "detail": detail},
        status=status,
        nav=[],
    )
    if isinstance(exc, RateLimited):
        response.headers["Retry-After"] = str(exc.retry_after_s)
    return response


def _described(exc: Exception) -> tuple[int, str, str | None]:
    if isinstance(exc, HubError):
        # Our details name kinds, counts and states (never data); the page may show them.
        detail = exc.detail if exc.detail and exc.detail != exc.title else None
        return exc.status, exc.code, detail
    if isinstance(exc, RequestValidationError):
        return 422, "invalid-input", None
    if isinstance(exc, StarletteHTTPException):
        return exc.status_code, "not-found" if exc.status_code == 404 else "http", None
    return 500, "internal-error", None


async def sign_in_redirect(request: Request, exc: Exception) -> Response:
    """Send a browser without a live session to the sign-in page, to come back afterwards."""
    reason = exc.reason if isinstance(exc, SignInNeeded) else "required"
    query: dict[str, Any] = {"reason": reason}
    if request.method == "GET":
        query["next"] = _local(request)
    response = RedirectResponse(f"{SIGN_IN_PATH}?{urlencode(query)}", status_code=303)
    if reason == "ended":
        clear_cookie(request, response, SESSION_COOKIE)
    return response


def _local(request: Request) -> str:
    query = request.url.query
    return f"{request.url.path}?{query}" if query else request.url.path


def safe_next(target: str | None) -> str:
    """A page of this hub to go to after signing in (or switching language); /app otherwise."""
    if not target or not is_local_page(target):
        return PAGES_PREFIX
    return target


def is_local_page(target: str) -> bool:
    """Whether `target` is a path under /app on this hub (no backslash, no control character)."""
    if "\\" in target or any(ord(char) < 0x20 for char in target):
        return False
    path = target.split("?", 1)[0]
    return path == PAGES_PREFIX or path.startswith(PAGES_PREFIX + "/")
