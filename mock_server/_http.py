"""HTTP plumbing shared by the vendors: JSON responses, and a bounded cache of rendered bodies.

``json_response`` serialises with orjson (several times faster than the standard library).

The response cache sits in front of Flask as WSGI middleware: a repeated GET whose answer was
marked immutable (``mark_cacheable()``: a payload of the frozen seeded world) is answered from
bytes without routing, auth or rendering, which is what lets a warm mock approach a
constant-bytes server. The key is the full request identity: method, path, query string and
every header that can change the answer (credentials, Origin for CORS, the API version, Prefer),
so a cached 200 is only ever replayed to a request that would have produced it. An answer whose
headers include per-request values (Trigify's rate limit) leaves a ``ReplayHook`` in the environ
(``REPLAY_KEY``): each replay calls it, so the request is still counted and its headers are
fresh, and it can send the request to the app instead (a 429). The cache is an
LRU bounded twice: a number of entries (``cache_size``) and ``MAX_CACHE_BYTES`` of bodies per
process, with no entry above ``MAX_ENTRY_BYTES``, so its memory stays bounded however many
distinct answers a worker serves.

``CorsHeaders`` adds the CORS headers of actual (non-preflight) requests at the WSGI level: the
same headers flask-cors would add in ``after_request``, without its per-request option matching.
Preflights (``OPTIONS``) are still answered by flask-cors.
"""

from __future__ import annotations

import json
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, replace
from http import HTTPStatus
from typing import TYPE_CHECKING, Any

import orjson
from flask import Response, request

from mock_server._budget import RESPONSE_BYTES, compact

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIApplication, WSGIEnvironment

CACHEABLE_KEY = "stepspec.cacheable"
"""WSGI environ flag a view sets (through ``mark_cacheable``) when its answer is immutable."""
OPERATION_KEY = "stepspec.operation"
"""WSGI environ entry naming the matched OpenAPI operation (for coverage and logs)."""
REPLAY_KEY = "stepspec.replay"
"""WSGI environ entry a vendor sets (``ReplayHook``) when a cacheable answer carries headers
that must be computed per request (Trigify's ``RateLimit-*``): stored with the entry and called
on every replay."""

_KEY_HEADERS = (
    "HTTP_AUTHORIZATION",
    "HTTP_X_API_KEY",
    "HTTP_ORIGIN",
    "HTTP_ELASTIC_API_VERSION",
    "HTTP_KBN_XSRF",
    "HTTP_ACCEPT",
)
_BYPASS_HEADERS = ("HTTP_PREFER", "HTTP_ACCESS_CONTROL_REQUEST_METHOD", "HTTP_COOKIE")
MAX_ENTRY_BYTES = 256 * 1024
"""Bigger answers (a 5,000-step page) are not cached: the cache's memory stays bounded."""
MAX_CACHE_BYTES = RESPONSE_BYTES
"""Bodies kept per process (with ``ENTRY_OVERHEAD`` per entry for its key and headers): the
response cache's share of the worker's one budget for bodies (``mock_server._budget``), about
600 answers of ~1 KB (benchmarks/README.md, "Memory")."""
ENTRY_OVERHEAD = 1024
"""What an entry costs besides its body (its key's strings, headers, the entry and its slot in
the table), measured with tracemalloc: ~900 bytes for a Kibana step."""


_STATUS_LINES = {s.value: f"{s.value} {s.phrase}" for s in HTTPStatus}
"""``401 Unauthorized`` as servers write it (werkzeug would send ``401 UNAUTHORIZED``)."""


def json_response(
    obj: Any, status: int = 200, headers: Mapping[str, str] | None = None
) -> Response:
    """A JSON response serialised with orjson (keys in insertion order, no spaces)."""
    return Response(
        json_bytes(obj),
        status=_STATUS_LINES.get(status, status),
        headers=headers,
        mimetype="application/json",
    )


def json_bytes(obj: Any) -> bytes:
    """``obj`` as the JSON bytes ``json_response`` sends."""
    try:
        return orjson.dumps(obj)
    except TypeError:  # integers beyond 64 bits (a client may send page=10**30): stdlib can
        return json.dumps(obj, separators=(",", ":"), ensure_ascii=False).encode()


def mark_cacheable() -> None:
    """Declare the current GET's answer immutable, so identical requests may replay it."""
    request.environ[CACHEABLE_KEY] = True


ReplayHook = Callable[["WSGIEnvironment"], "Mapping[str, str] | None"]
"""Called on each replay of an entry: the fresh values of its per-request headers (replacing
the stored values of the headers so named, in place), or None when the request must not be
answered from the cache (it then goes to the app, e.g. for a 429)."""


@dataclass(frozen=True, slots=True)
class CachedResponse:
    """A rendered answer: status line, headers and body bytes (and its ``ReplayHook``)."""

    status: str
    headers: tuple[tuple[str, str], ...]
    body: bytes
    operation: str | None
    replay: ReplayHook | None = None


class ResponseCache:
    """A thread-safe LRU of ``CachedResponse`` with at most ``size`` entries and ``max_bytes``
    of bodies (each entry counted with ``ENTRY_OVERHEAD``)."""

    def __init__(self, size: int, max_bytes: int = MAX_CACHE_BYTES) -> None:
        self.size = size
        self.max_bytes = max_bytes
        self.bytes = 0
        self._entries: OrderedDict[tuple[str, ...], CachedResponse] = OrderedDict()
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._entries)

    def get(self, key: tuple[str, ...]) -> CachedResponse | None:
        """The entry for ``key`` (now most recently used), or None."""
        with self._lock:
            entry = self._entries.get(key)
            if entry is not None:
                self._entries.move_to_end(key)
            return entry

    def put(self, key: tuple[str, ...], entry: CachedResponse) -> None:
        """Store ``entry``, evicting the least recently used beyond ``size`` or ``max_bytes``."""
        cost = len(entry.body) + ENTRY_OVERHEAD
        if self.size <= 0 or cost > self.max_bytes:
            return
        entry = replace(entry, body=compact(entry.body))  # not orjson's oversized buffer
        with self._lock:
            replaced = self._entries.pop(key, None)
            if replaced is not None:
                self.bytes -= len(replaced.body) + ENTRY_OVERHEAD
            self._entries[key] = entry
            self.bytes += cost
            while len(self._entries) > self.size or self.bytes > self.max_bytes:
                _, evicted = self._entries.popitem(last=False)
                self.bytes -= len(evicted.body) + ENTRY_OVERHEAD

    def clear(self) -> None:
        """Forget everything (e.g. after the world's live state changed in this process)."""
        with self._lock:
            self._entries.clear()
            self.bytes = 0


HitListener = Callable[["WSGIEnvironment", CachedResponse], None]


class CorsHeaders:
    """WSGI middleware: flask-cors' answer headers for a cross-origin request that is not a
    preflight, for ``origins="*"`` with ``supports_credentials`` (so the request's ``Origin`` is
    echoed, with ``Vary: Origin``) and the default ``allow_private_network=False``.

    A response that already carries ``Access-Control-Allow-Origin`` (flask-cors' error-handler
    wrapper sets it on errors) is left alone, as flask-cors leaves it alone.
    """

    def __init__(self, app: WSGIApplication, expose_headers: Iterable[str]) -> None:
        self.app = app
        self.expose = ", ".join(sorted(expose_headers))

    def headers(self, environ: WSGIEnvironment) -> list[tuple[str, str]]:
        """The headers to add for ``environ`` (empty: not a cross-origin actual request)."""
        origin = environ.get("HTTP_ORIGIN")
        if not origin or environ.get("REQUEST_METHOD") == "OPTIONS":
            return []
        extra = [
            ("Access-Control-Allow-Origin", origin),
            ("Access-Control-Expose-Headers", self.expose),
            ("Access-Control-Allow-Credentials", "true"),
        ]
        if environ.get("HTTP_ACCESS_CONTROL_REQUEST_PRIVATE_NETWORK") == "true":
            extra.append(("Access-Control-Allow-Private-Network", "false"))
        extra.append(("Vary", "Origin"))
        return extra

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        extra = self.headers(environ)
        if not extra:
            return self.app(environ, start_response)

        def add(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
            if not any(name.lower() == "access-control-allow-origin" for name, _ in headers):
                headers = [*headers, *extra]
            return start_response(status, headers, exc_info)

        return self.app(environ, add)


class CachingMiddleware:
    """WSGI middleware that replays cached immutable GET answers (see the module docstring).

    ``enabled`` is false when per-request behaviour must run every time (injected errors or
    latency); ``on_hit`` lets observers such as coverage recording see replayed answers too.
    """

    def __init__(self, app: WSGIApplication, cache: ResponseCache, *, enabled: bool = True):
        self.app = app
        self.cache = cache
        self.enabled = enabled and cache.size > 0
        self.on_hit: list[HitListener] = []

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        if not self.enabled or environ.get("REQUEST_METHOD") != "GET":
            return self.app(environ, start_response)
        if any(name in environ for name in _BYPASS_HEADERS):
            return self.app(environ, start_response)
        key = (
            environ.get("PATH_INFO", ""),
            environ.get("QUERY_STRING", ""),
            # An empty header is not an absent one (Kibana rejects `elastic-api-version:`).
            *(environ.get(name, "\0absent") for name in _KEY_HEADERS),
        )
        hit = self.cache.get(key)
        if hit is not None:
            headers = list(hit.headers)
            if hit.replay is not None:
                fresh = hit.replay(environ)
                if fresh is None:
                    return self.app(environ, start_response)
                headers = [(name, fresh.get(name, value)) for name, value in headers]
            for listener in self.on_hit:
                listener(environ, hit)
            start_response(hit.status, headers)
            return [hit.body]
        captured: dict[str, Any] = {}

        def capture(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
            captured["status"], captured["headers"] = status, headers
            return start_response(status, headers, exc_info)

        chunks = self.app(environ, capture)
        if not environ.get(CACHEABLE_KEY) or not str(captured.get("status", "")).startswith("200"):
            return chunks
        try:
            body = b"".join(chunks)
        finally:
            close = getattr(chunks, "close", None)
            if close is not None:
                close()
        if len(body) > MAX_ENTRY_BYTES:
            return [body]
        self.cache.put(
            key,
            CachedResponse(
                captured["status"],
                tuple(captured["headers"]),
                body,
                environ.get(OPERATION_KEY),
                environ.get(REPLAY_KEY),
            ),
        )
        return [body]
