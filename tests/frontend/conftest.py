"""Fixtures for the frontend tests: headless Chromium and mock servers on real sockets.

- ``browser``: Debian's Chromium driven by Playwright (session); a missing browser is a failure
  that says how to install it, never a skip.
- ``page``: a fresh browser context and page per test (no shared cookies, storage or CORS
  preflight cache).
- ``serve_mock(**config)``: a mock on ``127.0.0.1:<free port>`` with its own live-run store and
  a ``TestClock``; ``.requests`` records what reached it (method, path, CORS request headers) so a
  test can prove that the browser sent a preflight.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from flask import Flask

from mock_server import create_app
from mock_server.viewer.screenshot import ChromiumMissing, chromium, serve
from tests.conftest import TestClock

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIApplication, WSGIEnvironment
    from playwright.sync_api import Browser, Page

TIMEOUT_MS = 15_000
"""Upper bound for any wait on the page (the viewer polls every second)."""


@dataclass(frozen=True)
class Seen:
    """One request as it reached the mock."""

    method: str
    path: str
    origin: str | None
    request_headers: str | None
    """``Access-Control-Request-Headers`` of a preflight."""


@dataclass
class Recorder:
    """WSGI middleware that remembers every request (thread-safe)."""

    app: WSGIApplication
    seen: list[Seen] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Any:
        entry = Seen(
            environ["REQUEST_METHOD"],
            environ["PATH_INFO"],
            environ.get("HTTP_ORIGIN"),
            environ.get("HTTP_ACCESS_CONTROL_REQUEST_HEADERS"),
        )
        with self.lock:
            self.seen.append(entry)
        return self.app(environ, start_response)

    def requests(self) -> list[Seen]:
        """A copy of what was seen so far."""
        with self.lock:
            return list(self.seen)


@dataclass(frozen=True)
class MockServer:
    """A mock on a real socket."""

    url: str
    app: Flask
    clock: TestClock
    recorder: Recorder

    def requests(self) -> list[Seen]:
        """Requests that reached this server so far."""
        return self.recorder.requests()


ServeMock = Callable[..., MockServer]


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    """Headless Chromium for the whole session."""
    try:
        with chromium() as found:
            yield found
    except ChromiumMissing as missing:
        pytest.fail(str(missing))


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    """A page in a fresh context; a console error fails the test (it hides a broken page)."""
    context = browser.new_context(viewport={"width": 1440, "height": 900})
    context.set_default_timeout(TIMEOUT_MS)
    opened = context.new_page()
    errors: list[str] = []
    opened.on("pageerror", lambda error: errors.append(str(error)))
    try:
        yield opened
    finally:
        context.close()
    assert not errors, f"JavaScript errors on the page: {errors}"


@pytest.fixture(scope="module")
def serve_mock(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServeMock]:
    """Start mocks (any config) that live until the end of the module."""
    with ExitStack() as stack:
        counter = iter(range(1_000))

        def start(**config: Any) -> MockServer:
            state = tmp_path_factory.mktemp("frontend-mock") / f"state-{next(counter)}.sqlite3"
            clock = TestClock()
            app = create_app({"state_path": str(state), **config}, clock=clock)
            recorder = Recorder(app)
            url = stack.enter_context(serve(recorder))
            return MockServer(url, app, clock, recorder)

        yield start


@pytest.fixture(scope="module")
def page_origin() -> Iterator[str]:
    """A second origin (another port of 127.0.0.1) serving ``tests/frontend/pages``."""
    pages = Path(__file__).parent / "pages"

    def app(environ: WSGIEnvironment, start_response: StartResponse) -> list[bytes]:
        name = environ["PATH_INFO"].lstrip("/")
        target = pages / name
        if not name or "/" in name or not target.is_file():
            start_response("404 Not Found", [("Content-Type", "text/plain")])
            return [b"not found"]
        kind = "text/html" if name.endswith(".html") else "text/javascript"
        start_response("200 OK", [("Content-Type", f"{kind}; charset=utf-8")])
        return [target.read_bytes()]

    with serve(app) as url:
        yield url
