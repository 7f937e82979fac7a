"""Forwarding one request to the upstream, unchanged, with bounded memory in both directions.

``Upstream(config)`` owns one ``httpx.Client`` (connection pool, TLS verified unless
``insecure``, the upstream timeout for connecting, sending and every read). The client is
stripped of everything httpx would add on its own: no default headers (``User-Agent``,
``Accept-Encoding``...), no redirects followed (the client sees them), and ``trust_env=False``,
so neither ``.netrc`` credentials nor proxy variables leak into a request the developer did not
send.

- ``outgoing(environ)`` turns the WSGI request into what is sent: the same method, path, query,
  headers and body, less the hop-by-hop headers (``Connection``, ``Transfer-Encoding``...),
  ``Expect`` (answered by the serving side) and ``Host`` (the upstream's own), plus the
  ``--upstream-header`` values, which replace a header of the same name. A body up to
  ``max_judged_bytes`` is read at once (it is judged and recorded); a larger one streams
  through and only its first bytes are kept.
- ``send(request)`` returns the upstream's ``httpx.Response`` with its body still unread, or
  raises ``UpstreamFailure`` (``timeout`` or ``connection``) with a message naming the upstream.
- ``Relay`` is the WSGI body iterable: it streams the raw upstream bytes (still compressed if
  they were) as they arrive (a read returns at most 64 KB; nothing waits for a chunk to fill),
  keeps a copy for the judge only while the body stays under the cap, and calls its ``done``
  callback once, on ``close()``.
"""

from __future__ import annotations

import time
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING

import httpx

if TYPE_CHECKING:
    from _typeshed.wsgi import WSGIEnvironment

    from mock_server.proxy._config import ProxyConfig

CHUNK = 64 * 1024
HOP_BY_HOP = frozenset(
    {
        "connection",
        "keep-alive",
        "proxy-authenticate",
        "proxy-authorization",
        "proxy-connection",
        "te",
        "trailer",
        "trailers",
        "transfer-encoding",
        "upgrade",
    }
)
"""RFC 9110 section 7.6.1: meaningful for one connection only, never forwarded."""
_DECODABLE = {"gzip", "x-gzip", "deflate"}


class UpstreamFailure(Exception):
    """No answer from the upstream: ``kind`` is ``timeout`` (504) or ``connection`` (502)."""

    def __init__(self, kind: str, message: str) -> None:
        super().__init__(message)
        self.kind = kind
        self.message = message


@dataclass(frozen=True)
class Outgoing:
    """A request as it goes upstream, and the copy of its body kept for the record."""

    method: str
    url: str
    headers: tuple[tuple[str, str], ...]
    content: bytes | Iterator[bytes]
    kept_body: Callable[[], bytes]
    """The body as sent (its first ``max_judged_bytes`` when it streamed)."""


def request_headers(environ: WSGIEnvironment) -> list[tuple[str, str]]:
    """The client's request headers from a WSGI environ (names in canonical case)."""
    found = [
        (key[5:].replace("_", "-").title(), str(value))
        for key, value in environ.items()
        if key.startswith("HTTP_")
    ]
    for key, name in (("CONTENT_TYPE", "Content-Type"), ("CONTENT_LENGTH", "Content-Length")):
        if environ.get(key):
            found.append((name, str(environ[key])))
    return found


def _path_and_query(environ: WSGIEnvironment) -> str:
    raw = environ.get("RAW_URI") or environ.get("REQUEST_URI")
    if raw and raw.startswith("/"):
        return str(raw)
    path = environ.get("PATH_INFO", "") or "/"
    quoted = httpx.URL(path=path).raw_path.decode("ascii")  # percent-encodes as a client would
    query = environ.get("QUERY_STRING", "")
    return f"{quoted}?{query}" if query else quoted


class Upstream:
    """The pooled HTTP client to the target (see the module docstring)."""

    def __init__(self, config: ProxyConfig) -> None:
        self.config = config
        timeout = config.upstream_timeout
        self.client = httpx.Client(
            verify=not config.insecure,
            timeout=httpx.Timeout(timeout),
            follow_redirects=False,
            trust_env=False,
            limits=httpx.Limits(
                max_connections=config.threads * 2, max_keepalive_connections=config.threads
            ),
        )
        self.client.headers.clear()
        self._own = {name.lower() for name, _ in config.upstream_headers}

    def close(self) -> None:
        """Close the pooled connections."""
        self.client.close()

    def outgoing(self, environ: WSGIEnvironment) -> Outgoing:
        """What ``environ`` becomes upstream (see the module docstring)."""
        headers = request_headers(environ)
        # ``Expect: 100-continue`` was answered by the serving side already.
        dropped = set(HOP_BY_HOP) | {"host", "expect"} | self._own
        for name, value in headers:
            if name.lower() == "connection":
                dropped |= {token.strip().lower() for token in value.split(",")}
        sent = [(n, v) for n, v in headers if n.lower() not in dropped]
        sent.extend(self.config.upstream_headers)
        content, kept = self._body(environ)
        return Outgoing(
            method=environ["REQUEST_METHOD"],
            url=self.config.base_url + _path_and_query(environ),
            headers=tuple(sent),
            content=content,
            kept_body=kept,
        )

    def _body(
        self, environ: WSGIEnvironment
    ) -> tuple[bytes | Iterator[bytes], Callable[[], bytes]]:
        stream = environ["wsgi.input"]
        length_text = environ.get("CONTENT_LENGTH") or ""
        chunked = "chunked" in environ.get("HTTP_TRANSFER_ENCODING", "").lower()
        length = int(length_text) if length_text.isdigit() else None
        cap = self.config.max_judged_bytes
        if length is not None and length <= cap and not chunked:
            body = _read_exactly(stream, length)
            return body, lambda: body
        if length is None and not chunked:
            return b"", lambda: b""
        kept = bytearray()

        def chunks() -> Iterator[bytes]:
            left = length
            while left is None or left > 0:
                chunk = stream.read(CHUNK if left is None else min(CHUNK, left))
                if not chunk:
                    return
                if left is not None:
                    left -= len(chunk)
                if len(kept) < cap:
                    kept.extend(chunk[: cap - len(kept)])
                yield chunk

        return chunks(), lambda: bytes(kept)

    def send(self, outgoing: Outgoing) -> httpx.Response:
        """The upstream's response, body unread; ``UpstreamFailure`` when none came."""
        request = self.client.build_request(
            outgoing.method, outgoing.url, headers=list(outgoing.headers), content=outgoing.content
        )
        seconds = self.config.upstream_timeout
        try:
            return self.client.send(request, stream=True)
        except httpx.TimeoutException as error:
            raise UpstreamFailure(
                "timeout",
                f"the upstream {self.config.base_url} did not answer within {seconds:g} s "
                f"({_phase(error)}; --upstream-timeout)",
            ) from None
        except httpx.HTTPError as error:
            raise UpstreamFailure(
                "connection",
                f"the upstream {self.config.base_url} could not be reached: {_reason(error)}",
            ) from None


def _read_exactly(stream: object, length: int) -> bytes:
    parts: list[bytes] = []
    left = length
    read = stream.read  # type: ignore[attr-defined]
    while left > 0:
        chunk = read(min(CHUNK, left))
        if not chunk:
            break
        parts.append(chunk)
        left -= len(chunk)
    return b"".join(parts)


def _phase(error: httpx.TimeoutException) -> str:
    if isinstance(error, httpx.ConnectTimeout):
        return "connecting timed out"
    if isinstance(error, httpx.WriteTimeout):
        return "sending the request timed out"
    if isinstance(error, httpx.PoolTimeout):
        return "no free connection"
    return "no response"


def _reason(error: httpx.HTTPError) -> str:
    text = str(error) or type(error).__name__
    if isinstance(error, httpx.ConnectError) and "refused" in text.lower():
        return "connection refused"
    return text


class Relay:
    """The WSGI body of a forwarded response (see the module docstring)."""

    def __init__(
        self,
        response: httpx.Response,
        cap: int,
        done: Callable[[Relay], None],
    ) -> None:
        self.response = response
        self.cap = cap
        self.done = done
        declared = response.headers.get("content-length", "")
        self.size = 0
        self.over_cap = declared.isdigit() and int(declared) > cap
        """The body is larger than the cap: nothing of it is kept."""
        self.kept = bytearray()
        self.error = ""
        """``<kind>: <message>`` when the body did not arrive whole (``conformance._client``
        error kinds: ``timeout``, ``truncated``)."""
        self.finished = False
        """The whole body went to the client."""
        self.ended = 0.0
        self._closed = False

    def __iter__(self) -> Iterator[bytes]:
        try:
            for chunk in self.response.iter_raw():
                self.size += len(chunk)
                if not self.over_cap:
                    if self.size > self.cap:
                        self.over_cap = True
                        self.kept = bytearray()
                    else:
                        self.kept.extend(chunk)
                yield chunk
            self.finished = True
        except httpx.TimeoutException:
            self.error = (
                f"timeout: the body stalled after {self.size} bytes (no data within "
                f"{_seconds(self.response)} s)"
            )
        except httpx.HTTPError as error:
            self.error = (
                f"truncated: the upstream closed the body after {self.size} bytes ({error})"
            )

    def body(self) -> bytes | None:
        """The body as the client's JSON parser sees it (decompressed), or None when it is
        over the cap or in an encoding the proxy cannot read."""
        if self.over_cap:
            return None
        encoding = self.response.headers.get("content-encoding", "identity").strip().lower()
        if encoding in ("", "identity"):
            return bytes(self.kept)
        if encoding not in _DECODABLE:
            return None
        decoder = zlib.decompressobj(zlib.MAX_WBITS | 32)  # gzip or zlib header, detected
        try:
            data = decoder.decompress(bytes(self.kept), self.cap + 1)
        except zlib.error:
            try:
                data = zlib.decompressobj(-zlib.MAX_WBITS).decompress(
                    bytes(self.kept), self.cap + 1
                )
            except zlib.error:
                return None
        return None if len(data) > self.cap else data

    def close(self) -> None:
        """Release the upstream connection and report the exchange (once)."""
        if self._closed:
            return
        self._closed = True
        self.ended = time.monotonic()
        self.response.close()
        self.done(self)


def _seconds(response: httpx.Response) -> str:
    timeout = response.request.extensions.get("timeout", {})
    value = timeout.get("read") if isinstance(timeout, dict) else None
    return f"{value:g}" if isinstance(value, int | float) else "the timeout"
