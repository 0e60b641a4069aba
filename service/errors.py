"""Errors the hub reports, all as RFC 9457 application/problem+json.

* HubError            500 internal-error
  + Unauthenticated   401 unauthenticated  - missing, unknown, revoked or expired token
  + InvalidEnrolmentCode 401 invalid-enrolment-code - unknown, used or expired enrolment code
  + AccessDenied      403 access-denied    - authenticated, but the role may not do this
    + PrincipalNotActivated 403 principal-not-activated - enrolled, awaiting a second person
  + NotFound          404 not-found        - absent, or not visible to the caller (same answer)
  + Conflict          409 conflict         - the request clashes with existing state
    + MixedKeyEpochs  409 mixed-key-epochs - a run over uploads encoded under different secrets
  + ProjectExpired    410 project-expired  - past its expiry: read-only, for auditors only
  + PayloadTooLarge   413 payload-too-large      - the upload exceeds max_upload_bytes
  + UnsupportedMediaType 415 unsupported-media-type - the body is not of an accepted type
  + RateLimited       429 rate-limited     - too many requests (Retry-After says when to retry)
    + RunQueueFull    429 run-queue-full   - the project has max_active_runs_per_project runs
  + InvalidInput      422 invalid-input    - well-formed, but refers to something impossible
    + InvalidBatch    422 invalid-batch    - not a readable batch file, or one without records
      - AgencyMismatch      422 agency-mismatch      - batch labelled with another agency
      - SchemaMismatch      422 schema-mismatch      - other schema fingerprint than the project's
      - KeyMismatch         422 key-mismatch         - other key check value than the project's
      - FilterBitsMismatch  422 filter-bits-mismatch - other filter length than earlier uploads
      - DuplicateReferences 422 duplicate-references - a reference repeats one already uploaded
      - ProbingRefused      422 probing-refused      - a probing control refused the batch:
        - UnsaltedEncodings   422 unsalted-encodings     - no salt families; the project wants them
        - UploadBudgetExceeded 422 upload-budget-exceeded - the agency's record budget is spent
        - AbnormalFill        422 abnormal-fill          - many records set very few bits
        - NearDuplicateFlood  422 near-duplicate-flood   - many records have a near-duplicate
  + Unavailable       503 unavailable      - a dependency (the database) does not answer
"""

import logging
from http import HTTPStatus
from typing import Any, ClassVar

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from starlette.exceptions import HTTPException as StarletteHTTPException

from service.validation_errors import field_errors

logger = logging.getLogger(__name__)


class HubError(Exception):
    """An error reported to the caller as application/problem+json."""

    status: ClassVar[int] = 500
    code: ClassVar[str] = "internal-error"
    title: ClassVar[str] = "Internal server error"

    def __init__(self, detail: str | None = None) -> None:
        super().__init__(detail or self.title)
        self.detail = detail


class Unauthenticated(HubError):
    status = 401
    code = "unauthenticated"
    title = "Missing or invalid bearer token"


class InvalidEnrolmentCode(HubError):
    """The same answer for an unknown, used or expired code, and a disabled principal's."""

    status = 401
    code = "invalid-enrolment-code"
    title = "The enrolment code is not valid"


class AccessDenied(HubError):
    status = 403
    code = "access-denied"
    title = "Your role does not allow this"


class PrincipalNotActivated(AccessDenied):
    """The token is live, but its principal awaits activation by a second person.

    Only the token's holder sees this answer (service.activation).
    """

    code = "principal-not-activated"
    title = "This principal is not activated yet"


class NotFound(HubError):
    status = 404
    code = "not-found"
    title = "Not found"


class Conflict(HubError):
    status = 409
    code = "conflict"
    title = "Conflicts with existing state"


class MixedKeyEpochs(Conflict):
    """The uploads were encoded under different epochs' secrets.

    `detail` names the agencies still to re-encode (agency names are public).
    """

    code = "mixed-key-epochs"
    title = "The uploads were encoded with different epochs' secrets"


class ProjectExpired(HubError):
    """The project's expiry has passed: no data is served or changed any more.

    Auditors may still read what is left; the purge (service.purge) then deletes the data.
    """

    status = 410
    code = "project-expired"
    title = "The project has expired"


class InvalidInput(HubError):
    status = 422
    code = "invalid-input"
    title = "The request cannot be carried out as given"


class PayloadTooLarge(HubError):
    status = 413
    code = "payload-too-large"
    title = "The request body is larger than this hub accepts"


class UnsupportedMediaType(HubError):
    status = 415
    code = "unsupported-media-type"
    title = "The request body is not of a type this endpoint accepts"


class RateLimited(HubError):
    """Too many requests from one address or principal; `retry_after_s` goes in Retry-After."""

    status = 429
    code = "rate-limited"
    title = "Too many requests"

    def __init__(self, detail: str | None = None, *, retry_after_s: int = 1) -> None:
        super().__init__(detail)
        self.retry_after_s = retry_after_s


class RunQueueFull(RateLimited):
    code = "run-queue-full"
    title = "The project has as many runs queued or running as the hub allows"


class InvalidBatch(InvalidInput):
    """A batch upload was refused; `detail` names the check, never a reference or filter."""

    code = "invalid-batch"
    title = "The batch file cannot be accepted"


class AgencyMismatch(InvalidBatch):
    code = "agency-mismatch"
    title = "The batch is labelled with another agency than the caller's"


class SchemaMismatch(InvalidBatch):
    code = "schema-mismatch"
    title = "The batch was encoded with another linkage schema than the project's"


class KeyMismatch(InvalidBatch):
    code = "key-mismatch"
    title = "The batch was encoded with another linkage secret than the project's"


class FilterBitsMismatch(InvalidBatch):
    code = "filter-bits-mismatch"
    title = "The batch's filter length differs from the project's other uploads"


class DuplicateReferences(InvalidBatch):
    code = "duplicate-references"
    title = "The batch repeats a reference the agency already uploaded to this project"


class ProbingRefused(InvalidBatch):
    """A probing control (`service.probing`) refused the batch; `detail` gives the figure.

    `records` is the refused batch's record count, for the audit entry.
    """

    code = "probing-refused"
    title = "The batch looks like a probe of other agencies' data"

    def __init__(self, detail: str | None = None, *, records: int | None = None) -> None:
        super().__init__(detail)
        self.records = records


class UnsaltedEncodings(ProbingRefused):
    code = "unsalted-encodings"
    title = "The project accepts salted encodings only"


class UploadBudgetExceeded(ProbingRefused):
    code = "upload-budget-exceeded"
    title = "The batch exceeds the agency's upload budget in this project"


class AbnormalFill(ProbingRefused):
    code = "abnormal-fill"
    title = "Too many records of the batch set very few bits"


class NearDuplicateFlood(ProbingRefused):
    code = "near-duplicate-flood"
    title = "Too many records of the batch have a near-duplicate in it"


class Unavailable(HubError):
    status = 503
    code = "unavailable"
    title = "Service unavailable"


class FieldError(BaseModel):
    """One failed check on the request: where it is and what is wrong, never the value."""

    loc: list[str]
    msg: str


class Problem(BaseModel):
    """RFC 9457 problem details; the body of every 4xx/5xx response."""

    type: str = "about:blank"
    title: str
    status: int
    code: str
    detail: str | None = None
    errors: list[FieldError] | None = None


def to_problem(exc: Exception) -> Problem:
    """Translate any exception into the problem the caller sees."""
    if isinstance(exc, HubError):
        return Problem(status=exc.status, code=exc.code, title=exc.title, detail=exc.detail)
    if isinstance(exc, RequestValidationError):
        # pydantic's messages, e["input"] and e["ctx"] may quote the value (PII, a secret):
        # only the location and the kind of error leave the server (service.validation_errors).
        errors = [FieldError(loc=loc, msg=msg) for loc, msg in field_errors(exc.errors())]
        return Problem(
            status=422, code="invalid-request", title="Request failed validation", errors=errors
        )
    if isinstance(exc, StarletteHTTPException):  # routing 404/405 and friends
        return Problem(status=exc.status_code, code="http-error", title=str(exc.detail))
    logger.error("unhandled %s", type(exc).__name__)  # the type only: messages may hold data
    return Problem(status=500, code="internal-error", title="Internal server error")


async def problem_handler(request: Request, exc: Exception) -> JSONResponse:
    """Render every error as application/problem+json."""
    problem = to_problem(exc)
    headers = {"WWW-Authenticate": "Bearer"} if problem.status == 401 else {}
    if isinstance(exc, RateLimited):
        headers["Retry-After"] = str(exc.retry_after_s)
    return JSONResponse(
        problem.model_dump(exclude_none=True),
        status_code=problem.status,
        media_type="application/problem+json",
        headers=headers,
    )


def install_error_handlers(app: FastAPI) -> None:
    """Route every exception type the app can raise to problem_handler."""
    for exc_type in (HubError, RequestValidationError, StarletteHTTPException, Exception):
        app.add_exception_handler(exc_type, problem_handler)


def problem_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """`responses=` for a route, so the spec documents its problem answers."""
    return {
        status: {
            "model": Problem,
            "description": HTTPStatus(status).phrase,
            "content": {
                "application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}
            },
        }
        for status in statuses
    }
