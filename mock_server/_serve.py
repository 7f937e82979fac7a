"""Serve the mock under gunicorn, the production WSGI server ``stepspec mock`` runs by default.

``serve(config)`` builds the app once in the master (``preload_app``), so every worker forks with
the vocabulary and OpenAPI indexes already loaded, and shares one live-run store (a SQLite file,
or a Redis server shared with other hosts).

The worker class is gunicorn's ``gthread`` with ``THREADS`` threads per worker, chosen by
measurement (``python -m benchmarks``, servers group: wrk -t2 -c32, 2 workers, this 2-core
machine; ``benchmarks/README.md`` has the table). Among gunicorn's options, ``sync``, ``gthread``
x4 and ``gthread`` x8 served the same throughput within this machine's noise (0.86-1.11x of one
another, cache hits and cold requests alike), so the choice rests on behaviour: gthread keeps
connections alive and, with ``--latency``, a sleeping request holds one thread rather than one of
the two workers (``sync`` would serve two requests at a time). ``sync`` had the lower p99.
granian (Rust HTTP layer) served 1.3-1.9x the cold and ~4.8x the cached requests of this
default, with a worse cold p99; ``--server granian`` runs it (``mock_server._granian``, the
optional ``fast`` extra), but it is not the default: hyper answers the requests it cannot parse
with a bare status, outside the vendor's envelope. The worker is ``_wire.EnvelopeWorker``:
``gthread`` that answers requests it cannot parse in the vendor's envelope and leaves at once on
Ctrl-C. SIGTERM stops gracefully (workers finish their requests); SIGINT stops at once (under
either server).

Every mistake a user can make is found before the server starts, so it is one line and exit 2
in the CLI instead of gunicorn's retries and tracebacks (``prepare``, raising ``ConfigError``):
granian must be installed when asked for, the store must be a SQLite file in an existing folder
or a Redis server that answers now, the coverage report's folder must exist, and the address is
bound here (a busy port or a host that is not local fails at once); the server is handed the
bound socket. ``--replay`` recordings are read here too, once, before the workers fork (a file
that is not HAR fails at once), and shared read-only by the workers. A store the mock made up
(``$TMPDIR/stepspec-mock-*``) is removed when the server exits.
"""

from __future__ import annotations

import errno
import gc
import os
import socket
import sqlite3
import sys
from collections.abc import Callable, Mapping
from typing import Any

from flask import Flask
from gunicorn.app.base import BaseApplication
from gunicorn.arbiter import Arbiter
from gunicorn.sock import TCP6Socket, TCPSocket

from mock_server._app import create_app
from mock_server._config import ConfigError, MockConfig
from mock_server._replay import ReplayTable
from mock_server._wire import EnvelopeWorker
from mock_server.coverage import EXTENSION as COVERAGE
from mock_server.live import (
    RedisStore,
    SqliteStore,
    StoreUnavailable,
    describe_store,
    is_redis_url,
    open_store,
    temporary_store_path,
)

WORKER_CLASS = EnvelopeWorker
"""gunicorn's ``gthread``: as fast as ``sync`` here, and keeps connections alive (see above)."""
THREADS = 4
HEADER_FIELD_BYTES = 64 * 1024
"""gunicorn's per-header limit (default 8,190 bytes), raised so big headers reach the app."""
HEADER_FIELDS = 256
"""gunicorn's header count limit (default 100), raised for the same reason."""


class MockServer(BaseApplication):  # type: ignore[misc]  # gunicorn ships no type hints
    """A gunicorn application around one ``create_app`` instance."""

    def __init__(
        self,
        config: MockConfig,
        options: Mapping[str, Any] | None = None,
        listener: socket.socket | None = None,
        replay: ReplayTable | None = None,
    ) -> None:
        self.mock_config = config
        self.listener = listener
        self.replay = replay
        self.flask_app: Flask | None = None
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
            # 0 = gunicorn's limit off (at most 8,190 bytes otherwise); _wire reads request lines
            # of up to REQUEST_LINE_BYTES, so a long path gets the app's own 404/400.
            "limit_request_line": 0,
            "limit_request_field_size": HEADER_FIELD_BYTES,
            "limit_request_fields": HEADER_FIELDS,
            "when_ready": lambda _server: sys.stderr.write(banner(config)),
            "worker_int": self._before_quick_exit,
            **dict(options or {}),
        }
        super().__init__()

    def load_config(self) -> None:
        """Hand our options to gunicorn (unknown names are a programming error)."""
        for key, value in self.options.items():
            self.cfg.set(key.lower(), value)

    def load(self) -> Callable[..., Any]:
        """The WSGI app (built once, in the master, because of ``preload_app``)."""
        self.flask_app = build_app(self.mock_config, self.replay)
        return self.flask_app

    def _before_quick_exit(self, worker: Any) -> None:
        """gunicorn's ``worker_int`` hook: a worker leaves at once on Ctrl-C (``_wire``), so the
        coverage counts it still holds are written now, not by an exit hook."""
        coverage = self.flask_app.extensions.get(COVERAGE) if self.flask_app else None
        if coverage is not None:
            coverage.flush()

    def run(self) -> None:
        """Run gunicorn's arbiter, on ``listener`` when one was bound already."""
        arbiter = Arbiter(self)
        if self.listener is not None:
            kind = TCP6Socket if self.listener.family == socket.AF_INET6 else TCPSocket
            address = self.listener.getsockname()[:2]
            arbiter.LISTENERS = [kind(address, self.cfg, arbiter.log, fd=self.listener.detach())]
        arbiter.run()


def banner(config: MockConfig) -> str:
    """What a newcomer sees once the server listens: where each API is, how to call it, and
    every setting that changes what the APIs answer (so nobody forgets latency is on)."""
    origin = f"http://{_bracket(config.host)}:{config.port}"
    key = "<key>" if not config.api_keys else "<a --api-key>"
    lines = [
        f"stepspec mock: listening on {origin} (seed {config.seed}, {config.workers} workers, "
        f"live state in {describe_store(config.state_path)})",
        f"  Kibana   {origin}/api/workflows            Authorization: ApiKey {key}",
        f"  Arcee    {origin}/api/v1/workflow/workflows Authorization: Bearer {key}",
        f"  Trigify  {origin}/v1/workflows              x-api-key: {key}",
        f"  Viewer   {origin}/_stepspec/   coverage: {origin}/_stepspec/coverage",
        *(f"  {line}" for line in active_settings(config)),
        "Ctrl-C stops.",
    ]
    return "\n".join(lines) + "\n"


def active_settings(config: MockConfig) -> list[str]:
    """One line per setting that makes answers differ from a plain mock's (none by default)."""
    found = []
    if config.api_keys:
        count = len(config.api_keys)
        found.append(
            f"Keys     only the {count} key{'s' if count > 1 else ''} given with --api-key "
            "are accepted (others: 401)"
        )
    low, high = config.latency_ms
    if high:
        span = f"{low} ms" if low == high else f"{low}-{high} ms (seeded draw)"
        found.append(f"Latency  {span} added to every request")
    if config.error_rate:
        found.append(
            f"Errors   {config.error_rate:.0%} of requests answer an injected 500 "
            "(X-Stepspec-Injected)"
        )
    if config.validate_responses:
        found.append("Validate every response is checked against its schema (X-Stepspec-Validated)")
    if config.rate_limit:
        found.append("Limit    Trigify's 100 requests/minute per key is enforced (429)")
    if config.replay:
        found.append(
            f"Replay   answers recorded in {', '.join(config.replay)} first; anything else: "
            + ("the vendor's 404 (--replay-only)" if config.replay_only else "the seeded world")
        )
    if config.server == "granian":
        found.append(
            "Server   granian: a request it cannot parse gets its bare 400, not the vendor's "
            "envelope"
        )
    if config.time_scale != 1.0:
        found.append(
            f"Time     live runs progress {config.time_scale:g}x as fast as the wall clock"
        )
    return found


def _bracket(host: str) -> str:
    return f"[{host}]" if ":" in host and not host.startswith("[") else host


def resolved(config: MockConfig) -> MockConfig:
    """``config`` with a concrete ``state_path`` so that all workers share one store (a made-up
    one is removed when this process exits)."""
    if config.state_path:
        return config
    return config.replace(state_path=temporary_store_path())


def check_store(path: str) -> None:
    """Raise ``ConfigError`` unless ``path`` can hold the live-run store (creating it if new)."""
    folder = os.path.dirname(os.path.abspath(path))
    if os.path.isdir(path):
        raise ConfigError("state_path", f"{path} is a folder; give a file name inside it")
    if not os.path.isdir(folder):
        raise ConfigError("state_path", f"{path}: folder {folder} does not exist")
    try:
        SqliteStore(path)
    except sqlite3.DatabaseError as error:
        problem = "is not a SQLite database" if "not a database" in str(error) else str(error)
        raise ConfigError(
            "state_path", f"{path} cannot hold the live-run store: {problem}"
        ) from None


def check_redis(config: MockConfig) -> None:
    """Raise ``ConfigError`` unless the Redis store ``config`` names answers now."""
    try:
        store = open_store(config)
    except StoreUnavailable as error:
        raise ConfigError("state_path", f"cannot reach the live-run store {error}") from None
    if isinstance(store, RedisStore):
        store.close()


def check_report_path(path: str) -> None:
    """Raise ``ConfigError`` unless the coverage report can be written to ``path`` at exit."""
    folder = os.path.dirname(os.path.abspath(path))
    if os.path.isdir(path) or not os.path.isdir(folder) or not os.access(folder, os.W_OK):
        raise ConfigError("coverage_report", f"{path}: cannot write a file there")


def bind(host: str, port: int) -> socket.socket:
    """A socket bound to (host, port), or ``ConfigError`` saying why not, in one line."""
    try:
        family, kind, proto, _, address = socket.getaddrinfo(
            host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
        )[0]
    except (socket.gaierror, UnicodeError):
        raise ConfigError("host", f"{host!r} is not a known host name or address") from None
    listener = socket.socket(family, kind, proto)
    try:
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        # Not listening yet: until the app is loaded a client is refused, not left waiting;
        # gunicorn calls listen() once it is ready.
        listener.bind(address)
    except OSError as error:
        listener.close()
        if error.errno == errno.EADDRINUSE:
            raise ConfigError(
                "port", f"{port} is already in use on {host} (another mock?); choose another"
            ) from None
        if error.errno == errno.EADDRNOTAVAIL:
            raise ConfigError("host", f"{host} is not an address of this machine") from None
        if error.errno == errno.EACCES:
            raise ConfigError("port", f"{port}: permission denied (ports below 1024)") from None
        raise ConfigError("host", f"cannot listen on {host}:{port}: {error.strerror}") from None
    return listener


def build_app(config: MockConfig, replay: ReplayTable | None) -> Flask:
    """The app the workers fork with, its start-up objects moved out of the garbage
    collector's reach (``gc.freeze``, as the ``gc`` documentation advises before a fork).

    The vocabulary, OpenAPI indexes and compiled schemas are built once and never freed; left
    in the collector's oldest generation, every full collection in every worker walks them
    again (and writes to their pages, which undoes the fork's sharing). Frozen, a worker's
    collections see only what it made itself: in a side-by-side wrk run (cold Kibana steps,
    granian, 2 workers) p99 fell from 25-46 ms to 7-22 ms (benchmarks/README.md).
    """
    app = create_app(config, replay=replay)
    gc.collect()
    gc.freeze()
    return app


def load_replay(config: MockConfig) -> ReplayTable | None:
    """The recordings ``--replay`` names, read once here (``ConfigError`` if one is not HAR)."""
    return ReplayTable.load(config.replay) if config.replay else None


def prepare(config: MockConfig) -> tuple[MockConfig, socket.socket]:
    """Check everything a user can get wrong and bind the address, before any work starts."""
    if is_redis_url(config.state_path):
        check_redis(config)
    elif config.state_path and config.state_path != ":memory:":
        check_store(config.state_path)
    if config.coverage_report:
        check_report_path(config.coverage_report)
    listener = bind(config.host, config.port)
    port = listener.getsockname()[1]  # the real one, for --port 0
    return resolved(config.replace(port=port)), listener


def serve(config: MockConfig, options: Mapping[str, Any] | None = None) -> None:
    """Run the mock until SIGTERM/SIGINT (blocks) under ``config.server``. ``options`` override
    gunicorn settings (granian's are fixed in ``mock_server._granian``).

    Raises ``ConfigError`` (and starts nothing) for a store, report path or address that
    cannot be used, or a server that is not installed.
    """
    if config.server == "granian":
        from mock_server._granian import require_granian, serve_granian

        require_granian()
    table = load_replay(config)  # in the master, before the workers fork: read-only
    ready, listener = prepare(config)
    if ready.server == "granian":
        app = build_app(ready, table)
        serve_granian(ready, listener, app, lambda: sys.stderr.write(banner(ready)))
        return
    MockServer(ready, options, listener, table).run()
