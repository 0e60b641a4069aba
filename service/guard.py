"""The hub's door: rate limits first, then the caller, then the body, only then the route.

Two pure ASGI middlewares (streamed uploads must stay streamed):

* `Throttle`, outside the audit middleware: refuses with 429 an address that is over its
  rate or in failed-authentication backoff (`service.limits`), and counts every 401 it
  lets out as a failed authentication of that address. Its refusals are not audited (a
  flood must not fill the audit log); `/metrics` counts them.
* `BodyGate`, inside the audit middleware, so its refusals are audited like a route's:
  refuses NUL characters in the path or query string (PostgreSQL text cannot hold them);
  and for routes that read a JSON body, which FastAPI reads into memory before it solves
  any dependency, it checks the bearer token *before* reading a byte (an anonymous caller
  cannot make the hub read anything), refuses bodies over `max_json_bytes` (declared or
  streamed), and refuses NUL characters in the JSON's strings, naming where they are.
"""

import json
from collections.abc import Iterator
from typing import Any

import anyio.to_thread
from fastapi import FastAPI
from fastapi.dependencies.models import Dependant
from fastapi.exceptions import RequestValidationError
from fastapi.routing import APIRoute
from starlette.datastructures import Headers
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from service import store
from service.auth import hash_token
from service.deps import get_principal
from service.errors import HubError, PayloadTooLarge, RateLimited, Unauthenticated, problem_handler
from service.limits import Limits, retry_after
from service.models import utcnow

_NUL_MESSAGE = "must not contain NUL characters"
_JSON_NUL = b"\\u0000"


class Throttle:
    """Per-address rate limit and failed-authentication backoff (service.limits)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limits: Limits = scope["app"].state.limits
        address = client_address(scope)
        wait_s = limits.address_wait_s(address)
        if wait_s > 0:
            refusal = RateLimited(
                "too many requests from this address", retry_after_s=retry_after(wait_s)
            )
            await _answer(refusal, scope, receive, send)
            return

        async def observe(message: Message) -> None:
            if message["type"] == "http.response.start" and message["status"] == 401:
                limits.backoff.failed(address)
            await send(message)

        await self.app(scope, receive, observe)


class BodyGate:
    """NUL characters refused; JSON bodies read only from live tokens and only so far."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self._needs_principal: dict[int, bool] = {}  # by id(route)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        for part, has_nul in _nul_parts(scope):
            if has_nul:
                await _answer(_nul_error([part]), scope, receive, send)
                return
        first = True

        async def gated() -> Message:
            # The first read comes after routing: FastAPI reads a JSON body before it solves
            # any dependency, so the route is known here and nothing is read yet.
            nonlocal first
            if not first:
                return await receive()
            first = False
            route = scope.get("route")
            if not isinstance(route, APIRoute) or route.body_field is None:
                return await receive()  # no JSON body: uploads stream under their own limit
            return await self._json_body(scope, receive, route)

        await self.app(scope, gated, send)

    async def _json_body(self, scope: Scope, receive: Receive, route: APIRoute) -> Message:
        app: FastAPI = scope["app"]
        limit = app.state.settings.max_json_bytes
        if self._requires_principal(route) and not await _live_token(app, scope):
            raise Refused(Unauthenticated())
        declared = Headers(scope=scope).get("content-length", "")
        if declared.isdigit() and int(declared) > limit:
            raise Refused(_too_large(limit))
        message = await _read_body(receive, limit)
        if _JSON_NUL in message.get("body", b""):
            _refuse_nul_strings(message["body"])
        return message

    def _requires_principal(self, route: APIRoute) -> bool:
        known = self._needs_principal.get(id(route))
        if known is None:
            known = self._needs_principal[id(route)] = any(
                dependant.call is get_principal for dependant in _walk(route.dependant)
            )
        return known


class Refused(HTTPException):
    """A refusal raised while the app reads the body.

    FastAPI re-raises an HTTPException met while reading a body (any other exception
    becomes a 400), so the refusal reaches `refused_handler` and is answered as `error`.
    """

    def __init__(self, error: HubError | RequestValidationError) -> None:
        super().__init__(status_code=error.status if isinstance(error, HubError) else 422)
        self.error = error


async def refused_handler(request: Request, exc: Exception) -> Response:
    """Answer a Refused with the problem it carries."""
    return await problem_handler(request, exc.error if isinstance(exc, Refused) else exc)


def install_throttle(app: FastAPI) -> None:
    """Rate limits for the whole app; add after the audit middleware (it goes outside it)."""
    app.state.limits = Limits(app.state.settings)
    app.add_middleware(Throttle)


def install_body_gate(app: FastAPI) -> None:
    """The body gate; add before the audit middleware (it goes inside it)."""
    app.add_exception_handler(Refused, refused_handler)
    app.add_middleware(BodyGate)


def client_address(scope: Scope) -> str:
    """The caller's address as the server sees it ("unknown" when the server gives none)."""
    client = scope.get("client")
    return str(client[0]) if client else "unknown"


def _nul_parts(scope: Scope) -> Iterator[tuple[str, bool]]:
    query: bytes = scope.get("query_string", b"")
    raw_path: bytes = scope.get("raw_path") or b""
    yield "path", b"%00" in raw_path or "\x00" in scope["path"]
    yield "query", b"%00" in query or b"\x00" in query


def _walk(dependant: Dependant) -> Iterator[Dependant]:
    yield dependant
    for child in dependant.dependencies:
        yield from _walk(child)


async def _live_token(app: FastAPI, scope: Scope) -> bool:
    scheme, _, token = Headers(scope=scope).get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return False
    digest = hash_token(token.strip())

    def look_up() -> bool:
        with app.state.sessions() as session:
            return store.find_principal_by_token_hash(session, digest, now=utcnow()) is not None

    return await anyio.to_thread.run_sync(look_up)


async def _read_body(receive: Receive, limit: int) -> Message:
    # The whole body as one message, or the disconnect that cut it short.
    body = bytearray()
    while True:
        message = await receive()
        if message["type"] != "http.request":
            return message
        body += message.get("body", b"")
        if len(body) > limit:
            raise Refused(_too_large(limit))
        if not message.get("more_body", False):
            return {"type": "http.request", "body": bytes(body), "more_body": False}


def _refuse_nul_strings(body: bytes) -> None:
    try:
        document = json.loads(body)
    except (ValueError, RecursionError):
        return  # not JSON (or nested past parsing): FastAPI answers that itself
    where = _nul_path(document)
    if where is not None:
        raise Refused(_nul_error(where))


def _nul_path(document: Any) -> list[str] | None:
    # The location of the first string (or key) holding a NUL, by field names and indices;
    # iterative, since a document may nest as deep as the parser allowed.
    pending: list[tuple[Any, list[str]]] = [(document, ["body"])]
    while pending:
        value, path = pending.pop()
        if isinstance(value, str) and "\x00" in value:
            return path
        if isinstance(value, dict):
            pairs: list[tuple[Any, Any]] = list(value.items())
        elif isinstance(value, list):
            pairs = list(enumerate(value))
        else:
            continue
        for key, item in pairs:
            if isinstance(key, str) and "\x00" in key:
                return path
            pending.append((item, [*path, _safe_step(key)]))
    return None


def _safe_step(key: Any) -> str:
    # A location names our own fields; anything else a caller made up is not echoed.
    text = str(key)
    return text if len(text) <= 64 and text.replace("_", "").isalnum() and text.isascii() else "*"


def _nul_error(where: list[str]) -> RequestValidationError:
    return RequestValidationError([{"loc": tuple(where), "msg": _NUL_MESSAGE, "type": "nul"}])


def _too_large(limit: int) -> PayloadTooLarge:
    return PayloadTooLarge(f"a JSON body may hold at most {limit} bytes")


async def _answer(exc: Exception, scope: Scope, receive: Receive, send: Send) -> None:
    response = await problem_handler(Request(scope, receive), exc)
    await response(scope, receive, send)
