"""The HTTP layer under Flask: gunicorn's worker, with the vendor's envelope and a quick Ctrl-C.

``stepspec mock`` serves the app with gunicorn's ``gthread`` worker. Two of that worker's habits
would show a client something no vendor sends, so ``EnvelopeWorker`` changes them:

- **Framing errors.** A request gunicorn cannot parse (an invalid ``Content-Length`` or
  ``Transfer-Encoding``, a malformed header line, headers beyond the limits ``stepspec mock``
  sets) never reaches Flask; gunicorn answers with an HTML page. Here it is a 400 (documented by
  every operation of the three OpenAPI documents) in the envelope of the vendor whose base path
  the request named, or the mock's neutral JSON body when no API lives there. The request line
  and headers are kept by ``_Request`` so the path is known even when parsing stopped half-way.
  The limits themselves are raised (by ``_serve``: large header fields; here: a request line of
  up to ``REQUEST_LINE_BYTES``), so that a long path or a big header reaches the app and gets
  its ordinary 404 or 400.
- **Broken bodies.** A body gunicorn decodes while the app reads it (an invalid chunk size)
  raises inside the view; ``_BodyErrors`` turns that into werkzeug's ``BadRequest``, which the
  app answers as a 400 in the vendor's envelope like any other bad request (not a 500).
- **Quick shutdown.** On SIGINT/SIGQUIT (Ctrl-C reaches every process of the group) gunicorn's
  worker raises ``SystemExit`` and the interpreter then joins the worker's thread pool, where a
  thread may sit in a keep-alive read: the master waits ``graceful_timeout`` and logs "Worker was
  sent SIGKILL! Perhaps out of memory?". The quick shutdown gunicorn asks for drops in-flight
  requests anyway, so the worker ends the process at once, after gunicorn's ``worker_int`` hook
  (where ``_serve`` writes the coverage counts the worker still holds; SQLite needs no close to
  stay intact, and the coverage report itself is written by the master).
"""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Sequence
from http import HTTPStatus
from types import FrameType
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import orjson
from gunicorn import util
from gunicorn.http.errors import (
    ConfigurationProblem,
    InvalidResponseHeader,
    InvalidResponseHeaderName,
    ParseException,
)
from gunicorn.http.message import Request
from gunicorn.http.parser import RequestParser
from gunicorn.workers.gthread import TConn, ThreadWorker
from werkzeug.exceptions import BadRequest

from mock_server._vendor import Vendor, vendor_for

if TYPE_CHECKING:
    from collections.abc import Iterable, Iterator

    from _typeshed.wsgi import StartResponse, WSGIApplication, WSGIEnvironment

FRAMING_STATUS = 400
"""Status of every request gunicorn cannot parse: the one error status all operations document."""
_HEAD_BYTES = 8192
"""How much of a broken request's first bytes is searched for its path."""
REQUEST_LINE_BYTES = 64 * 1024
"""The longest request line read (gunicorn's own limit is at most 8,190 bytes, or none)."""
_NOT_THE_CLIENTS = (ConfigurationProblem, InvalidResponseHeader, InvalidResponseHeaderName)
"""Parse errors that are the server's fault: gunicorn's own answer (a 500) stands."""
_log = logging.getLogger("mock_server")


class _Request(Request):  # type: ignore[misc]  # gunicorn ships no type hints
    """gunicorn's request, remembering its first bytes so an error can name the path."""

    head: bytearray | None = None

    def read_into(self, unreader: Any, buf: bytearray, stop: bool = False) -> None:
        if self.head is None:
            self.head = buf  # the same bytearray the parser fills (and trims) in place
        super().read_into(unreader, buf, stop)

    def read_line(self, unreader: Any, buf: bytearray, limit: int = 0) -> Any:
        return super().read_line(unreader, buf, limit or REQUEST_LINE_BYTES)

    def parse(self, unreader: Any) -> Any:
        try:
            return super().parse(unreader)
        except ParseException as error:
            error.stepspec_path = self.path or path_of_head(bytes(self.head or b""))
            raise

    def set_body_reader(self) -> None:
        try:
            super().set_body_reader()
        except ParseException as error:  # Content-Length, Transfer-Encoding
            error.stepspec_path = self.path
            raise


class _Conn(TConn):  # type: ignore[misc]
    """A connection whose HTTP/1 parser builds ``_Request``s."""

    def init(self) -> None:
        super().init()
        if isinstance(self.parser, RequestParser):
            self.parser.mesg_class = _Request


class _Body:
    """``wsgi.input`` whose decoding errors are the client's ``BadRequest``."""

    def __init__(self, stream: Any) -> None:
        self.stream = stream

    def _guarded(self, method: str, *args: Any) -> Any:
        try:
            return getattr(self.stream, method)(*args)
        except ParseException as error:
            raise BadRequest(f"The request body could not be read: {error}") from None

    def read(self, size: int | None = None) -> bytes:
        data: bytes = self._guarded("read", size)
        return data

    def readline(self, size: int | None = None) -> bytes:
        data: bytes = self._guarded("readline", size)
        return data

    def readlines(self, hint: int | None = None) -> list[bytes]:
        lines: list[bytes] = self._guarded("readlines", hint)
        return lines

    def __iter__(self) -> Iterator[bytes]:
        return self

    def __next__(self) -> bytes:
        line = self.readline()
        if not line:
            raise StopIteration
        return line


class _BodyErrors:
    """WSGI middleware: the request body is read through ``_Body``."""

    def __init__(self, app: WSGIApplication) -> None:
        self.app = app

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        environ["wsgi.input"] = _Body(environ["wsgi.input"])
        return self.app(environ, start_response)


class EnvelopeWorker(ThreadWorker):  # type: ignore[misc]
    """``gthread`` with framing errors in the vendor's envelope and an immediate quick exit."""

    vendors: Sequence[Vendor] = ()

    def load_wsgi(self) -> None:
        super().load_wsgi()
        loaded: WSGIApplication = self.wsgi  # type: ignore[has-type]
        self.wsgi = _BodyErrors(loaded)

    def init_process(self) -> None:
        from mock_server._app import load_vendors

        self.vendors = load_vendors()
        super().init_process()

    def handle(self, conn: Any) -> Any:
        if type(conn) is TConn:
            conn.__class__ = _Conn  # same state, one method more (TConn is built by `accept`)
        return super().handle(conn)

    def handle_quit(self, sig: int, frame: FrameType | None) -> None:
        # Ctrl-C reaches a worker twice (from the terminal's process group and from the master):
        # a second call inside the first would leave before the first's hook wrote what it holds.
        if getattr(self, "_quitting", False):
            return
        self._quitting = True
        self.alive = False
        self.cfg.worker_int(self)
        sys.stderr.flush()
        os._exit(0)

    def handle_error(self, req: Any, client: Any, addr: Any, exc: BaseException) -> None:
        if not isinstance(exc, ParseException) or isinstance(exc, _NOT_THE_CLIENTS):
            super().handle_error(req, client, addr, exc)
            return
        path = getattr(exc, "stepspec_path", None)
        for source in (req, getattr(exc, "req", None)):
            path = path or getattr(source, "path", None)
        _log.info("stepspec mock: unparsable request to %s: %s", path, exc)
        try:
            util.write_nonblock(client, framing_error(str(exc), path, self.vendors))
        except OSError:
            _log.debug("stepspec mock: could not send the framing error")


def path_of_head(head: bytes) -> str | None:
    """The path of ``GET /v1/x?y HTTP/1.1...`` (the request target may be cut short)."""
    parts = head[:_HEAD_BYTES].split(b"\r\n", 1)[0].split(b" ", 2)
    if len(parts) < 2 or not parts[1]:
        return None
    target = parts[1].decode("latin-1")
    return urlsplit(target).path if "://" in target else target.split("?", 1)[0]


def framing_error(reason: str, path: str | None, vendors: Sequence[Vendor]) -> bytes:
    """A complete HTTP/1.1 400 answer (``Connection: close``) in the envelope for ``path``."""
    message = f"Bad Request: the request could not be parsed ({reason})"
    vendor = vendor_for(path, vendors) if path else None
    if vendor is not None:
        response = vendor.error_response(FRAMING_STATUS, message)
        body = response.get_data()
        headers = [
            (name, value)
            for name, value in response.headers.items()
            if name.lower() not in ("content-length", "connection")
        ]
    else:
        apis = {v.name: list(v.base_paths) for v in vendors}
        phrase = HTTPStatus(FRAMING_STATUS).phrase
        neutral = {"statusCode": FRAMING_STATUS, "error": phrase, "message": message, "apis": apis}
        body = orjson.dumps(neutral)
        headers = [("Content-Type", "application/json")]
    lines = [f"HTTP/1.1 {FRAMING_STATUS} {HTTPStatus(FRAMING_STATUS).phrase}"]
    lines += [f"{name}: {value}" for name, value in headers]
    lines += [f"Content-Length: {len(body)}", "Connection: close", "", ""]
    return "\r\n".join(lines).encode("latin-1") + body
