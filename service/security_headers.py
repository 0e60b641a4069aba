"""Security headers on every answer: no caching, no sniffing, no framing, a strict CSP, HSTS.

The hub's answers hold hits, references, sealed envelopes, tokens and audit entries: none
may stay in a browser's or a proxy's cache (`Cache-Control: no-store`), except the docs
pages' vendored assets (`/static/`), which are public. Every answer gets
`X-Content-Type-Options: nosniff`, `Referrer-Policy: no-referrer`, and a Content Security
Policy that allows nothing (`default-src 'none'`): an API answer is never a page. The docs
pages (`service.web.docs`) set their own policy, which this middleware leaves as it is.

HSTS is sent when the request came over TLS, as the server saw it: directly, or from a
reverse proxy whose X-Forwarded-Proto the server trusts (uvicorn: --forwarded-allow-ips).
A proxy that terminates TLS should send HSTS itself too (README, "TLS").
"""

from fastapi import FastAPI
from starlette.types import ASGIApp, Message, Receive, Scope, Send

API_POLICY = "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
HSTS = "max-age=31536000; includeSubDomains"
_CACHED_PREFIX = "/static/"
_ALWAYS = (
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
    (b"x-frame-options", b"DENY"),
    (b"cross-origin-resource-policy", b"same-origin"),
)
_POLICY = b"content-security-policy"


class SecurityHeaders:
    """Adds the security headers to every HTTP answer (pure ASGI: bodies stream through)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        extra = list(_ALWAYS)
        if not str(scope.get("path", "")).startswith(_CACHED_PREFIX):
            extra += [(b"cache-control", b"no-store"), (b"pragma", b"no-cache")]
        if scope.get("scheme") == "https":
            extra.append((b"strict-transport-security", HSTS.encode()))
        replaced = {name for name, _ in extra}

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = [
                    (name, value)
                    for name, value in message.get("headers", [])
                    if name.lower() not in replaced
                ]
                if not any(name.lower() == _POLICY for name, _ in headers):
                    headers.append((_POLICY, API_POLICY.encode()))
                message = {**message, "headers": headers + extra}
            await send(message)

        await self.app(scope, receive, send_with_headers)


def install_security_headers(app: FastAPI) -> None:
    """Add the headers to every answer; install last, so error answers get them too."""
    app.add_middleware(SecurityHeaders)
