"""The proxy as one WSGI application: guard, own pages, CORS, forward, judge.

Per request, in order:

1. bound to loopback, ``mock_server._hosts.HostGuard`` refuses a ``Host`` that is neither
   loopback nor ``--allowed-host`` (403 in the vendor's envelope);
2. ``/_stepspec/traffic`` (and its files) is the proxy's own Traffic view, never forwarded;
3. a CORS preflight is answered by the proxy (``_cors``); restricted CORS refuses a request
   from another origin before it is forwarded (403 in the vendor's envelope, no CORS headers);
4. everything else is forwarded unchanged (``_forward``): the upstream's status, headers (less
   hop-by-hop and ``Access-Control-*``, plus the proxy's CORS headers) and body bytes, streamed.
   The body is never changed. An upstream that cannot be reached answers 502, one that stays
   silent past ``--upstream-timeout`` 504, both in the vendor's error envelope with a message
   naming the upstream and ``X-Stepspec-Proxy`` saying the answer is the proxy's own;
5. when the answer is over, the exchange goes to the ``TrafficLog`` (judge, recording, view).
"""

from __future__ import annotations

import time
from datetime import UTC, datetime
from importlib import resources
from typing import TYPE_CHECKING, Any

from conformance.har import HarEntry
from mock_server._app import load_vendors
from mock_server._hosts import HostGuard, guarded
from mock_server._http import json_response
from mock_server.proxy._cors import CorsPolicy
from mock_server.proxy._forward import HOP_BY_HOP, Outgoing, Relay, Upstream, UpstreamFailure
from mock_server.proxy._traffic import TrafficLog

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable

    from _typeshed.wsgi import StartResponse, WSGIApplication, WSGIEnvironment
    from flask import Response

    from mock_server._vendor import Vendor
    from mock_server.proxy._config import ProxyConfig

PREFIX = "/_stepspec"
PROXY_HEADER = "X-Stepspec-Proxy"
"""Set on answers the proxy made itself (``upstream-timeout``, ``upstream-unreachable``,
``host-refused``, ``origin-refused``), so nobody mistakes them for the upstream's."""
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; "
    "base-uri 'none'; form-action 'none'; frame-ancestors 'self'"
)
_FILES = {
    "traffic.js": ("mock_server.proxy", "text/javascript; charset=utf-8"),
    "traffic.css": ("mock_server.proxy", "text/css; charset=utf-8"),
    "viewer.css": ("mock_server.viewer", "text/css; charset=utf-8"),
}


def _vendor(api: str) -> Vendor:
    for vendor in load_vendors():
        if vendor.name == api:
            return vendor
    raise LookupError(f"no mock vendor is named {api!r}")  # ProxyConfig checked the name


class ProxyApp:
    """The WSGI app of ``stepspec proxy`` (see the module docstring)."""

    def __init__(self, config: ProxyConfig, *, emit: Callable[[str], None] | None = None) -> None:
        self.config = config
        self.vendor = _vendor(config.api)
        self.upstream = Upstream(config)
        self.traffic = TrafficLog(config, emit=emit)
        self.cors = CorsPolicy(config.cors_origins if config.restricted_cors else None)
        self.files = {
            name: ((resources.files(package) / name).read_bytes(), kind)
            for name, (package, kind) in _FILES.items()
        }
        self.files["traffic"] = (
            (resources.files("mock_server.proxy") / "traffic.html").read_bytes(),
            "text/html; charset=utf-8",
        )
        app: WSGIApplication = self._dispatch
        if guarded(config.host):
            app = HostGuard(app, config.allowed_hosts, self._refuse_host)
        self._app = app

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        return self._app(environ, start_response)

    def close(self) -> None:
        """Judge what is left, write the recording and the report, close the pool."""
        self.traffic.close()
        self.upstream.close()

    # -- dispatch ------------------------------------------------------------------------------

    def _dispatch(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "")
        if path == PREFIX or path.startswith(PREFIX + "/"):
            return self._own(path[len(PREFIX) :], environ, start_response)
        if CorsPolicy.is_preflight(environ):
            start_response("200 OK", self.cors.preflight(environ))
            return [b""]
        origin = self.cors.refuses(environ)
        if origin is not None:
            answer = self.vendor.error_response(
                403,
                f"stepspec proxy: origin {origin!r} may not use this proxy: it adds a credential "
                "of its own (--upstream-header), so it answers only --cors-origin origins",
            )
            answer.headers[PROXY_HEADER] = "origin-refused"
            return answer(environ, start_response)
        return self._forward(environ, start_response)

    def _refuse_host(self, path: str, message: str) -> Response:
        answer = self.vendor.error_response(403, f"stepspec proxy: {message}")
        answer.headers[PROXY_HEADER] = "host-refused"
        return answer

    def _own(
        self, rest: str, environ: WSGIEnvironment, start_response: StartResponse
    ) -> Iterable[bytes]:
        name = rest.lstrip("/") or "traffic"
        if environ.get("REQUEST_METHOD") not in ("GET", "HEAD") or name not in self.files:
            known = ", ".join(f"{PREFIX}/{n}" for n in ("traffic", "traffic?format=json"))
            body = {
                "statusCode": 404,
                "error": "Not Found",
                "message": f"The proxy serves {known} under {PREFIX}; everything else is "
                "forwarded to the upstream",
            }
            return json_response(body, 404)(environ, start_response)
        query = environ.get("QUERY_STRING", "")
        if name == "traffic" and (
            "format=json" in query.split("&")
            or "application/json" in environ.get("HTTP_ACCEPT", "")
        ):
            answer = json_response(self.traffic.snapshot())
            answer.headers["Cache-Control"] = "no-store"
            return answer(environ, start_response)
        data, kind = self.files[name]
        start_response(
            "200 OK",
            [
                ("Content-Type", kind),
                ("Content-Length", str(len(data))),
                ("Cache-Control", "no-cache"),
                ("Content-Security-Policy", CSP),
                ("X-Content-Type-Options", "nosniff"),
            ],
        )
        return [data]

    # -- forwarding ----------------------------------------------------------------------------

    def _forward(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        started, clock = datetime.now(UTC), time.monotonic()
        outgoing = self.upstream.outgoing(environ)
        try:
            response = self.upstream.send(outgoing)
        except UpstreamFailure as failure:
            return self._failed(outgoing, failure, started, clock, environ, start_response)
        answered = time.monotonic()
        headers = [
            (name, value)
            for name, value in response.headers.multi_items()
            if name.lower() not in HOP_BY_HOP
        ]
        reason = response.reason_phrase or "Unknown"
        # The serving side writes its own Date and Server (as nginx does); all else is kept.
        relayed = [(n, v) for n, v in headers if n.lower() not in ("date", "server")]
        start_response(
            f"{response.status_code} {reason}", self.cors.answer_headers(environ, relayed)
        )

        def done(relay: Relay) -> None:
            self._finished(outgoing, relay, headers, started, clock, answered)

        return Relay(response, self.config.max_judged_bytes, done)

    def _failed(
        self,
        outgoing: Outgoing,
        failure: UpstreamFailure,
        started: datetime,
        clock: float,
        environ: WSGIEnvironment,
        start_response: StartResponse,
    ) -> Iterable[bytes]:
        status = 504 if failure.kind == "timeout" else 502
        answer = self.vendor.error_response(status, f"stepspec proxy: {failure.message}")
        answer.headers[PROXY_HEADER] = (
            "upstream-timeout" if failure.kind == "timeout" else "upstream-unreachable"
        )
        entry = HarEntry(
            method=outgoing.method,
            url=outgoing.url,
            request_headers=outgoing.headers,
            request_body=outgoing.kept_body(),
            started=started,
            time_ms=(time.monotonic() - clock) * 1000,
            error=f"{failure.kind}: {failure.message}",
        )
        self.traffic.add(entry)
        headers = self.cors.answer_headers(environ, list(answer.headers.items()))
        start_response(answer.status, headers)
        return [answer.get_data()]

    def _finished(
        self,
        outgoing: Outgoing,
        relay: Relay,
        headers: list[tuple[str, str]],
        started: datetime,
        clock: float,
        answered: float,
    ) -> None:
        response = relay.response
        common: dict[str, Any] = {
            "method": outgoing.method,
            "url": outgoing.url,
            "request_headers": outgoing.headers,
            "request_body": outgoing.kept_body(),
            "status": response.status_code,
            "reason": response.reason_phrase,
            "response_headers": tuple(headers),
            "started": started,
            "time_ms": (relay.ended - clock) * 1000,
            "timings": {
                "send": 0.0,
                "wait": (answered - clock) * 1000,
                "receive": (relay.ended - answered) * 1000,
            },
        }
        if not relay.finished and not relay.error:
            note = "not judged: the client closed the connection before the body ended"
            self.traffic.add(HarEntry(**common), judge=False, note=note)
            return
        if relay.over_cap:
            cap = self.config.max_judged_bytes // (1024 * 1024)
            note = f"not judged: the body ({relay.size} bytes) is over the {cap} MB judging cap"
            self.traffic.add(HarEntry(**common), judge=False, note=note)
            return
        body = relay.body()
        if body is None:
            encoding = response.headers.get("content-encoding", "")
            note = f"not judged: the body is {encoding}-encoded, which the proxy cannot read"
            self.traffic.add(HarEntry(**common), judge=False, note=note)
            return
        self.traffic.add(HarEntry(**common, response_body=body, error=relay.error))


def create_proxy(config: ProxyConfig, *, emit: Callable[[str], None] | None = None) -> ProxyApp:
    """A proxy app for ``config``; ``emit`` receives each stderr line (tests capture it)."""
    return ProxyApp(config, emit=emit)
