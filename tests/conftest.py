"""Shared fixtures: the mock app in-process, a test clock, and a real server on a free port.

- ``clock``: a ``TestClock`` (microseconds) that moves only when told to; live runs read it.
- ``app_factory(**config)``: a fresh ``create_app`` with its own SQLite file under ``tmp_path``
  and the test clock; ``app.testing`` is on, so a bug in a view raises instead of becoming a 500.
- ``app`` / ``client``: ``app_factory()`` with the defaults (seed 0) and its test client.
- ``live_server``: one real HTTP server per session on ``127.0.0.1:<free port>`` (werkzeug's
  threaded server in a thread), with ``.url`` and ``.app``; shut down at teardown.
- ``redis_server``: one real ``redis-server`` per session (``tests/real_servers.py``).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from werkzeug.serving import BaseWSGIServer, make_server

from mock_server import WORLD_NOW_US, create_app

pytest_plugins = ("tests.real_servers",)  # redis_server (and start_redis, start_nginx)

AppFactory = Callable[..., Flask]


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
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, name="live-server", daemon=True)
    thread.start()
    try:
        yield LiveServer(f"http://127.0.0.1:{server.server_port}", app, server)
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
