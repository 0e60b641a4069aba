"""The hub's log format: one JSON object per line, holding ids, counts and kinds only.

Log lines leave the hub (to a collector, into a ticket), so none may carry a token, a
record value or a request's input:

- messages are the hub's own, with ids and counts only (a house rule for every logger);
- an exception is logged by its type, its causes' types and where it was raised (file,
  line, function), never by its message: messages can quote SQL parameters, file
  contents or input (the engine also hides SQL parameters, see `service.db`);
- the access log (`service.request_log`) replaces uvicorn's, which logs the full URL with
  its query string: method, route template, status, duration and request id only.

`fieldlink hub serve` hands `log_config` to uvicorn; another server takes the same
dictionary (`logging.config.dictConfig`).
"""

import json
import logging
from datetime import UTC, datetime
from pathlib import PurePath
from types import TracebackType
from typing import Any

# Structured fields a log call may pass as extra={"fields": {...}}: values the hub chose.
FIELDS_ATTRIBUTE = "fields"
_FRAMES = 12  # innermost frames of a traceback kept in a log line


class JsonFormatter(logging.Formatter):
    """One JSON object per record: time, level, logger, message, fields, exception kind."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        fields = getattr(record, FIELDS_ATTRIBUTE, None)
        if isinstance(fields, dict):
            line.update(fields)
        if record.exc_info and record.exc_info[1] is not None:
            line.update(exception_fields(record.exc_info[1]))
        return json.dumps(line, default=str, ensure_ascii=False)


def exception_fields(exc: BaseException) -> dict[str, Any]:
    """What a log line says of an exception: its type, its causes' types, where it was raised."""
    causes: list[str] = []
    cause = exc.__cause__ or exc.__context__
    while cause is not None and len(causes) < 5:
        causes.append(type(cause).__name__)
        cause = cause.__cause__ or cause.__context__
    fields: dict[str, Any] = {"exception": type(exc).__name__, "frames": _frames(exc.__traceback__)}
    if causes:
        fields["causes"] = causes
    return fields


def _frames(traceback: TracebackType | None) -> list[str]:
    frames = []
    while traceback is not None:
        code = traceback.tb_frame.f_code
        frames.append(f"{_short(code.co_filename)}:{traceback.tb_lineno} {code.co_name}")
        traceback = traceback.tb_next
    return frames[-_FRAMES:]


def _short(filename: str) -> str:
    # The path from the package on (service/routes/hits.py), not the install location.
    parts = PurePath(filename).parts
    for anchor in ("service", "linkage", "keys", "site-packages"):
        if anchor in parts:
            return "/".join(parts[parts.index(anchor) + (anchor == "site-packages") :])
    return PurePath(filename).name


def log_config(level: str) -> dict[str, Any]:
    """A `logging.config.dictConfig` for the hub: JSON lines on stderr, no uvicorn access log."""
    handler = {"class": "logging.StreamHandler", "formatter": "json", "stream": "ext://sys.stderr"}
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"json": {"()": f"{__name__}.JsonFormatter"}},
        "handlers": {"stderr": handler},
        "loggers": {
            "uvicorn": {"handlers": ["stderr"], "level": level, "propagate": False},
            "uvicorn.error": {"level": level},
            # Replaced by service.request_log: uvicorn's line holds the query string.
            "uvicorn.access": {"handlers": [], "level": "CRITICAL", "propagate": False},
            "service": {"handlers": ["stderr"], "level": level, "propagate": False},
        },
        "root": {"handlers": ["stderr"], "level": "WARNING"},
    }
