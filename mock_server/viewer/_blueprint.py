"""Routes under ``/_stepspec/``: the run viewer's files, what the viewer needs to know, coverage.

- ``GET /_stepspec/``: the run viewer (``index.html``, ``viewer.js``, ``viewer.css``: plain files
  read once from the package; no build step, nothing loaded from elsewhere, which the
  ``Content-Security-Policy`` states).
- ``GET /_stepspec/meta``: the mounted APIs and whether keys are restricted (never the keys).
- ``GET /_stepspec/coverage``: HTML, or JSON for ``Accept: application/json`` or
  ``?format=json``; ``?client=<fingerprint>`` or ``?client=me`` (the caller's own credential;
  the answer's ``client_filter`` names the fingerprint it stood for, which is how the page's
  ``coverage.js`` turns "only my key" into a ``?client=`` link without sending the key in a URL).
- ``DELETE /_stepspec/coverage``: forget what was recorded (``?client=`` as above).
"""

from __future__ import annotations

from importlib import resources

from flask import Blueprint, Response, current_app, request

from mock_server._http import json_response
from mock_server._state import state
from mock_server.coverage import (
    EXTENSION,
    VIEWER_HEADER,
    Coverage,
    credential_of,
    fingerprint,
    render_report,
)

PREFIX = "/_stepspec"
POLL_MS = 1000
"""How often the viewer refreshes a run that is still in progress."""
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'self'"
)
_FILES = {
    "index.html": "text/html; charset=utf-8",
    "viewer.js": "text/javascript; charset=utf-8",
    "viewer.css": "text/css; charset=utf-8",
    "coverage.js": "text/javascript; charset=utf-8",
}


def _read(name: str) -> bytes:
    return (resources.files("mock_server.viewer") / name).read_bytes()


def _page(data: bytes, mimetype: str) -> Response:
    response = Response(data, content_type=mimetype)  # mimetype= would add a second charset
    response.headers["Cache-Control"] = "no-cache"
    response.headers["Content-Security-Policy"] = CSP
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response


def _coverage() -> Coverage:
    found: Coverage = current_app.extensions[EXTENSION]
    return found


def _client_filter() -> str | None:
    wanted = request.args.get("client")
    if wanted != "me":
        return wanted or None
    secret = credential_of({name.lower(): value for name, value in request.headers.items()})
    return fingerprint(secret) if secret is not None else "anonymous"


def blueprint() -> Blueprint:
    """The ``/_stepspec`` blueprint (files are read now, once per app)."""
    files = {name: (_read(name), mimetype) for name, mimetype in _FILES.items()}
    bp = Blueprint("stepspec_viewer", __name__, url_prefix=PREFIX)

    @bp.get("/")
    def index() -> Response:
        return _page(*files["index.html"])

    @bp.get("/<any(viewer.js, viewer.css, coverage.js):name>")
    def asset(name: str) -> Response:
        return _page(*files[name])

    @bp.get("/meta")
    def meta() -> Response:
        mock = state()
        return json_response(
            {
                "apis": [
                    {"name": vendor.name, "base_paths": list(vendor.base_paths)}
                    for vendor in mock.vendors
                ],
                "keys_required": bool(mock.context.config.api_keys),
                "viewer_header": VIEWER_HEADER,
                "poll_ms": POLL_MS,
            }
        )

    @bp.get("/coverage")
    def coverage_report() -> Response:
        wanted = _client_filter()
        report = {**_coverage().report(wanted), "client_filter": wanted}
        best = request.accept_mimetypes.best_match(["text/html", "application/json"])
        if request.args.get("format") == "json" or best == "application/json":
            return json_response(report)
        return _page(
            render_report(report, stylesheet_url="viewer.css").encode(), "text/html; charset=utf-8"
        )

    @bp.delete("/coverage")
    def coverage_reset() -> Response:
        _coverage().reset(_client_filter())
        return Response(status=204)

    return bp
