"""Browser sessions for the web pages: sign in with a token once, then a session cookie.

Signing in takes an API token (the one the principal already holds) through a form; the
hub opens a session bound to that principal and that token, and sends a random session id
in a cookie: HttpOnly, SameSite=Strict, Path=/app, Secure when the request came over TLS.
The database keeps only the id's SHA-256 digest (`models.WebSession`), like tokens. A
principal awaiting activation by a second person (service.activation) cannot sign in.

Every page request looks the session up together with its principal and token, so a
disabled principal, a revoked or expired token, an idle session (`web_session_idle_minutes`)
and an old one (`web_session_hours`) are all refused at the next request: the browser is
sent to the sign-in page. A found session puts the caller on the request state as
`deps.get_principal` does, so the audit entry of every page view names principal and token.

CSRF: every form carries a token derived from the session id (HMAC-SHA256 keyed with the
session id, which only the browser holds), checked on every POST of a signed-in page
(`csrf_guard`, installed on every area's router); the sign-in form, which has no session
yet, carries one derived from a short-lived pre-session cookie. A refusal is a 403 page.
"""

import hashlib
import hmac
import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Annotated

from fastapi import Depends, Request, Response
from sqlalchemy import ColumnElement, delete, or_, select
from sqlalchemy.orm import Session

from service.auth import Principal, Role, hash_token
from service.config import Settings
from service.deps import SessionDep, SettingsDep, charge_principal
from service.errors import AccessDenied, PayloadTooLarge, UnsupportedMediaType
from service.models import Agency, ApiToken, WebSession, utcnow
from service.models import Principal as PrincipalRow

PAGES_PREFIX = "/app"
SESSION_COOKIE = "fieldlink_session"
SIGN_IN_COOKIE = "fieldlink_sign_in"  # the sign-in form's CSRF secret, before any session
CSRF_FIELD = "csrf_token"
_CSRF_LABEL = b"fieldlink-web-csrf/1"
_TOUCH_EVERY = timedelta(seconds=30)  # last_seen_at is written at most this often


class SignInNeeded(Exception):
    """No live session: the browser is sent to the sign-in page (`reason` says why)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason  # "required" (never signed in) or "ended" (expired, revoked)


class CsrfRefused(AccessDenied):
    """A form without the token of this browser's session (answered by a 403 page)."""

    code = "csrf-refused"
    title = "The form did not come from this hub's page, or it was too old"


@dataclass(frozen=True, slots=True)
class Browser:
    """A signed-in browser: its principal (as the API's), who that is, its CSRF token."""

    principal: Principal
    name: str  # the principal's name
    agency: str  # the agency's name
    csrf_token: str

    @property
    def role(self) -> Role:
        """The principal's role."""
        return self.principal.role


def new_secret() -> str:
    """A fresh 256-bit session id (or pre-session secret), URL-safe."""
    return secrets.token_urlsafe(32)


def csrf_token_for(secret: str) -> str:
    """The CSRF token of a session (or of a sign-in form), derived from its secret id."""
    return hmac.new(secret.encode(), _CSRF_LABEL, hashlib.sha256).hexdigest()


def csrf_matches(secret: str | None, submitted: object) -> bool:
    """Whether a form's token is the one of this secret (compared in constant time)."""
    if not secret or not isinstance(submitted, str):
        return False
    return hmac.compare_digest(csrf_token_for(secret), submitted)


def open_session(
    session: Session, owner: PrincipalRow, token_id: uuid.UUID, settings: Settings
) -> str:
    """Record a new session for this principal and token; its id, to send as the cookie."""
    now = utcnow()
    session_id = new_secret()
    session.execute(delete(WebSession).where(_ended(settings, now)))  # housekeeping
    session.add(
        WebSession(
            id_hash=hash_token(session_id),
            principal_id=owner.id,
            token_id=token_id,
            created_at=now,
            last_seen_at=now,
            expires_at=now + timedelta(hours=settings.web_session_hours),
        )
    )
    session.flush()
    return session_id


def end_session(session: Session, session_id: str | None) -> None:
    """Forget a session (signing out, or signing in again over an old one)."""
    if session_id:
        session.execute(delete(WebSession).where(WebSession.id_hash == hash_token(session_id)))


def _ended(settings: Settings, now: datetime) -> ColumnElement[bool]:
    idle = timedelta(minutes=settings.web_session_idle_minutes)
    return or_(WebSession.expires_at <= now, WebSession.last_seen_at <= now - idle)


def find_browser(
    session: Session, session_id: str, settings: Settings, *, now: datetime
) -> Browser | None:
    """The live session with this id: principal enabled, token live, neither expiry reached."""
    idle = timedelta(minutes=settings.web_session_idle_minutes)
    query = (
        select(WebSession, PrincipalRow, Agency.name)
        .join(PrincipalRow, PrincipalRow.id == WebSession.principal_id)
        .join(ApiToken, ApiToken.id == WebSession.token_id)
        .join(Agency, Agency.id == PrincipalRow.agency_id)
        .where(
            WebSession.id_hash == hash_token(session_id),
            WebSession.expires_at > now,
            WebSession.last_seen_at > now - idle,
            ApiToken.principal_id == PrincipalRow.id,
            ApiToken.revoked_at.is_(None),
            ApiToken.expires_at > now,
            PrincipalRow.disabled_at.is_(None),
            PrincipalRow.activated_at.is_not(None),  # re-enrolled: pending again
        )
    )
    row = session.execute(query).one_or_none()
    if row is None:
        return None
    found, owner, agency = row
    if now - found.last_seen_at >= _TOUCH_EVERY:
        found.last_seen_at = now
        session.commit()
    principal = Principal(
        principal_id=owner.id, agency_id=owner.agency_id, role=owner.role, token_id=found.token_id
    )
    return Browser(principal, owner.name, agency, csrf_token_for(session_id))


def current_browser(request: Request, session: SessionDep, settings: SettingsDep) -> Browser:
    """The signed-in browser making this request; SignInNeeded otherwise (a dependency)."""
    session_id = request.cookies.get(SESSION_COOKIE)
    if not session_id:
        raise SignInNeeded("required")
    browser = find_browser(session, session_id, settings, now=utcnow())
    if browser is None:
        end_session(session, session_id)  # an ended session's row goes at once
        session.commit()
        raise SignInNeeded("ended")
    request.state.principal = browser.principal  # for the audit entry (service.audit)
    request.state.web_session_id = session_id  # the form check's key (csrf_guard)
    charge_principal(request, browser.principal)  # the API's per-principal rate limit
    return browser


BrowserDep = Annotated[Browser, Depends(current_browser)]


MAX_FORM_BYTES = 64 * 1024  # a page's form: a few fields, never a file


async def csrf_guard(request: Request, browser: BrowserDep) -> None:
    """Refuse a POST whose form lacks this session's CSRF token (on every area's router).

    Only small URL-encoded forms are read: a multipart body would make Starlette's parser
    write its parts to temporary files in plain (the batch upload page reads its own form
    as it streams, on a router of its own), and no page form needs more than
    `MAX_FORM_BYTES`: both are refused before anything is read.
    """
    if request.method in ("GET", "HEAD"):
        return
    kind = request.headers.get("content-type", "").split(";", 1)[0].strip().lower()
    if kind != "application/x-www-form-urlencoded":
        raise UnsupportedMediaType("page forms are sent URL-encoded")
    # The server reads no more than the declared length, so checking it bounds the read.
    declared = request.headers.get("content-length", "")
    if not declared.isdigit() or int(declared) > MAX_FORM_BYTES:
        raise PayloadTooLarge(f"a page form declares its length, at most {MAX_FORM_BYTES} bytes")
    form = await request.form()
    if not csrf_matches(getattr(request.state, "web_session_id", None), form.get(CSRF_FIELD)):
        raise CsrfRefused()


def set_cookie(request: Request, response: Response, name: str, value: str) -> None:
    """A cookie only this hub's pages get and no script reads; Secure over TLS."""
    response.set_cookie(
        name,
        value,
        path=PAGES_PREFIX,
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
    )


def clear_cookie(request: Request, response: Response, name: str) -> None:
    """Tell the browser to drop a cookie set by `set_cookie`."""
    response.delete_cookie(
        name,
        path=PAGES_PREFIX,
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
    )
