"""Recording the kit's own traffic as HAR, for the offline tests (``check --har``, ``drift``).

``HarRecorder`` is a WSGI middleware that records every exchange it serves as ``HarEntry``
values; ``record_kit_run`` serves the mock (or a mutant) through it, runs ``stepspec check``
against it and writes the HAR file.

The recording holds the request as the client sent it and the response as the client received
it, as the proxy records it.
"""

from __future__ import annotations

import json
import time
import urllib.parse
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from click.testing import CliRunner

from conformance._cli_check import check_command
from conformance.har import HarEntry, HarWriter
from tests.conformance.conftest import serve
from tests.conformance.mutants import Mutant, MutantMiddleware

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
        # Read before the app runs: a mutant may rewrite the request in ``environ``.
        query = environ.get("QUERY_STRING", "")
        url = "http://{}{}{}".format(
            environ.get("HTTP_HOST", "127.0.0.1"),
            urllib.parse.quote(environ.get("PATH_INFO", "")),
            f"?{query}" if query else "",
        )
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


@dataclass
class Recording:
    """A HAR file of one kit run, its entries, and the live run's verdict."""

    path: Path
    entries: list[HarEntry]
    live: dict[str, Any]
    """The live run's JSON report."""


def record_kit_run(
    tmp_path: Path, app_factory: Any, api: str, mutant: Mutant | None = None
) -> Recording:
    """Serve the mock (or ``mutant`` of it) recorded, run ``stepspec check`` on it, write HAR."""
    app = app_factory(**(mutant.app_config if mutant else {}))
    app.testing = False
    if mutant is not None:
        app.wsgi_app = MutantMiddleware(app.wsgi_app, mutant)
    recorder = HarRecorder(app.wsgi_app)
    app.wsgi_app = recorder
    strict = ("--strict",) if mutant is not None and mutant.strict else ()
    key = mutant.api_key if mutant else "test-key"
    args = (*(mutant.args if mutant else ()), *strict)
    with serve(app) as url:
        live = CliRunner().invoke(
            check_command,
            ["--api", api, "--base-url", url, "--format", "json", "--api-key", key, *args],
            catch_exceptions=False,
        )
    path = tmp_path / f"{api}.har"
    with HarWriter(path) as writer:
        for entry in recorder.entries:
            writer.add(entry)
    return Recording(path, recorder.entries, json.loads(live.stdout))
