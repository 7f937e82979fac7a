"""A WSGI middleware that records every exchange it serves as ``HarEntry`` values.

Tests wrap a mock (or a mutant) in it, drive it with the kit, and write what it saw with
``conformance.har.HarWriter``: a HAR recording of the kit's own traffic, as the proxy would
record it (the request as the client sent it, the response as the client received it).
"""

from __future__ import annotations

import time
import urllib.parse
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from conformance.har import HarEntry

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIApplication, WSGIEnvironment


class HarRecorder:
    """Wraps a WSGI app; ``entries`` holds every exchange in the order they finished."""

    def __init__(self, app: WSGIApplication) -> None:
        self.app = app
        self.entries: list[HarEntry] = []

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        started, clock = datetime.now(UTC), time.monotonic()
        length = int(environ.get("CONTENT_LENGTH") or 0)
        body = environ["wsgi.input"].read(length) if length else b""
        environ["wsgi.input"] = _Replay(body)
        request_headers = tuple(
            (key[5:].replace("_", "-").title(), str(value))
            for key, value in environ.items()
            if key.startswith("HTTP_")
        )
        if environ.get("CONTENT_TYPE"):
            request_headers += (("Content-Type", environ["CONTENT_TYPE"]),)
        captured: dict[str, Any] = {}

        def capture(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
            captured["status"], captured["headers"] = status, headers
            return start_response(status, headers, exc_info)

        chunks = self.app(environ, capture)
        try:
            payload = b"".join(chunks)
        finally:
            close = getattr(chunks, "close", None)
            if close is not None:
                close()
        code, _, reason = captured["status"].partition(" ")
        query = environ.get("QUERY_STRING", "")
        url = "http://{}{}{}".format(
            environ.get("HTTP_HOST", "127.0.0.1"),
            urllib.parse.quote(environ.get("PATH_INFO", "")),
            f"?{query}" if query else "",
        )
        self.entries.append(
            HarEntry(
                method=environ["REQUEST_METHOD"],
                url=url,
                request_headers=request_headers,
                request_body=body,
                status=int(code),
                reason=reason,
                response_headers=tuple(captured["headers"]),
                response_body=payload,
                started=started,
                time_ms=(time.monotonic() - clock) * 1000,
            )
        )
        return [payload]


class _Replay:
    """The request body, readable again by the wrapped app."""

    def __init__(self, body: bytes) -> None:
        import io

        self._stream = io.BytesIO(body)

    def read(self, size: int = -1) -> bytes:
        return self._stream.read(size)

    def readline(self, size: int = -1) -> bytes:
        return self._stream.readline(size)
