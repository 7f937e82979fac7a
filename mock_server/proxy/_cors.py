"""CORS of the proxy: the mock's answers, for every origin or only the configured ones.

A browser app pointed at the proxy gets the same CORS answers as from the mock
(``mock_server._app``: flask-cors with any origin echoed, credentials allowed, every request
header allowed, the vendor headers exposed): the proxy answers preflights itself (the upstream
may know nothing of CORS) and its headers replace any ``Access-Control-*`` header of the
upstream, so the policy is the proxy's alone.

Restricted (``ProxyConfig.restricted_cors``: the proxy adds a credential of its own, or
``--cors-origin`` was given), only the listed origins get CORS headers, and a request that
carries any other ``Origin`` is refused before it is forwarded: a page cannot read the answer,
and must not be able to make the proxy send a write with the developer's credential either.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from mock_server._app import CORS_EXPOSE_HEADERS
from mock_server._http import CorsHeaders

if TYPE_CHECKING:
    from _typeshed.wsgi import WSGIEnvironment

PREFLIGHT_METHODS = "DELETE, GET, HEAD, OPTIONS, PATCH, POST, PUT"
MAX_AGE = "600"


class CorsPolicy:
    """Which origins may read the proxy, and the headers that say so."""

    def __init__(self, origins: tuple[str, ...] | None) -> None:
        """``origins`` None: any origin (as the mock); else only these."""
        self.origins = None if origins is None else frozenset(o.rstrip("/") for o in origins)
        self._actual = CorsHeaders(lambda environ, start: [], CORS_EXPOSE_HEADERS)

    def allows(self, origin: str) -> bool:
        """Whether ``origin`` gets CORS headers."""
        return self.origins is None or origin.rstrip("/") in self.origins

    def refuses(self, environ: WSGIEnvironment) -> str | None:
        """The ``Origin`` of a cross-origin request the restricted proxy must not forward."""
        origin = environ.get("HTTP_ORIGIN")
        if self.origins is None or not origin or self.allows(origin):
            return None
        return str(origin)

    @staticmethod
    def is_preflight(environ: WSGIEnvironment) -> bool:
        """A CORS preflight: ``OPTIONS`` with ``Origin`` and ``Access-Control-Request-Method``."""
        return (
            environ.get("REQUEST_METHOD") == "OPTIONS"
            and bool(environ.get("HTTP_ORIGIN"))
            and bool(environ.get("HTTP_ACCESS_CONTROL_REQUEST_METHOD"))
        )

    def preflight(self, environ: WSGIEnvironment) -> list[tuple[str, str]]:
        """The headers of the proxy's own answer to a preflight (flask-cors' as the mock sends
        them); none for an origin that is not allowed, which the browser reads as a refusal."""
        origin = str(environ.get("HTTP_ORIGIN", ""))
        headers = [("Content-Length", "0"), ("Content-Type", "text/plain; charset=utf-8")]
        if not self.allows(origin):
            return headers
        headers += [
            ("Access-Control-Allow-Origin", origin),
            ("Access-Control-Expose-Headers", self._actual.expose),
            ("Access-Control-Allow-Credentials", "true"),
        ]
        asked = environ.get("HTTP_ACCESS_CONTROL_REQUEST_HEADERS")
        if asked:
            names = ", ".join(part.strip() for part in str(asked).split(",") if part.strip())
            headers.append(("Access-Control-Allow-Headers", names))
        headers += [
            ("Access-Control-Max-Age", MAX_AGE),
            ("Access-Control-Allow-Methods", PREFLIGHT_METHODS),
        ]
        if environ.get("HTTP_ACCESS_CONTROL_REQUEST_PRIVATE_NETWORK") == "true":
            headers.append(("Access-Control-Allow-Private-Network", "false"))
        headers.append(("Vary", "Origin"))
        return headers

    def answer_headers(
        self, environ: WSGIEnvironment, upstream: list[tuple[str, str]]
    ) -> list[tuple[str, str]]:
        """``upstream``'s headers without its ``Access-Control-*`` ones, plus the proxy's."""
        kept = [(n, v) for n, v in upstream if not n.lower().startswith("access-control-")]
        origin = environ.get("HTTP_ORIGIN")
        if not origin or not self.allows(str(origin)):
            return kept
        return kept + self._actual.headers(environ)
