"""Serve the mock under gunicorn, the production WSGI server ``stepspec mock`` runs.

``serve(config)`` builds the app once in the master (``preload_app``), so every worker forks with
the vocabulary and OpenAPI indexes already loaded, and shares one SQLite file for live runs.

The worker class is gunicorn's ``gthread`` with ``THREADS`` threads per worker, chosen by
measurement (``python -m benchmarks``, servers group: wrk -t2 -c32, 2 workers, this 2-core
machine; ``benchmarks/README.md`` has the table). Among gunicorn's options, ``sync``, ``gthread``
x4 and ``gthread`` x8 served the same throughput within this machine's noise (0.86-1.11x of one
another, cache hits and cold requests alike), so the choice rests on behaviour: gthread keeps
connections alive and, with ``--latency``, a sleeping request holds one thread rather than one of
the two workers (``sync`` would serve two requests at a time). ``sync`` had the lower p99.
granian (Rust HTTP layer) served 1.3-1.9x the cold and ~4.8x the cached requests of this
default, with a worse cold p99; it is the faster server, but not a dependency, and it imports
the app in every worker instead of once before forking (so the live-run store must be safe to
open from concurrent workers). SIGTERM and SIGINT stop gracefully: gunicorn lets workers finish
their requests.
"""

from __future__ import annotations

import os
import sys
import tempfile
from collections.abc import Callable, Mapping
from typing import Any

from gunicorn.app.base import BaseApplication

from mock_server._app import create_app
from mock_server._config import MockConfig
from mock_server.live import describe_store

WORKER_CLASS = "gthread"
"""As fast as ``sync`` here, and keeps connections alive (see the module docstring)."""
THREADS = 4


class MockServer(BaseApplication):  # type: ignore[misc]  # gunicorn ships no type hints
    """A gunicorn application around one ``create_app`` instance."""

    def __init__(self, config: MockConfig, options: Mapping[str, Any] | None = None) -> None:
        self.mock_config = config
        self.options = {
            "bind": f"{_bracket(config.host)}:{config.port}",
            "workers": config.workers,
            "worker_class": WORKER_CLASS,
            "threads": THREADS,
            "preload_app": True,
            "accesslog": None,
            "errorlog": "-",
            "loglevel": "warning",
            "graceful_timeout": 5,
            "timeout": 60,
            "keepalive": 5,
            "when_ready": lambda _server: sys.stderr.write(banner(config)),
            **dict(options or {}),
        }
        super().__init__()

    def load_config(self) -> None:
        """Hand our options to gunicorn (unknown names are a programming error)."""
        for key, value in self.options.items():
            self.cfg.set(key.lower(), value)

    def load(self) -> Callable[..., Any]:
        """The WSGI app (built once, in the master, because of ``preload_app``)."""
        return create_app(self.mock_config)


def banner(config: MockConfig) -> str:
    """What a newcomer sees once the server listens: where each API is and how to call it."""
    origin = f"http://{_bracket(config.host)}:{config.port}"
    return (
        f"stepspec mock: listening on {origin} (seed {config.seed}, {config.workers} workers, "
        f"live state in {describe_store(config.state_path)})\n"
        f"  Kibana   {origin}/api/workflows            Authorization: ApiKey <key>\n"
        f"  Arcee    {origin}/api/v1/workflow/workflows Authorization: Bearer <key>\n"
        f"  Trigify  {origin}/v1/workflows              x-api-key: <key>\n"
        f"  Viewer   {origin}/_stepspec/   coverage: {origin}/_stepspec/coverage\n"
        "Ctrl-C stops.\n"
    )


def _bracket(host: str) -> str:
    return f"[{host}]" if ":" in host and not host.startswith("[") else host


def resolved(config: MockConfig) -> MockConfig:
    """``config`` with a concrete ``state_path`` so that all workers share one store."""
    if config.state_path:
        return config
    directory = tempfile.mkdtemp(prefix="stepspec-mock-")
    return config.replace(state_path=os.path.join(directory, "state.sqlite3"))


def serve(config: MockConfig, options: Mapping[str, Any] | None = None) -> None:
    """Run the mock until SIGTERM/SIGINT (blocks). ``options`` override gunicorn settings."""
    MockServer(resolved(config), options).run()
