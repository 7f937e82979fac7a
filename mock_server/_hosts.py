"""The DNS-rebinding guard of the mock and the proxy: only loopback ``Host`` names are answered.

A server on 127.0.0.1 is still reachable from any web page the developer opens: the page's
script cannot read another origin, but a hostile domain whose DNS answer switches to 127.0.0.1
(DNS rebinding) makes the browser treat the local server as that domain's own, and then it can
read everything, a proxy's upstream credential included. The browser still sends the hostile
name in ``Host``, so a server bound to loopback answers only requests whose ``Host`` names a
loopback address (``127.0.0.0/8``, ``localhost``, ``[::1]``, with any port) or a name given with
``--allowed-host``, as the JavaScript dev servers do (webpack-dev-server ``allowedHosts``,
Vite ``server.allowedHosts``). Anything else, a missing ``Host`` included, is a 403 in the
vendor's error envelope. A server bound to another interface was exposed on purpose and is not
guarded (its ``Host`` names are whatever the network calls it).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIApplication, WSGIEnvironment

    Refusal = Callable[[str, str], WSGIApplication]
    """``(path, message)`` -> the WSGI answer refusing the request (a 403 envelope)."""


def host_name(host_header: str) -> str:
    """The name of a ``Host`` header value: port and IPv6 brackets dropped, lower case."""
    value = host_header.strip().lower()
    if value.startswith("["):
        return value[1 : value.find("]")] if "]" in value else value
    if value.count(":") == 1:
        value = value.split(":", 1)[0]
    return value.rstrip(".")


def is_loopback(name: str) -> bool:
    """Whether ``name`` (a host name or address, no port) is this machine's loopback."""
    if name == "localhost" or name.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


def guarded(bind_host: str) -> bool:
    """Whether a server bound to ``bind_host`` answers only loopback ``Host`` names."""
    return is_loopback(host_name(bind_host))


MAX_DECIDED = 256
"""``Host`` values whose answer ``HostGuard`` remembers (a server sees one or two)."""


class HostGuard:
    """WSGI middleware: a request whose ``Host`` is neither loopback nor allowed is refused."""

    def __init__(self, app: WSGIApplication, allowed: Iterable[str], refuse: Refusal) -> None:
        self.app = app
        self.allowed = frozenset(host_name(name) for name in allowed if name.strip())
        self.refuse = refuse
        self._decided: dict[str, bool] = {}

    def permits(self, host_header: str | None) -> bool:
        """Whether a request with this ``Host`` header is answered (decided once per value)."""
        if not host_header:
            return False
        decided = self._decided.get(host_header)
        if decided is None:
            name = host_name(host_header)
            decided = is_loopback(name) or name in self.allowed
            if len(self._decided) >= MAX_DECIDED:  # a client sending endless names
                self._decided.clear()
            self._decided[host_header] = decided
        return decided

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        host = environ.get("HTTP_HOST")
        if self.permits(host):
            return self.app(environ, start_response)
        shown = repr(host) if host else "no Host header"
        message = (
            f"Host {shown} is not served: this server answers only loopback names "
            "(localhost, 127.0.0.1, [::1]) and --allowed-host names"
        )
        return self.refuse(environ.get("PATH_INFO", "/"), message)(environ, start_response)
