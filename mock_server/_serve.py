"""Serve the mock under gunicorn, the production WSGI server ``stepspec mock`` runs.

``serve(config)`` builds the app once in the master (``preload_app``), so every worker forks with
the vocabulary and OpenAPI indexes already loaded, and shares one SQLite file for live runs.

The worker class is gunicorn's ``gthread`` with ``THREADS`` threads per worker, chosen by
measurement (wrk -t2 -c32, ~560-byte step payload, 2 workers, this 2-core machine): gthread
keeps connections alive and served about twice the requests of ``sync`` both warm (12.8k vs
5.9k req/s) and cold (4.2k vs 2.8k req/s); and with ``--latency`` a sleeping request holds one
thread, not a whole worker. SIGTERM and SIGINT stop gracefully: gunicorn lets workers finish
their requests.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable, Mapping
from typing import Any

from gunicorn.app.base import BaseApplication

from mock_server._app import create_app
from mock_server._config import MockConfig

WORKER_CLASS = "gthread"
"""Measured fastest here for small JSON answers (see the module docstring)."""
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
