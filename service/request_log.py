"""The access log, and the last stop of an unhandled exception.

A pure ASGI middleware around the whole app (uploads are streamed; nothing buffers). For
every HTTP request it:

- chooses the request id (`service.request_ids`) before anything else runs, so the audit
  entry and the log lines of the request carry the same one, and sends it back in
  X-Request-ID;
- logs one line when the request is done: method, route template (never the path with its
  ids, nor the query string, which may hold a token), status, duration and request id;
- contains an exception no handler took: logs its type, its causes' types and where it was
  raised, with the request id, and answers a bare 500 problem. Nothing reaches the server
  process, whose own traceback log would print the exception's message (SQL parameters,
  input).
"""

import json
import logging
import time
from typing import Any

from fastapi import FastAPI
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from service.errors import HubError, to_problem
from service.logs import FIELDS_ATTRIBUTE, exception_fields
from service.request_ids import REQUEST_ID_HEADER, request_id_of

access_logger = logging.getLogger("service.access")
logger = logging.getLogger(__name__)
_HEADER = REQUEST_ID_HEADER.encode()


class RequestLog:
    """Request id, one access-log line per request, unhandled exceptions contained."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = request_id_of(scope.get("headers", []))
        scope.setdefault("state", {})["request_id"] = request_id
        started, status = time.perf_counter(), 0

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
                headers = list(message.get("headers", []))
                if not any(name.lower() == _HEADER for name, _ in headers):
                    headers.append((_HEADER, request_id.encode()))
                message = {**message, "headers": headers}
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        except Exception as exc:
            fields = {"request_id": request_id, **exception_fields(exc)}
            logger.error("unhandled exception", extra={FIELDS_ATTRIBUTE: fields})
            if not status:  # nothing sent yet: the caller gets a bare 500
                await _internal_error(send_with_id)
        finally:
            line = {
                "request_id": request_id,
                "method": str(scope.get("method", ""))[:10],
                "route": route_template(scope),
                "status": status or 500,
                "duration_ms": round((time.perf_counter() - started) * 1000, 1),
            }
            access_logger.info("request", extra={FIELDS_ATTRIBUTE: line})


def install_request_log(app: FastAPI) -> None:
    """Put the request log around everything added so far (add it after other middleware)."""
    app.add_middleware(RequestLog)
    # Servers started without our log configuration keep their own access log; uvicorn's
    # holds full URLs with query strings, so it is silenced wherever this app runs.
    logging.getLogger("uvicorn.access").disabled = True


def route_template(scope: Scope) -> str:
    """The matched route's template with its router prefixes, e.g. /v1/projects/{project_id}.

    Unmatched paths (a typo, a probe) are logged as "unmatched": the path is the caller's.
    """
    route: Any = scope.get("route") or _plain_route(scope)
    template = getattr(route, "path_format", None)
    if not isinstance(template, str):
        return "unmatched"
    path, regex = str(scope.get("path", "")), getattr(route, "path_regex", None)
    # A route knows its path below the prefixes it was included under; the request path
    # has them in front of what the route matches.
    for cut in (index for index, char in enumerate(path) if char == "/"):
        if regex is not None and regex.match(path[cut:]):
            return path[:cut] + template
    return template


def _plain_route(scope: Scope) -> Any:
    # FastAPI puts its API routes in the scope; a plain route (/docs) or a mount (/static)
    # leaves only its endpoint there.
    endpoint = scope.get("endpoint")
    if endpoint is None:
        return None
    for route in getattr(scope.get("app"), "routes", ()):
        if getattr(route, "endpoint", None) is endpoint or getattr(route, "app", None) is endpoint:
            return route
    return None


async def _internal_error(send: Send) -> None:
    problem = to_problem(HubError())
    body = json.dumps(problem.model_dump(exclude_none=True)).encode()
    headers = [
        (b"content-type", b"application/problem+json"),
        (b"content-length", str(len(body)).encode()),
    ]
    await send({"type": "http.response.start", "status": 500, "headers": headers})
    await send({"type": "http.response.body", "body": body})
