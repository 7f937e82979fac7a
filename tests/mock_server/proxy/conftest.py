"""Fixtures of the proxy tests: a proxy (in-process, on a real socket) in front of any server.

- ``proxy_for(target_url, **config)``: a ``ProxyApp`` for ``target_url`` served on
  ``127.0.0.1:<free port>`` in threads (werkzeug), with its stderr lines captured; returns a
  ``Proxied`` (``url``, ``app``, ``lines``, ``settle(n)``). Closed (report and recording
  written) at teardown, or earlier by the test with ``close()``.
- ``upstream(app)``: serve any WSGI app (a mock, a mutant, a misbehaving upstream) on a free
  port; yields its base URL.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import ExitStack
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import pytest

from mock_server.proxy import ProxyApp, ProxyConfig, create_proxy
from mock_server.viewer.screenshot import serve

if TYPE_CHECKING:
    from _typeshed.wsgi import WSGIApplication


@dataclass
class Proxied:
    """A proxy on a real socket."""

    url: str
    app: ProxyApp
    lines: list[str] = field(default_factory=list)
    """What the proxy wrote to stderr."""

    def settle(self, exchanges: int = 0) -> dict[str, Any]:
        """Wait until ``exchanges`` were logged and all were judged; the traffic snapshot."""
        assert self.app.traffic.wait_idle(30, exchanges=exchanges), "the judge did not catch up"
        return self.app.traffic.snapshot()

    def close(self) -> None:
        """Judge what is left and write the recording and report."""
        self.app.close()


ProxyFor = Callable[..., Proxied]


@pytest.fixture
def upstream() -> Iterator[Callable[[WSGIApplication], str]]:
    """Serve WSGI apps on free ports until the end of the test."""
    with ExitStack() as stack:
        yield lambda app: stack.enter_context(serve(app))


@pytest.fixture
def proxy_for() -> Iterator[ProxyFor]:
    """Start proxies (any config) that live until the end of the test."""
    with ExitStack() as stack:

        def start(target: str, **config: Any) -> Proxied:
            settings = {"api": "kibana", **config}
            lines: list[str] = []
            app = create_proxy(ProxyConfig(target=target, **settings), emit=lines.append)
            stack.callback(app.close)
            url = stack.enter_context(serve(app))
            return Proxied(url, app, lines)

        yield start
