"""The kit's HTTP client: every request is bounded in time, size and redirects.

Built on ``http.client`` (standard library) rather than ``requests`` because a hard deadline
needs the socket: ``requests`` timeouts apply per socket read, so a server that drips one byte
per second never times out. Here a watchdog thread (one for the whole process, ``_Deadlines``)
shuts the socket down when a request's deadline passes, whatever phase it is in (connect,
headers, body).

Bounds: ``timeout`` seconds per request in total (across redirects), ``MAX_BODY`` bytes of body,
``MAX_REDIRECTS`` hops. Breaking a bound is not an exception: the result carries a
``TransportError`` and whatever part of the response arrived. Only the very first failure to
connect at all becomes ``TargetUnreachable`` (decided by the caller).

Secrets: callers pass ``secrets`` (value -> placeholder); every ``RecordedRequest`` this module
produces has them replaced, and so has every response (a server may echo a key back), so
nothing downstream ever holds a key.
"""

from __future__ import annotations

import contextlib
import enum
import heapq
import http.client
import itertools
import math
import socket
import ssl
import threading
import time
import urllib.parse
from collections.abc import Mapping
from dataclasses import dataclass, field

from conformance.findings import RecordedRequest

MAX_BODY = 10 * 1024 * 1024
"""Bodies larger than this are cut off and reported (10 MB)."""
MAX_REDIRECTS = 5
_CHUNK = 64 * 1024
_REDIRECTS = frozenset({301, 302, 303, 307, 308})
USER_AGENT = "stepspec-check/0.1"
_DEFAULT_HEADERS = {"User-Agent": USER_AGENT, "Accept": "application/json"}


class ErrorKind(enum.StrEnum):
    """Why a request did not produce a complete response."""

    CONNECTION = "connection"
    TIMEOUT = "timeout"
    TOO_LARGE = "too_large"
    TRUNCATED = "truncated"
    REDIRECT_LOOP = "redirect_loop"
    PROTOCOL = "protocol"


@dataclass(frozen=True)
class TransportError:
    """A bound that was hit or a broken connection, in words a report can show."""

    kind: ErrorKind
    message: str


@dataclass(frozen=True)
class HttpResponse:
    """What came back (possibly partial when ``HttpResult.error`` is set)."""

    status: int
    reason: str
    headers: Mapping[str, str]
    """Header names lower-cased; repeated headers joined with ``, ``."""
    body: bytes

    @property
    def content_type(self) -> str:
        """The media type without parameters, lower-cased (``""`` when absent)."""
        return self.headers.get("content-type", "").split(";", 1)[0].strip().lower()


@dataclass(frozen=True)
class HttpResult:
    """One request and its outcome."""

    request: RecordedRequest
    response: HttpResponse | None
    error: TransportError | None
    elapsed: float
    redirects: tuple[str, ...] = field(default=())


class _Watchdog:
    """Shuts a connection's socket down when the deadline passes (see ``_Deadlines``)."""

    def __init__(self, connection: http.client.HTTPConnection, seconds: float) -> None:
        self.fired = False
        self.done = False
        """Set (under the deadlines' lock) when the request ended: it can no longer fire."""
        self.deadline = time.monotonic() + max(seconds, 0.001)
        self._connection: http.client.HTTPConnection | None = connection

    def fire(self) -> None:
        """The deadline passed while the request was still going: cut the connection."""
        self.fired = True
        sock = self._connection.sock if self._connection is not None else None
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)

    def __enter__(self) -> _Watchdog:
        _DEADLINES.watch(self)
        return self

    def __exit__(self, *_: object) -> None:
        _DEADLINES.release(self)
        self._connection = None


class _Deadlines:
    """One daemon thread, shared by every client, that fires watchdogs whose deadline passed.

    A thread per request (``threading.Timer``) cost more CPU than a small request itself. The
    thread sleeps until the earliest deadline; a request that ends marks its watchdog done, and
    the thread drops it when it wakes. Requests are sent one after another, so a new deadline
    is almost never earlier than the one the thread sleeps until, and it is not woken.
    """

    def __init__(self) -> None:
        self._wakeup = threading.Condition(threading.Lock())
        self._pending: list[tuple[float, int, _Watchdog]] = []
        self._order = itertools.count()
        self._thread: threading.Thread | None = None
        self._sleeps_until = math.inf

    def watch(self, watchdog: _Watchdog) -> None:
        """Fire ``watchdog`` at its deadline unless it is released first."""
        with self._wakeup:
            heapq.heappush(self._pending, (watchdog.deadline, next(self._order), watchdog))
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(
                    target=self._run, name="stepspec-deadlines", daemon=True
                )
                self._thread.start()
            elif watchdog.deadline < self._sleeps_until:
                self._wakeup.notify()

    def release(self, watchdog: _Watchdog) -> None:
        """The request ended: ``watchdog`` never fires after this returns."""
        with self._wakeup:
            watchdog.done = True

    def _run(self) -> None:
        with self._wakeup:
            while True:
                now = time.monotonic()
                while self._pending and (self._pending[0][2].done or self._pending[0][0] <= now):
                    _, _, watchdog = heapq.heappop(self._pending)
                    if not watchdog.done:
                        watchdog.done = True
                        watchdog.fire()
                self._sleeps_until = self._pending[0][0] if self._pending else math.inf
                self._wakeup.wait(None if not self._pending else self._sleeps_until - now)


_DEADLINES = _Deadlines()


class BoundedClient:
    """Sends requests to one target with hard bounds (see the module docstring)."""

    def __init__(self, *, timeout: float, secrets: Mapping[str, str] | None = None) -> None:
        if timeout <= 0:
            raise ValueError("timeout must be positive")
        self.timeout = timeout
        self._secrets = {
            value: placeholder for value, placeholder in (secrets or {}).items() if value
        }
        self._tls_context: ssl.SSLContext | None = None

    @property
    def _tls(self) -> ssl.SSLContext:
        """The TLS context, built on the first ``https`` request (loading the system's
        certificates costs ~20 ms of CPU, which a client that never sends, such as the offline
        judge's, or that only speaks ``http``, never pays)."""
        if self._tls_context is None:
            self._tls_context = ssl.create_default_context()
        return self._tls_context

    def mask(self, text: str) -> str:
        """``text`` with every secret replaced by its placeholder (see ``scrub``)."""
        return scrub(text, self._secrets)

    def mask_header(self, value: str) -> str:
        """A header value with any secret in it masked, however short the secret is."""
        return scrub(value, self._secrets, min_length=1)

    def record(
        self, method: str, url: str, headers: Mapping[str, str], body: bytes | None = None
    ) -> RecordedRequest:
        """The masked record of a request: every header it carries, and its body."""
        sent = {**_DEFAULT_HEADERS, **headers}
        return RecordedRequest(
            method=method.upper(),
            url=self.mask(url),
            headers=tuple((name, self.mask_header(value)) for name, value in sent.items()),
            body=None if body is None else self.mask(body.decode("utf-8", "backslashreplace")),
        )

    def request(
        self, method: str, url: str, headers: Mapping[str, str], body: bytes | None = None
    ) -> HttpResult:
        """Send one request (following redirects) within ``timeout`` seconds in total.

        ``body`` (writes only) is sent as is; the caller sets its ``Content-Type``. A 303
        redirect turns the request into a GET without a body, as browsers do.
        """
        start = time.monotonic()
        deadline = start + self.timeout
        record = self.record(method, url, headers, body)
        current_url, current_method, current_headers = url, method.upper(), dict(headers)
        hops: list[str] = []
        while True:
            response, error = self._send_once(
                current_method, current_url, current_headers, deadline, body
            )
            elapsed = time.monotonic() - start
            if error is not None or response is None or response.status not in _REDIRECTS:
                return HttpResult(record, response, error, elapsed, tuple(hops))
            location = response.headers.get("location")
            if not location:
                return HttpResult(record, response, None, elapsed, tuple(hops))
            next_url = urllib.parse.urljoin(current_url, location)
            hops.append(self.mask(next_url))
            if len(hops) > MAX_REDIRECTS:
                loop = TransportError(
                    ErrorKind.REDIRECT_LOOP,
                    f"more than {MAX_REDIRECTS} redirects (last to {self.mask(next_url)!r})",
                )
                return HttpResult(record, response, loop, elapsed, tuple(hops))
            if _origin(next_url) != _origin(current_url):
                # Never carry credentials to another origin (the same rule as browsers/requests).
                current_headers = {
                    k: v for k, v in current_headers.items() if self.mask_header(v) == v
                }
            if response.status == 303:
                current_method, body = "GET", None
                current_headers = {
                    k: v for k, v in current_headers.items() if k.lower() != "content-type"
                }
            current_url = next_url

    def _send_once(
        self,
        method: str,
        url: str,
        headers: Mapping[str, str],
        deadline: float,
        body: bytes | None = None,
    ) -> tuple[HttpResponse | None, TransportError | None]:
        parts = urllib.parse.urlsplit(url)
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            return None, _timeout(self.timeout)
        connection: http.client.HTTPConnection
        if parts.scheme == "https":
            connection = http.client.HTTPSConnection(
                parts.hostname or "", parts.port, timeout=remaining, context=self._tls
            )
        elif parts.scheme == "http":
            connection = http.client.HTTPConnection(
                parts.hostname or "", parts.port, timeout=remaining
            )
        else:
            return None, TransportError(
                ErrorKind.PROTOCOL, f"unsupported URL scheme {parts.scheme!r}"
            )
        target = urllib.parse.urlunsplit(("", "", parts.path or "/", parts.query, ""))
        sent = {**_DEFAULT_HEADERS, **headers}
        sent["Connection"] = "close"
        try:
            with _Watchdog(connection, remaining) as watchdog:
                try:
                    connection.request(method, target, body=body, headers=sent)
                    raw = connection.getresponse()
                    status, reason = raw.status, raw.reason
                    header_map = _headers(raw)
                    received, error = _read_body(raw, deadline)
                except (OSError, http.client.HTTPException) as exc:
                    if (
                        watchdog.fired
                        or time.monotonic() >= deadline
                        or isinstance(exc, TimeoutError)
                    ):
                        return None, _timeout(self.timeout)
                    return None, TransportError(ErrorKind.CONNECTION, _describe(exc))
                if error is None and watchdog.fired:
                    error = _timeout(self.timeout)
                if error is not None and error.kind is ErrorKind.TRUNCATED and watchdog.fired:
                    error = _timeout(self.timeout)
        finally:
            connection.close()
        # A server may echo the credential back (debug pages, error messages): mask it here,
        # before any check can quote or truncate it.
        received = self._scrub_body(received)
        header_map = {name: self.mask(value) for name, value in header_map.items()}
        return HttpResponse(status, reason, header_map, received), error

    def _scrub_body(self, body: bytes) -> bytes:
        for value in sorted(self._secrets, key=len, reverse=True):
            if len(value) >= SCRUB_MIN_LENGTH:
                body = body.replace(value.encode(), self._secrets[value].encode())
        return body


SCRUB_MIN_LENGTH = 6
"""Secrets at least this long are scrubbed from free text too."""


def scrub(text: str, secrets: Mapping[str, str], *, min_length: int = SCRUB_MIN_LENGTH) -> str:
    """``text`` with each secret replaced by its placeholder, longest secrets first.

    Header values are masked whatever the secret's length (``min_length=1``); in free text
    (URLs, messages, whole reports) a secret shorter than ``SCRUB_MIN_LENGTH`` is left alone,
    because replacing every ``k`` of a one-letter test key would garble the text without
    protecting anything: such a key never reaches free text through the kit itself.
    """
    for value in sorted(secrets, key=len, reverse=True):
        if value and len(value) >= min_length:
            text = text.replace(value, secrets[value])
    return text


def _read_body(
    raw: http.client.HTTPResponse, deadline: float
) -> tuple[bytes, TransportError | None]:
    chunks: list[bytes] = []
    size = 0
    while True:
        if time.monotonic() >= deadline:
            return b"".join(chunks), _timeout(None)
        try:
            chunk = raw.read(_CHUNK)
        except http.client.IncompleteRead as exc:
            chunks.append(exc.partial)
            return b"".join(chunks), TransportError(
                ErrorKind.TRUNCATED,
                f"the connection closed after {size + len(exc.partial)} body bytes; "
                f"{exc.expected} more were announced",
            )
        if not chunk:
            announced = raw.getheader("content-length")
            if announced and announced.strip().isdigit() and size < int(announced):
                return b"".join(chunks), TransportError(
                    ErrorKind.TRUNCATED,
                    f"the connection closed after {size} of {int(announced)} announced body bytes",
                )
            return b"".join(chunks), None
        chunks.append(chunk)
        size += len(chunk)
        if size > MAX_BODY:
            return b"".join(chunks)[:MAX_BODY], TransportError(
                ErrorKind.TOO_LARGE,
                f"the body exceeds {MAX_BODY // (1024 * 1024)} MB; reading stopped",
            )


def _headers(raw: http.client.HTTPResponse) -> dict[str, str]:
    found: dict[str, str] = {}
    for name, value in raw.getheaders():
        key = name.lower()
        found[key] = f"{found[key]}, {value}" if key in found else value
    return found


def _origin(url: str) -> tuple[str, str, int | None]:
    parts = urllib.parse.urlsplit(url)
    return parts.scheme, (parts.hostname or "").lower(), parts.port


def _timeout(seconds: float | None) -> TransportError:
    limit = f" of {seconds:g} s" if seconds is not None else ""
    return TransportError(ErrorKind.TIMEOUT, f"no complete response within the --timeout{limit}")


def _describe(exc: BaseException) -> str:
    text = str(exc) or type(exc).__name__
    return f"{type(exc).__name__}: {text}"
