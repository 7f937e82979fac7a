"""HTTP plumbing shared by the vendors: JSON responses, and a bounded cache of rendered bodies.

``json_response`` serialises with orjson (several times faster than the standard library).

The response cache sits in front of Flask as WSGI middleware: a repeated GET whose answer was
marked immutable (``mark_cacheable()``: a payload of the frozen seeded world) is answered from
bytes without routing, auth or rendering, which is what lets a warm mock approach a
constant-bytes server. The key is the full request identity: method, path, query string and
every header that can change the answer (credentials, Origin for CORS, the API version, Prefer),
so a cached 200 is only ever replayed to a request that would have produced it. The cache is an
LRU with a fixed number of entries of at most ``MAX_ENTRY_BYTES`` each, never unbounded.
"""

from __future__ import annotations

import json
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from http import HTTPStatus
from typing import TYPE_CHECKING, Any

import orjson
from flask import Response, request

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIApplication, WSGIEnvironment

CACHEABLE_KEY = "stepspec.cacheable"
"""WSGI environ flag a view sets (through ``mark_cacheable``) when its answer is immutable."""
OPERATION_KEY = "stepspec.operation"
"""WSGI environ entry naming the matched OpenAPI operation (for coverage and logs)."""

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


_STATUS_LINES = {s.value: f"{s.value} {s.phrase}" for s in HTTPStatus}
"""``401 Unauthorized`` as servers write it (werkzeug would send ``401 UNAUTHORIZED``)."""


def json_response(
    obj: Any, status: int = 200, headers: Mapping[str, str] | None = None
) -> Response:
    """A JSON response serialised with orjson (keys in insertion order, no spaces)."""
    try:
        body = orjson.dumps(obj)
    except TypeError:  # integers beyond 64 bits (a client may send page=10**30): stdlib can
        body = json.dumps(obj, separators=(",", ":"), ensure_ascii=False).encode()
    return Response(
        body, status=_STATUS_LINES.get(status, status), headers=headers, mimetype="application/json"
    )


def mark_cacheable() -> None:
    """Declare the current GET's answer immutable, so identical requests may replay it."""
    request.environ[CACHEABLE_KEY] = True


@dataclass(frozen=True, slots=True)
class CachedResponse:
    """A rendered answer: status line, headers and body bytes."""

    status: str
    headers: tuple[tuple[str, str], ...]
    body: bytes
    operation: str | None


class ResponseCache:
    """A thread-safe LRU of ``CachedResponse`` with at most ``size`` entries."""

    def __init__(self, size: int) -> None:
        self.size = size
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
        """Store ``entry``, evicting the least recently used beyond ``size``."""
        if self.size <= 0:
            return
        with self._lock:
            self._entries[key] = entry
            self._entries.move_to_end(key)
            while len(self._entries) > self.size:
                self._entries.popitem(last=False)

    def clear(self) -> None:
        """Forget everything (e.g. after the world's live state changed in this process)."""
        with self._lock:
            self._entries.clear()


HitListener = Callable[["WSGIEnvironment", CachedResponse], None]


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
            for listener in self.on_hit:
                listener(environ, hit)
            start_response(hit.status, list(hit.headers))
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
            ),
        )
        return [body]
