"""Exceptions raised by linkage.

* LinkageError
  + SchemaError        - the linkage schema is invalid or of an unsupported version
  + InputError         - an input file cannot be read (format, encoding, missing columns)
  + RecordError        - a record cannot be encoded (file line + field name; never the value)
  + BatchError         - a batch file is malformed or its metadata is inconsistent
  + HubRequestError    - the hub refused or failed a request (status, problem code, detail)
  + HubUnreachable     - the hub could not be reached (down, unreachable, too slow)
  + InsecureTransport  - plain http:// to a hub on another machine, without --insecure-http
"""


class LinkageError(Exception):
    """Base class of every error raised by `linkage`; messages never contain record values."""


class SchemaError(LinkageError):
    """The linkage schema is invalid or of an unsupported version."""


class InputError(LinkageError):
    """An input file cannot be used as a whole: not CSV, not decodable, columns missing."""


class BatchError(LinkageError):
    """A batch file is malformed, or its metadata does not match its contents."""


class InvalidValue(ValueError):
    """A single value cannot be normalised; `reason` says why without quoting the value."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason

    def __reduce__(self) -> tuple[type["InvalidValue"], tuple[str]]:
        return (type(self), (self.reason,))


class RecordError(LinkageError):
    """One record cannot be encoded. Names its line and field, never the value.

    `row` is the line of the CSV file the record starts on: the header is line 1, so the
    first record is line 2 (every message of fieldlink numbers records this way).
    """

    def __init__(self, row: int, field: str, reason: str) -> None:
        super().__init__(f"line {row}: field '{field}' {reason}")
        self.row = row
        self.field = field
        self.reason = reason

    def __reduce__(self) -> tuple[type["RecordError"], tuple[int, str, str]]:
        # Exceptions pickle their args; ours are the parts, so workers can return them.
        return (type(self), (self.row, self.field, self.reason))


class HubRequestError(LinkageError):
    """The hub answered with a problem (RFC 9457): its status, stable code and detail."""

    def __init__(self, status: int, code: str, detail: str) -> None:
        super().__init__(f"hub answered {status} {code}: {detail}")
        self.status = status
        self.code = code
        self.detail = detail

    def __reduce__(self) -> tuple[type["HubRequestError"], tuple[int, str, str]]:
        return (type(self), (self.status, self.code, self.detail))


class HubUnreachable(LinkageError):
    """The hub could not be reached: refused, unresolvable, or too slow to answer."""


class InsecureTransport(LinkageError):
    """A hub address on another machine over plain http://: the token would cross in clear."""
