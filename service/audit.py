"""The audit log's request side: every /v1 request appends one chain entry before its answer.

A pure ASGI middleware (uploads are streamed, so nothing may buffer bodies). When the
status is known, at `http.response.start` or when the app raises, it builds the entry from
the matched route, the caller that `deps.get_principal` put on the request state, and the
record count a route put in `request.state.audit_records`; it then waits until the audit
writer has committed the entry, and only then lets the answer go out. If the entry cannot
be stored the caller gets a 503 instead of the answer: no data leaves unaudited.

The web pages under /app (service.web) are audited the same way: each page view and form
post is one entry, with the principal and token of its browser session (service.web.sessions
puts the caller on the request state as `deps.get_principal` does).

Not audited: /v1/health and /v1/ready (unauthenticated probes that touch no data; an
orchestrator calls them every few seconds, which would bury the accesses auditors look for,
and readiness must not depend on the log), and everything else outside /v1 and /app
(/metrics, /docs, the static assets).
"""

import asyncio
import json
import logging
import uuid
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import Any

from fastapi import FastAPI, Request
from fastapi.routing import APIRoute
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from service.audit_writer import AuditWriter
from service.auth import Principal
from service.errors import Unavailable, to_problem
from service.models import utcnow
from service.request_ids import REQUEST_ID_HEADER, is_request_id, request_id_of
from service.store.audit import EntryDraft

logger = logging.getLogger(__name__)

_AUDITED_PREFIX = "/v1/"
_PAGES = "/app"  # the web pages (service.web.pages.PAGES_PREFIX)
_NOT_AUDITED = frozenset({"/v1/health", "/v1/ready"})
_ACTION_CHARS, _RESOURCE_CHARS = 120, 200  # the columns' sizes
_SUBJECT = "audit_subject"  # request.state: the run and hits a request acted on (note_subject)


class AuditMiddleware:
    """Appends one audit entry per /v1 request and echoes its X-Request-ID."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not _is_audited(scope["path"]):
            await self.app(scope, receive, send)
            return
        exchange = _Exchange(scope, send)
        try:
            await self.app(scope, receive, exchange.send)
        except Exception:
            await exchange.record_crash()
            raise


class _Exchange:
    """One request on its way out: appends its entry when the status is known."""

    def __init__(self, scope: Scope, send: Send) -> None:
        self.scope = scope
        self.downstream = send
        self.request_id = _request_id(scope)
        scope.setdefault("state", {})["request_id"] = self.request_id
        self.recorded = False
        self.refused = False  # the entry failed: the app's answer is replaced and dropped

    async def send(self, message: Message) -> None:
        if message["type"] == "http.response.start":
            try:
                await self._record(int(message["status"]))
            except Exception:
                self.refused = True
                await self._send_unavailable()
                return
            message = {**message, "headers": [*message.get("headers", []), self._header()]}
        elif self.refused:
            return
        await self.downstream(message)

    async def record_crash(self) -> None:
        """The app raised before answering: record the 500 the error handler will send."""
        if self.recorded:
            return
        try:
            await self._record(500)
        except Exception as err:  # the app's own exception is what propagates
            logger.error("audit entry for a failed request was lost: %s", type(err).__name__)

    async def _record(self, status: int) -> None:
        self.recorded = True
        writer: AuditWriter = self.scope["app"].state.audit_writer
        await asyncio.wrap_future(writer.append(_draft(self.scope, status, self.request_id)))

    async def _send_unavailable(self) -> None:
        problem = to_problem(Unavailable("the audit log cannot record this request"))
        body = json.dumps(problem.model_dump(exclude_none=True)).encode()
        headers = [
            (b"content-type", b"application/problem+json"),
            (b"content-length", str(len(body)).encode()),
            self._header(),
        ]
        await self.downstream({"type": "http.response.start", "status": 503, "headers": headers})
        await self.downstream({"type": "http.response.body", "body": body})

    def _header(self) -> tuple[bytes, bytes]:
        return REQUEST_ID_HEADER.encode(), self.request_id.encode()


def install_audit(app: FastAPI) -> None:
    """Audit every /v1 request of this app (the writer starts with `audit_writer`)."""
    app.add_middleware(AuditMiddleware)


@contextmanager
def audit_writer(app: FastAPI) -> Iterator[AuditWriter]:
    """Run the app's audit writer for the lifespan; needs app.state.hub_keys loaded.

    The writer opens its sessions with app.state.sessions (the app's engine; tests that
    wrap each test in one transaction put their own session factory there).
    """
    writer = AuditWriter(
        app.state.sessions,
        app.state.hub_keys,
        checkpoint_every=app.state.settings.audit_checkpoint_every,
    )
    writer.start()
    app.state.audit_writer = writer
    try:
        yield writer
    finally:
        writer.close()


def _is_audited(path: str) -> bool:
    if path == _PAGES or path.startswith(_PAGES + "/"):
        return True
    return path.startswith(_AUDITED_PREFIX) and path.rstrip("/") not in _NOT_AUDITED


def _request_id(scope: Scope) -> str:
    # The access log (service.request_log, outside this middleware) has chosen it already.
    chosen = scope.get("state", {}).get("request_id")
    if isinstance(chosen, str) and is_request_id(chosen):
        return chosen
    return request_id_of(scope.get("headers", []))


def _draft(scope: Scope, status: int, request_id: str) -> EntryDraft:
    state: dict[str, Any] = scope.get("state", {})
    principal = state.get("principal")
    caller = principal if isinstance(principal, Principal) else None
    route = _matched_route(scope)
    params: dict[str, Any] = scope.get("path_params", {}) if route else {}
    return EntryDraft(
        at=utcnow(),
        request_id=request_id,
        principal_id=caller.principal_id if caller else None,
        agency_id=caller.agency_id if caller else None,
        role=caller.role.value if caller else None,
        action=_action(scope, route)[:_ACTION_CHARS] if route else "unmatched",
        method=str(scope["method"])[:10],
        project_id=_as_uuid(params.get("project_id")),
        resource=_resource(scope, route, params) if route else None,
        outcome=status,
        records=_records(state.get("audit_records")),
        token_id=caller.token_id if caller else None,
    )


def _matched_route(scope: Scope) -> APIRoute | None:
    # Starlette also sets scope["route"] on a path match with the wrong method (405).
    route = scope.get("route")
    if isinstance(route, APIRoute) and scope["method"] in (route.methods or ()):
        return route
    return None


def _action(scope: Scope, route: APIRoute) -> str:
    # The operation id as the app generates it (service.main.operation_id): the route in
    # the scope is the one declared in its router, whose own unique_id uses FastAPI's default.
    generate = getattr(scope["app"].router, "generate_unique_id_function", None)
    return str(generate(route)) if callable(generate) else route.unique_id


def _resource(scope: Scope, route: APIRoute, params: dict[str, Any]) -> str:
    # The full path template (router prefixes included) with the ids filled in. Any other
    # path value (a typo, a name) stays a placeholder: no free text from the URL is logged.
    resource = _template(str(scope["path"]), route)
    for name, value in params.items():
        identifier = _as_uuid(value) or (value if _is_number(value) else None)
        if identifier is not None:
            resource = resource.replace("{" + name + "}", str(identifier))
    return _with_subject(resource, scope.get("state", {}).get(_SUBJECT))


def note_subject(request: Request, *, run_id: uuid.UUID | None, hits: Iterable[int]) -> None:
    """Name in the request's audit entry the run and hits it acted on, where the path does not.

    Shortlisting a hit or releasing envelopes names them in the body; the entry's resource
    then ends in `?run=<id>&hit=12` or (the run in the path) `?hits=1-3,7`: ids and
    integers, never text from the request.
    """
    numbers = sorted(set(hits))
    key = "hit" if len(numbers) == 1 else "hits"
    run = f"run={run_id}&" if run_id is not None else ""
    request.state.audit_subject = f"{run}{key}={_ranges(numbers)}"


def _with_subject(resource: str, subject: Any) -> str:
    if not isinstance(subject, str) or not subject:
        return resource[:_RESOURCE_CHARS]
    full = f"{resource}?{subject}"
    if len(full) <= _RESOURCE_CHARS:
        return full
    cut = full[: _RESOURCE_CHARS - 4]  # a long list of hits: whole numbers, then ",..."
    return cut[: cut.rfind(",")] + ",..." if "," in cut else cut


def _ranges(numbers: list[int]) -> str:
    runs: list[list[int]] = []
    for number in numbers:
        if runs and number == runs[-1][-1] + 1:
            runs[-1].append(number)
        else:
            runs.append([number])
    return ",".join(str(run[0]) if len(run) == 1 else f"{run[0]}-{run[-1]}" for run in runs)


def _template(path: str, route: APIRoute) -> str:
    # The route knows its path below the prefixes it was included under (/v1, ...); those
    # prefixes are the part of the request path in front of what the route matches.
    for cut in (index for index, char in enumerate(path) if char == "/"):
        if route.path_regex.match(path[cut:]):
            return path[:cut] + route.path_format
    return route.path_format


def _as_uuid(value: Any) -> uuid.UUID | None:
    if isinstance(value, uuid.UUID):
        return value
    try:
        return uuid.UUID(str(value)) if isinstance(value, str) and len(value) <= 36 else None
    except ValueError:
        return None


def _is_number(value: Any) -> bool:
    return isinstance(value, str) and value.isascii() and value.isdigit() and len(value) <= 20


def _records(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None
