"""Fixtures of the conformance-kit tests: serving any WSGI app, and running ``stepspec check``.

- ``serve(app)``: a context manager serving a WSGI app on 127.0.0.1:<free port> in a thread;
- ``run_check(*args)``: ``stepspec check`` in-process (click's runner), returning exit code,
  stdout and stderr, with ``--api-key`` and a small ``--timeout`` filled in unless given;
- ``fast_app_factory(**config)``: a mock app on the real clock sped up ``FAST_TIME_SCALE``
  times, for the lifecycle checks: a run the kit starts ends within milliseconds (the shared
  ``app_factory`` uses a test clock that stands still, so its live runs never move).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import pytest
from click.testing import CliRunner

from conformance._cli_check import check_command

if TYPE_CHECKING:
    from pathlib import Path

    from _typeshed.wsgi import WSGIApplication
    from flask import Flask

API_KEY = "test-key"
"""The credential the tests send (the mock accepts any well-formed key unless configured)."""


@dataclass
class CheckResult:
    """What ``stepspec check`` did."""

    exit_code: int
    stdout: str
    stderr: str

    @property
    def output(self) -> str:
        return self.stdout + self.stderr


@contextmanager
def serve(app: WSGIApplication) -> Iterator[str]:
    """Serve ``app`` on a free port; yields the base URL."""
    from werkzeug.serving import make_server

    from tests.conftest import EnvelopeRequestHandler

    server = make_server("127.0.0.1", 0, app, threaded=True, request_handler=EnvelopeRequestHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def invoke(*args: str, env: dict[str, str] | None = None) -> CheckResult:
    """Run ``stepspec check`` with ``args`` in-process."""
    arguments = list(args)
    if "--api-key" not in arguments and not (env and "STEPSPEC_API_KEY" in env):
        arguments += ["--api-key", API_KEY]
    if "--timeout" not in arguments:
        arguments += ["--timeout", "5"]
    result = CliRunner().invoke(check_command, arguments, env=env, catch_exceptions=False)
    return CheckResult(result.exit_code, result.stdout, result.stderr)


@pytest.fixture
def run_check() -> Callable[..., CheckResult]:
    """``stepspec check`` in-process (see ``invoke``)."""
    return invoke


@pytest.fixture
def served() -> Callable[[Any], Any]:
    """``serve`` as a fixture, for tests that build their own app."""
    return serve


FAST_TIME_SCALE = 1000.0
"""World seconds per real millisecond, roughly: a started run ends in a few milliseconds."""


@pytest.fixture
def fast_app_factory(tmp_path: Path) -> Callable[..., Flask]:
    """Mock apps whose live runs progress on the real clock, ``FAST_TIME_SCALE`` times faster."""
    from mock_server import create_app

    counter = iter(range(1_000_000))

    def make(**config: Any) -> Flask:
        settings = {
            "state_path": str(tmp_path / f"fast-{next(counter)}.sqlite3"),
            "time_scale": FAST_TIME_SCALE,
            **config,
        }
        app = create_app(settings)
        app.testing = False  # clients get the vendor's 500 envelope, as from `stepspec mock`
        return app

    return make
