"""Serve the proxy under gunicorn: one worker process with threads, so its state is one.

The proxy's state (the judge's exchanges and findings, the traffic view, the recording) lives
in Python objects, so all requests must reach one process: gunicorn's ``gthread`` worker, one
worker, ``ProxyConfig.threads`` threads. It is the production server the mock already runs
(HTTP parsing, keep-alive, chunked bodies, graceful SIGTERM) and a single process with threads
is enough for a developer's proxy: forwarding waits on the network, not the CPU. Several
workers would need the findings in a shared store (as the mock's live runs are in SQLite),
which a dev proxy does not justify.

The app is built in the worker (no ``preload_app``): the judging thread and the connection
pool must be created in the process that serves. gunicorn calls ``worker_exit`` in the worker
on SIGINT and SIGTERM alike, after the requests in flight finished (SIGTERM) or at once
(SIGINT); that hook judges what is queued and writes ``--record`` and ``--report``.
"""

from __future__ import annotations

import socket
import sys
from collections.abc import Callable, Mapping
from typing import Any

from gunicorn.app.base import BaseApplication

from mock_server._config import ConfigError
from mock_server._serve import WORKER_CLASS, _bracket
from mock_server.proxy._app import ProxyApp, create_proxy
from mock_server.proxy._config import ProxyConfig


class ProxyServer(BaseApplication):  # type: ignore[misc]  # gunicorn ships no type hints
    """A gunicorn application around one ``ProxyApp`` (built in the worker)."""

    def __init__(self, config: ProxyConfig, options: Mapping[str, Any] | None = None) -> None:
        self.proxy_config = config
        self.app: ProxyApp | None = None
        self.options = {
            "bind": f"{_bracket(config.host)}:{config.port}",
            "workers": 1,
            "worker_class": WORKER_CLASS,
            "threads": config.threads,
            "preload_app": False,
            "accesslog": None,
            "errorlog": "-",
            "loglevel": "warning",
            "graceful_timeout": 10,
            # gthread's heartbeat comes from its main loop, so this never cuts a request short:
            # upstream waits are bounded by --upstream-timeout.
            "timeout": 60,
            "keepalive": 5,
            "when_ready": lambda _server: sys.stderr.write(banner(config)),
            "worker_exit": self._worker_exit,
            # On SIGINT the envelope worker leaves at once (``mock_server._wire``) after this
            # hook, without ``worker_exit``: the recording and report are written here then.
            "worker_int": lambda worker: self._worker_exit(None, worker),
            **dict(options or {}),
        }
        super().__init__()

    def load_config(self) -> None:
        """Hand our options to gunicorn (unknown names are a programming error)."""
        for key, value in self.options.items():
            self.cfg.set(key.lower(), value)

    def load(self) -> Callable[..., Any]:
        """The WSGI app, built in the worker process."""
        self.app = create_proxy(self.proxy_config)
        return self.app

    def _worker_exit(self, _server: Any, _worker: Any) -> None:
        if self.app is not None:
            self.app.close()


def banner(config: ProxyConfig) -> str:
    """What the developer sees once the proxy listens."""
    origin = f"http://{_bracket(config.host)}:{config.port}"
    lines = [
        f"stepspec proxy: {origin} -> {config.base_url} (judged as {config.api})",
        f"  Traffic  {origin}/_stepspec/traffic   (JSON: ?format=json)",
    ]
    if config.record:
        lines.append(f"  Recording to {config.record} (credentials redacted)")
    if config.report:
        lines.append(f"  Report ({config.report_format}) to {config.report} on exit")
    if config.upstream_headers:
        names = ", ".join(name for name, _ in config.upstream_headers)
        origins = ", ".join(config.cors_origins) or "none"
        lines.append(f"  Adds {names} upstream; CORS answers only: {origins}")
    lines.append("Each new finding is one line here. Ctrl-C stops.")
    return "\n".join(lines) + "\n"


def check_address(config: ProxyConfig) -> None:
    """``ConfigError`` now, in one line, when the address cannot be bound (gunicorn would retry
    five times and log each attempt)."""
    if config.port == 0:
        return
    try:
        infos = socket.getaddrinfo(config.host, config.port, type=socket.SOCK_STREAM)
        family, kind, proto, _, address = infos[0]
        with socket.socket(family, kind, proto) as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            probe.bind(address)
    except OSError as error:
        where = f"{_bracket(config.host)}:{config.port}"
        raise ConfigError("port", f"cannot listen on {where}: {error.strerror or error}") from None


def serve(config: ProxyConfig, options: Mapping[str, Any] | None = None) -> None:
    """Run the proxy until SIGTERM/SIGINT (blocks). ``options`` override gunicorn settings;
    an address that cannot be bound raises ``ConfigError`` before gunicorn starts."""
    check_address(config)
    ProxyServer(config, options).run()
