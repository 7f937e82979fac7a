"""Fixtures of the conformance-kit tests: serving any WSGI app, and running ``stepspec check``.

- ``serve(app)``: a context manager serving a WSGI app on 127.0.0.1:<free port> in a thread;
- ``run_check(*args)``: ``stepspec check`` in-process (click's runner), returning exit code,
  stdout and stderr, with ``--api-key`` and a small ``--timeout`` filled in unless given.
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
    from _typeshed.wsgi import WSGIApplication

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

    server = make_server("127.0.0.1", 0, app, threaded=True)
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
