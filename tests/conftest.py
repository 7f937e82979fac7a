"""Shared fixtures: the mock app in-process, a test clock, and a real server on a free port.

- ``clock``: a ``TestClock`` (microseconds) that moves only when told to; live runs read it.
- ``app_factory(**config)``: a fresh ``create_app`` with its own SQLite file under ``tmp_path``
  and the test clock; ``app.testing`` is on, so a bug in a view raises instead of becoming a 500.
- ``app`` / ``client``: ``app_factory()`` with the defaults (seed 0) and its test client.
- ``make_app(seed, clock, **config)``: a plain function (not a fixture) for module-scoped
  clients; ``app.testing`` is on.
- ``live_server``: one real HTTP server per session on ``127.0.0.1:<free port>`` (werkzeug's
  threaded server in a thread), with ``.url`` and ``.app``; shut down at teardown. Its
  ``EnvelopeRequestHandler`` answers an over-long request line as ``stepspec mock`` does.
- ``redis_server``: one real ``redis-server`` per session (``tests/real_servers.py``).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from http import HTTPStatus
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server

from mock_server import WORLD_NOW_US, create_app
from mock_server._app import load_vendors
from mock_server._wire import REQUEST_LINE_BYTES, framing_error, path_of_head

pytest_plugins = ("tests.real_servers",)  # redis_server (and start_redis, start_nginx)

AppFactory = Callable[..., Flask]


TOO_LONG = f"Request Line is too large (> {REQUEST_LINE_BYTES})"
"""The reason gunicorn gives (with the line's length), as the served mock's 400 shows it."""


class EnvelopeRequestHandler(WSGIRequestHandler):
    """werkzeug's request handler, except for a request line over 64 KB: http.server answers its
    own HTML 414, which ``stepspec mock`` never sends (its worker answers the 400 framing error
    in the vendor's envelope, ``mock_server._wire``), so a test server answers that too."""

    def send_error(self, code: int, message: str | None = None, explain: str | None = None) -> None:
        if code != HTTPStatus.REQUEST_URI_TOO_LONG:
            super().send_error(code, message, explain)
            return
        path = path_of_head(bytes(self.raw_requestline))
        self.wfile.write(framing_error(TOO_LONG, path, load_vendors()))
        self.close_connection = True


class TestClock:
    """A clock in microseconds since the epoch that moves only when the test says so."""

    __test__ = False  # not a test class, despite its name

    def __init__(self, now_us: int = WORLD_NOW_US + 3_600_000_000) -> None:
        self.now_us = now_us

    def __call__(self) -> int:
        return self.now_us

    def advance(self, seconds: float) -> None:
        """Move the clock forward."""
        self.now_us += int(seconds * 1_000_000)


@pytest.fixture
def clock() -> TestClock:
    """A test clock an hour after the seeded world's "now"."""
    return TestClock()


def make_app(seed: int = 0, clock: Callable[[], int] | None = None, **config: Any) -> Flask:
    """A ``create_app`` outside any fixture (for module-scoped clients), ``app.testing`` on."""
    app = create_app({"seed": seed, **config}, clock=clock)
    app.testing = True
    return app


def _factory(state_dir: Path, clock: TestClock | None) -> AppFactory:
    counter = iter(range(1_000_000))

    def make(**config: Any) -> Flask:
        settings = {"state_path": str(state_dir / f"state-{next(counter)}.sqlite3"), **config}
        app = create_app(settings, clock=clock)
        app.testing = True
        return app

    return make


@pytest.fixture
def app_factory(tmp_path: Path, clock: TestClock) -> AppFactory:
    """Build apps with any configuration (each with its own live-run store)."""
    return _factory(tmp_path, clock)


@pytest.fixture
def app(app_factory: AppFactory) -> Flask:
    """The default app (seed 0)."""
    return app_factory()


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    """A test client of the default app."""
    return app.test_client()


@dataclass
class LiveServer:
    """A real server on 127.0.0.1."""

    url: str
    app: Flask
    server: BaseWSGIServer


@pytest.fixture(scope="session")
def live_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """The default app served over a real socket for the whole session."""
    app = _factory(tmp_path_factory.mktemp("live-server"), None)()
    app.testing = False  # real clients get the vendor's 500 envelope, as from `stepspec mock`
    server = make_server("127.0.0.1", 0, app, threaded=True, request_handler=EnvelopeRequestHandler)
    thread = threading.Thread(target=server.serve_forever, name="live-server", daemon=True)
    thread.start()
    try:
        yield LiveServer(f"http://127.0.0.1:{server.server_port}", app, server)
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
