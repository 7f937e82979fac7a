"""Serve the mock under granian (``stepspec mock --server granian``), the opt-in faster server.

granian's HTTP layer is Rust (hyper on tokio); Python runs only the WSGI app, in
``BLOCKING_THREADS`` threads per worker process. ``serve_granian`` keeps what ``stepspec mock``
promises under gunicorn (``_serve``), except where hyper answers before Python is asked:

- **The app is built once**, in the master, before the workers fork (multiprocessing's ``fork``
  start method, forced here: under ``spawn`` the app would be pickled), like gunicorn's
  ``preload_app``; the workers share the live-run store and the replayed recordings.
- **The address ``_serve.prepare`` bound is the one served.** The socket is handed to granian
  (one accept queue shared by the workers, as under gunicorn) instead of granian binding its
  own, so a busy port stays a one-line usage error, and it starts listening once the app is
  built: the banner is printed when a client can connect. This uses granian's socket holder, a
  part of its API below ``Server``; ``tests/mock_server/test_granian.py`` pins it.
- **Signals.** SIGTERM stops gracefully (each worker finishes the requests it holds, at most
  ``GRACEFUL_TIMEOUT_S``); SIGINT (Ctrl-C, to the whole process group or to the master alone)
  stops at once. granian itself drains requests on both, so a worker blocks both signals and
  reads them in a thread of its own (``_signal_watcher``): SIGTERM goes on to granian's handler,
  SIGINT writes the coverage counts and waits for the master's word (its SIGTERM, which marks
  the exit as expected) before it leaves. A worker writes its coverage counts when it ends either
  way: multiprocessing ends a worker without running ``atexit`` hooks.
- **Logs.** granian's own log lines go to stderr and only from WARNING up, like gunicorn's.

What stays different (documented in the README and tested in ``test_granian.py``): a request
hyper cannot parse (an invalid ``Content-Length`` or ``Transfer-Encoding``, a malformed header
line, no HTTP request line) gets hyper's bare 400 with an empty body, not the vendor's envelope
(gunicorn's worker is replaced by ``_wire.EnvelopeWorker`` for that; granian has no such hook),
a request line over 64 KB a bare 414, more than 100 header fields a bare 431 (gunicorn, as
``_serve`` sets it, takes 256), and every answer carries ``server: granian`` (set by granian for
every response; it has no option to leave it out).
"""

from __future__ import annotations

import copy
import multiprocessing
import os
import signal
import socket
import sys
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from mock_server._config import ConfigError

if TYPE_CHECKING:
    from flask import Flask

    from mock_server._config import MockConfig

BLOCKING_THREADS = 4
"""Python threads per granian worker: the best arm of the benchmark's server block (granian's
default, half its backpressure, is 256 threads per worker here and served 0.71-0.95x of this)."""
GRACEFUL_TIMEOUT_S = 5
"""How long SIGTERM waits for a worker's requests before it is killed (gunicorn's is the same)."""
QUIT_WAIT_S = 5.0
"""After Ctrl-C, how long a worker waits for the master's SIGTERM before it leaves anyway."""
BACKLOG = 2048
"""Connections queued before the workers accept them (gunicorn's default)."""
_STOP = {signal.SIGINT, signal.SIGTERM}


def require_granian() -> None:
    """Raise ``ConfigError`` unless granian can be imported (the ``fast`` extra)."""
    try:
        import granian.server.mp  # noqa: F401
    except ImportError:
        raise ConfigError(
            "server",
            "granian is not installed (pip install granian, or stepspec's fast extra); "
            "or use --server gunicorn",
        ) from None


def options(workers: int) -> dict[str, Any]:
    """granian's ``Server`` settings for ``workers`` workers, the way ``stepspec mock`` runs it
    (plain values, so a benchmark can turn them into granian's command line)."""
    return {
        "interface": "wsgi",
        "workers": workers,
        "blocking_threads": BLOCKING_THREADS,
        "http": "1",  # HTTP/1.1 only, as gunicorn
        "websockets": False,
        "backlog": BACKLOG,
        "log_level": "warning",
        "respawn_failed_workers": True,  # as gunicorn's arbiter does
        "workers_kill_timeout": GRACEFUL_TIMEOUT_S,
    }


def serve_granian(
    config: MockConfig,
    listener: socket.socket,
    app: Flask,
    announce: Callable[[], object],
) -> None:
    """Serve ``app`` on ``listener`` (bound, not listening) with ``config.workers`` granian
    workers until SIGTERM/SIGINT; ``announce`` runs once clients can connect."""
    from granian.constants import HTTPModes, Interfaces
    from granian.log import LOGGING_CONFIG, LogLevels

    from mock_server.coverage import EXTENSION as COVERAGE

    multiprocessing.set_start_method("fork", force=True)  # the workers inherit the built app
    logging: dict[str, Any] = copy.deepcopy(LOGGING_CONFIG)
    for handler in logging["handlers"].values():
        handler["stream"] = "ext://sys.stderr"
    settings = options(config.workers)
    settings |= {
        "interface": Interfaces(settings["interface"]),
        "http": HTTPModes(settings["http"]),
        "log_level": LogLevels(settings["log_level"]),
    }
    server = _server_class()(
        "stepspec-mock",
        address=config.host,
        port=config.port,
        log_dictconfig=logging,
        **settings,
    )
    server.listener = listener
    server.on_startup(announce)
    coverage = app.extensions.get(COVERAGE)
    flush: Callable[[], None] = coverage.flush if coverage is not None else _nothing
    worker = _worker_target(server._spawn_wsgi_worker, flush)
    server.serve(spawn_target=worker, target_loader=lambda: app, wrap_loader=False)


def _server_class() -> type[Any]:
    """granian's process-per-worker server, on the socket ``serve_granian`` was handed."""
    from granian._granian import SocketHolder
    from granian.server.mp import MPServer

    class MockGranian(MPServer):
        listener: socket.socket

        def _init_shared_socket(self) -> None:
            # The master's socket is the workers' (granian would bind one per worker with
            # SO_REUSEPORT): listening from now on, connections wait in its queue.
            # (granian's stub of SocketHolder leaves out its constructor: fd, is_uds, backlog.)
            self.listener.listen(self.backlog)
            holder: Any = SocketHolder
            fd = self.listener.fileno()
            self._ssp, self._sso = None, None
            self._sfd: Any = fd
            self._shd: Any = holder(fd, False, self.backlog)

        def signal_handler_interrupt(self, signum: int | None = None, *args: Any) -> None:
            # Ctrl-C may reach the master alone (``kill -INT``): the workers must hear it too,
            # or granian's SIGTERM to them would drain their requests.
            if signum == signal.SIGINT:
                for child in multiprocessing.active_children():
                    if child.pid is not None:
                        os.kill(child.pid, signal.SIGINT)
            super().signal_handler_interrupt(signum, *args)  # type: ignore[no-untyped-call]

    return MockGranian


def _worker_target(
    granian_worker: Callable[..., None], flush: Callable[[], None]
) -> Callable[..., None]:
    """granian's WSGI worker, with this module's signal handling and a coverage flush at exit."""

    def run(*args: Any, **kwargs: Any) -> None:
        # Before granian starts a thread: every thread it starts inherits the blocked signals.
        signal.pthread_sigmask(signal.SIG_BLOCK, _STOP)
        inherited = signal.getsignal(signal.SIGTERM)  # the master's, until granian sets its own
        watcher = threading.Thread(
            target=_signal_watcher,
            args=(flush, inherited),
            name="stepspec-signals",
            daemon=True,
        )
        watcher.start()
        try:
            granian_worker(*args, **kwargs)
        finally:
            flush()

    return run


def _signal_watcher(flush: Callable[[], None], inherited: object) -> None:
    """Read SIGINT/SIGTERM for a worker (see the module docstring)."""
    stopping = False
    while True:
        signum = signal.sigwait(_STOP)
        if signum == signal.SIGTERM and not stopping:
            stopping = True
            drain = signal.getsignal(signal.SIGTERM)  # granian's: stop accepting, finish requests
            if callable(drain) and drain is not inherited:
                drain(signal.SIGTERM, None)
                continue
        _leave(flush, wait_for_master=signum == signal.SIGINT and not stopping)


def _leave(flush: Callable[[], None], *, wait_for_master: bool) -> None:
    """Write the coverage counts and end the worker at once (its requests are dropped)."""
    try:
        flush()
    finally:
        sys.stderr.flush()
        if wait_for_master:
            # The master's SIGTERM follows its own SIGINT; leaving before it would read as a
            # worker that crashed ("Unexpected exit") and turn the exit status into 1.
            signal.sigtimedwait({signal.SIGTERM}, QUIT_WAIT_S)
        os._exit(0)


def _nothing() -> None:
    """No coverage recorder: nothing to write."""
