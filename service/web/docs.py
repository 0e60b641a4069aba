"""/docs (Swagger UI) and /redoc, served from the hub's own copies of their assets.

FastAPI's defaults load both from public CDNs (and ReDoc its fonts from Google): blank
pages in an agency network without internet access, and a browser holding a bearer token
contacting outside servers. The assets are vendored in `static/docs/` (Swagger UI
5.33.1, Apache-2.0; ReDoc 2.5.4, MIT; licences beside them) and served under /static/.

Each page carries a Content Security Policy that allows scripts from the hub only, plus
Swagger UI's one inline start-up script by its hash. Swagger UI's validator badge (an
image from an outside server) is switched off; ReDoc's "API docs by Redocly" logo, an
image from an outside server it has no option against, is blocked by the policy (checked
in headless Chromium: both pages render, that logo is the only thing refused).
"""

import base64
import hashlib
import re
from collections.abc import Awaitable, Callable
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles

STATIC_DIR = Path(__file__).parent / "static"
STATIC_PREFIX = "/static"
_ASSETS = f"{STATIC_PREFIX}/docs"
_INLINE_SCRIPT = re.compile(r"<script>(.*?)</script>", re.DOTALL)
# Swagger UI and ReDoc style elements inline, and ReDoc searches in a worker made from a blob.
_POLICY = (
    "default-src 'none'; script-src 'self'{hashes}; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; font-src 'self' data:; connect-src 'self'; "
    "worker-src 'self' blob:; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
)


def install_docs(app: FastAPI) -> None:
    """Serve the vendored assets and the two docs pages (create the app with docs off)."""
    openapi_url = app.openapi_url or "/openapi.json"
    app.mount(STATIC_PREFIX, StaticFiles(directory=STATIC_DIR), name="static")
    swagger = get_swagger_ui_html(
        openapi_url=openapi_url,
        title=f"{app.title} - Swagger UI",
        swagger_js_url=f"{_ASSETS}/swagger-ui-bundle.js",
        swagger_css_url=f"{_ASSETS}/swagger-ui.css",
        swagger_favicon_url=f"{_ASSETS}/favicon-32x32.png",
        oauth2_redirect_url=None,
        swagger_ui_parameters={"validatorUrl": None},
    )
    redoc = get_redoc_html(
        openapi_url=openapi_url,
        title=f"{app.title} - ReDoc",
        redoc_js_url=f"{_ASSETS}/redoc.standalone.js",
        redoc_favicon_url=f"{_ASSETS}/favicon-32x32.png",
        with_google_fonts=False,
    )
    pages = {"/docs": _with_policy(swagger), "/redoc": _with_policy(redoc)}
    for path, page in pages.items():
        app.add_route(path, _page(page), include_in_schema=False)


def _with_policy(page: HTMLResponse) -> tuple[bytes, str]:
    body = bytes(page.body)
    hashes = "".join(
        f" 'sha256-{base64.b64encode(hashlib.sha256(script.encode()).digest()).decode()}'"
        for script in _INLINE_SCRIPT.findall(body.decode())
    )
    return body, _POLICY.format(hashes=hashes)


def _page(page: tuple[bytes, str]) -> Callable[[Request], Awaitable[HTMLResponse]]:
    body, policy = page

    async def serve(request: Request) -> HTMLResponse:
        return HTMLResponse(body, headers={"Content-Security-Policy": policy})

    return serve
