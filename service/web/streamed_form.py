"""A file form read as it streams in: the CSRF field first, then the file's bytes, never on disk.

Starlette's form parser (`request.form()`, which `sessions.csrf_guard` uses) keeps an
uploaded file in a temporary file, in plain on disk past 1 MiB; the hub never holds a batch
in plain (service.spool). So a form that carries a batch file is read here, part by part,
as it arrives: its first part must be the session's CSRF token, checked before a byte of
the file is taken (the same check as `csrf_guard`'s), its second part the file, whose
bytes are handed on as a stream (`StreamedForm.file`). `as_body` makes that stream the
body of a request the API's own upload route can read, so the page's upload goes through
exactly the API's path: its spool (sealed as it arrives), its size limit, its checks.
"""

from collections import deque
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

from python_multipart.exceptions import FormParserError
from python_multipart.multipart import MultipartParser, parse_options_header
from starlette.requests import Request
from starlette.types import Message, Receive

from service.errors import InvalidInput
from service.web.sessions import CSRF_FIELD, CsrfRefused, csrf_matches

_FIELD_BYTES = 200  # a CSRF token is 64 hex digits


class FormUnreadable(InvalidInput):
    """The form is not the page's: not multipart, parts missing or out of order (422)."""


@dataclass(slots=True)
class _Part:
    """A part's headers as they arrive; `name` and `filename` once they are complete."""

    header: bytearray = field(default_factory=bytearray)
    value: bytearray = field(default_factory=bytearray)
    disposition: bytes = b""
    name: str = ""
    filename: str | None = None


class StreamedForm:
    """A multipart/form-data request body, read one part at a time as it arrives."""

    def __init__(self, request: Request) -> None:
        kind, options = parse_options_header(request.headers.get("content-type", ""))
        boundary = options.get(b"boundary")
        if kind != b"multipart/form-data" or not boundary:
            raise FormUnreadable("the form was not sent as multipart/form-data")
        self._request = request
        self._chunks = request.stream()
        self._events: deque[tuple[str, _Part | bytes | None]] = deque()
        self._part = _Part()
        self._finished = False
        self._parser = MultipartParser(
            boundary,
            {
                "on_part_begin": self._begin,
                "on_header_field": self._header_field,
                "on_header_value": self._header_value,
                "on_header_end": self._header_end,
                "on_headers_finished": self._headers_finished,
                "on_part_data": self._data,
                "on_part_end": self._end,
            },
        )

    async def check_csrf(self) -> None:
        """Read the first part: it must be this session's CSRF token (403 otherwise)."""
        part = await self._next_part()
        if part is None or part.name != CSRF_FIELD or part.filename is not None:
            raise CsrfRefused()
        value = bytearray()
        async for chunk in self._part_data():
            value += chunk
            if len(value) > _FIELD_BYTES:
                raise CsrfRefused()
        session_id = getattr(self._request.state, "web_session_id", None)
        if not csrf_matches(session_id, value.decode("ascii", "replace")):
            raise CsrfRefused()

    async def file(self, name: str) -> tuple[str, AsyncIterator[bytes]]:
        """The next part, which must be the file input `name`: its file name and its bytes.

        Raises:
            FormUnreadable: The next part is not that file, or no file was chosen.
        """
        part = await self._next_part()
        if part is None or part.name != name or part.filename is None:
            raise FormUnreadable(f"the form's part {name!r} (a file) is missing")
        if not part.filename:
            raise FormUnreadable("no file was chosen")
        return part.filename, self._part_data()

    async def _next_part(self) -> _Part | None:
        while True:
            event = await self._next_event()
            if event is None:
                return None
            kind, value = event
            if kind == "headers" and isinstance(value, _Part):
                return value
            # Anything else is the rest of a part nobody asked for.

    async def _part_data(self) -> AsyncIterator[bytes]:
        while True:
            event = await self._next_event()
            if event is None:
                raise FormUnreadable("the form ended inside a part")
            kind, value = event
            if kind == "end":
                return
            if kind == "data" and isinstance(value, bytes) and value:
                yield value

    async def _next_event(self) -> tuple[str, _Part | bytes | None] | None:
        while not self._events:
            if self._finished:
                return None
            try:
                chunk = await anext(self._chunks)
            except StopAsyncIteration:
                self._finished = True
                self._feed(None)
                continue
            self._feed(chunk)
        return self._events.popleft()

    def _feed(self, chunk: bytes | None) -> None:
        try:
            if chunk is None:
                self._parser.finalize()
            elif chunk:
                self._parser.write(chunk)
        except FormParserError as err:
            raise FormUnreadable("the form could not be read") from err

    # The parser's callbacks: they only queue what arrived.

    def _begin(self) -> None:
        self._part = _Part()

    def _header_field(self, data: bytes, start: int, end: int) -> None:
        self._part.header += data[start:end]

    def _header_value(self, data: bytes, start: int, end: int) -> None:
        self._part.value += data[start:end]

    def _header_end(self) -> None:
        if bytes(self._part.header).lower() == b"content-disposition":
            self._part.disposition = bytes(self._part.value)
        self._part.header.clear()
        self._part.value.clear()

    def _headers_finished(self) -> None:
        _, options = parse_options_header(self._part.disposition)
        self._part.name = options.get(b"name", b"").decode("utf-8", "replace")
        filename = options.get(b"filename")
        self._part.filename = None if filename is None else filename.decode("utf-8", "replace")
        self._events.append(("headers", self._part))

    def _data(self, data: bytes, start: int, end: int) -> None:
        self._events.append(("data", bytes(data[start:end])))

    def _end(self) -> None:
        self._events.append(("end", None))


def as_body(request: Request, chunks: AsyncIterator[bytes], media_type: str) -> Request:
    """A request like `request` whose body is `chunks`, sent as `media_type` (no length).

    It shares the original's state (the caller, the audit's record count), app and path.
    """
    headers = [
        (key, value)
        for key, value in request.scope["headers"]
        if key not in (b"content-type", b"content-length")
    ]
    headers.append((b"content-type", media_type.encode("latin-1")))
    request.scope.setdefault("state", {})  # shared, not copied: the caller, the record count
    scope = {**request.scope, "headers": headers}
    return Request(scope, receive=_receive(chunks))


def _receive(chunks: AsyncIterator[bytes]) -> Receive:
    async def receive() -> Message:
        try:
            chunk = await anext(chunks)
        except StopAsyncIteration:
            return {"type": "http.request", "body": b"", "more_body": False}
        return {"type": "http.request", "body": chunk, "more_body": True}

    return receive
