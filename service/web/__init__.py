"""The hub's web pages, served by the hub itself with every asset: no CDN anywhere.

- `docs`: /docs (Swagger UI) and /redoc, from vendored copies of their assets.
- `pages`: the pages under /app for analysts, data officers, auditors and administrators,
  behind the API's authentication, authorization and audit log. `sessions` signs browsers
  in with a token and keeps a session cookie; `access` applies the API's role and project
  rules; `rendering` draws Jinja2 templates under a strict Content Security Policy;
  `i18n` holds the English and Dutch messages; `charts` draws SVG charts.
"""
