"""Request ids: the X-Request-ID that ties an answer, its access-log line and its audit entry.

A client may choose its own id (to find its request in the log later), but the id lands in
the audit log and in every log line, so only a strict format is taken over: 8 to 64
letters, digits and hyphens (a UUID, with or without hyphens, fits). Anything else is
replaced by a fresh random id, never repaired, cut or echoed: a client cannot write text
of its choosing into the log, nor ids that would collide with short generated ones.
"""

import re
import uuid
from collections.abc import Iterable

REQUEST_ID_HEADER = "x-request-id"
_FORMAT = re.compile(r"[A-Za-z0-9-]{8,64}")
_HEADER = REQUEST_ID_HEADER.encode()


def is_request_id(value: str) -> bool:
    """Whether `value` is a request id in the accepted format."""
    return _FORMAT.fullmatch(value) is not None


def new_request_id() -> str:
    """A fresh random request id (32 hex digits)."""
    return uuid.uuid4().hex


def request_id_of(headers: Iterable[tuple[bytes, bytes]]) -> str:
    """The client's X-Request-ID when it has the accepted format, else a fresh one."""
    for name, value in headers:
        if name.lower() == _HEADER:
            candidate = value.decode("latin-1")
            return candidate if is_request_id(candidate) else new_request_id()
    return new_request_id()
