"""What each client exercised: operations, status codes, run and step states, error cases.

A frontend team points its app at the mock and later asks "did we ever handle a 404, a
``waiting_for_input`` step, a Trigify ``RATE_LIMITED``?". ``install(app, ...)`` wraps the app in a
WSGI layer that sees every vendor answer (including answers replayed by the response cache, whose
operation it learns through ``CachingMiddleware.on_hit``) and records *facts*: for each client, API
and documented operation, which status codes came back, which run and step states appeared in
response bodies, and which error cases (the vendor's code or normalised message) were returned.

A client is its credential's fingerprint, the first 12 hex digits of a SHA-256: the raw key is
never stored. Requests without credentials count as ``anonymous``; requests from the run viewer
(header ``X-Stepspec-Viewer``) are not recorded, so browsing the mock does not pollute coverage.

Storage is SQLite beside the live-run store (``_store``), so every gunicorn worker writes to,
and reads the union from, one file; with a Redis live-run store it is that Redis (``_redis``),
so the report of any replica aggregates every replica, and while Redis is away counts wait in
memory until it returns. A fact seen for the first time in a process
is written at once; repeats only bump in-memory counters, flushed at most ``FLUSH_DELAY_S`` later
by a one-shot timer, before any report is read in that process and at exit. So sets are exact
immediately and counts lag by at most ``FLUSH_DELAY_S`` across workers, while the hot path of a
warm mock stays a few dictionary lookups. ``_report`` builds the report from the stored facts.
The app hands ``install`` what coverage needs (indexes, vendors, clock, paths): nothing here
imports ``mock_server._app``.
"""

from __future__ import annotations

import atexit
import json
import logging
import os
import sqlite3
import threading
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import orjson

from mock_server._control import INJECTED_HEADER
from mock_server._http import OPERATION_KEY, CachedResponse, HitListener
from mock_server._openapi import ApiIndex
from mock_server._vendor import Vendor
from mock_server.coverage._facts import (
    ANONYMOUS,
    Fact,
    Observation,
    body_states,
    canonical_operations,
    credential_of,
    error_case,
    fingerprint,
)
from mock_server.coverage._html import render_report
from mock_server.coverage._store import CoverageStore, FactStore, coverage_path
from mock_server.live import StoreUnavailable, note_outage

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIApplication, WSGIEnvironment
    from flask import Flask

EXTENSION = "stepspec_coverage"
VIEWER_HEADER = "X-Stepspec-Viewer"
"""Requests carrying this header (the run viewer's own) are not recorded."""
FLUSH_DELAY_S = 0.5
_SKIPPED_METHODS = frozenset({"OPTIONS", "HEAD"})
_VIEWER_KEY = "HTTP_" + VIEWER_HEADER.upper().replace("-", "_")
_INJECTED = INJECTED_HEADER.lower()
_MAX_MEMO = 1024
_MAX_KNOWN = 100_000
_log = logging.getLogger("mock_server.coverage")


class Coverage:
    """Records observations per client and builds reports (see the module docstring)."""

    def __init__(
        self,
        indexes: Mapping[str, ApiIndex],
        vendors: Sequence[Vendor],
        clock: Callable[[], int],
        path: str | FactStore,
    ) -> None:
        self.indexes = indexes
        self.clock = clock
        self.store: FactStore = CoverageStore(path) if isinstance(path, str) else path
        self.canonical = {name: canonical_operations(index) for name, index in indexes.items()}
        self._lock = threading.Lock()
        self._known: set[Fact] = set()
        self._pending: dict[Fact, list[int]] = {}
        self._timer: threading.Timer | None = None
        self._timer_pid = 0
        self._facts: dict[tuple[str, str, str, int, str, int, int], tuple[Fact, ...]] = {}
        self._clients: dict[tuple[str, str, str], str] = {}
        self._bases = sorted(
            ((base, vendor) for vendor in vendors for base in vendor.base_paths),
            key=lambda item: -len(item[0]),
        )

    # -- recording ---------------------------------------------------------------------------

    def vendor_of(self, environ: WSGIEnvironment) -> Vendor | None:
        """The vendor a request is for, or None when coverage ignores the request."""
        if environ.get("REQUEST_METHOD", "GET") in _SKIPPED_METHODS or _VIEWER_KEY in environ:
            return None
        path = environ.get("PATH_INFO", "")
        for base, vendor in self._bases:  # longest first, as ``vendor_for`` decides
            if path.startswith(base):
                return vendor
        return None

    def operation_of(self, vendor: Vendor, environ: WSGIEnvironment) -> str:
        """The canonical operationId of a request ("" when none is documented for it)."""
        found = environ.get(OPERATION_KEY)
        if not found:  # answered before the app matched an operation (401, injected fault ...)
            index = self.indexes.get(vendor.name)
            match = index.match(environ["REQUEST_METHOD"], environ["PATH_INFO"]) if index else None
            found = match[0].operation_id if match else ""
        return self.canonical.get(vendor.name, {}).get(found, found)

    def observe(
        self,
        vendor: Vendor,
        operation: str,
        status: int,
        headers: Sequence[tuple[str, str]],
        body: bytes,
        source: str,
    ) -> Observation:
        """What one answer shows."""
        content_type = next((v for k, v in headers if k.lower() == "content-type"), "")
        parsed: Any = None
        if "json" in content_type and body:
            try:
                parsed = orjson.loads(body)
            except orjson.JSONDecodeError:
                parsed = None
        runs, steps = body_states(parsed) if status < 400 else (frozenset(), frozenset())
        case = None
        if status >= 400:
            case = error_case(parsed, status) + (f" [{source}]" if source else "")
        return Observation(vendor.name, operation, status, case, runs, steps)

    def client_of(self, environ: Mapping[str, Any]) -> str:
        """The fingerprint of the request's credential, or ``anonymous`` (memoised per triple
        of credential headers)."""
        sent = (
            environ.get("HTTP_AUTHORIZATION", ""),
            environ.get("HTTP_AUTHENTICATION", ""),
            environ.get("HTTP_X_API_KEY", ""),
        )
        found = self._clients.get(sent)
        if found is None:
            headers = dict(zip(("authorization", "authentication", "x-api-key"), sent, strict=True))
            secret = credential_of(headers)
            found = ANONYMOUS if secret is None else fingerprint(secret)
            if len(self._clients) >= _MAX_MEMO:
                self._clients.clear()
            self._clients[sent] = found
        return found

    def record(
        self,
        environ: WSGIEnvironment,
        vendor: Vendor,
        status_line: str,
        headers: Sequence[tuple[str, str]],
        body: bytes,
    ) -> None:
        """Record one answer to a request for ``vendor``."""
        status = int(status_line[:3])
        source = ""
        for name, _ in headers:
            if name.lower() == _INJECTED:
                source = "injected"
                break
        else:
            prefer = environ.get("HTTP_PREFER")
            if prefer and "code=" in str(prefer).replace(" ", ""):
                source = "Prefer"
        operation = self.operation_of(vendor, environ)
        client = self.client_of(environ)
        # A warm mock replays the same body objects, whose hash Python caches: cheap to key on.
        key = (client, vendor.name, operation, status, source, len(body), hash(body))
        facts = self._facts.get(key)
        if facts is None:
            observation = self.observe(vendor, operation, status, headers, body, source)
            facts = tuple(observation.facts(client))
            if len(self._facts) >= _MAX_MEMO:
                self._facts.clear()
            self._facts[key] = facts
        self.add(facts)

    def add(self, facts: Iterable[Fact]) -> None:
        """Count facts: new ones reach the shared store now, repeats within ``FLUSH_DELAY_S``."""
        now = self.clock()
        urgent = False
        with self._lock:
            for fact in facts:
                entry = self._pending.get(fact)
                if entry is None:
                    self._pending[fact] = [1, now, now]
                else:
                    entry[0] += 1
                    entry[2] = now
                if fact not in self._known:
                    urgent = True
            if urgent:
                self._flush_locked()
            else:
                self._schedule_locked()

    def _schedule_locked(self) -> None:
        if self._pending and (self._timer is None or self._timer_pid != os.getpid()):
            self._timer = threading.Timer(FLUSH_DELAY_S, self.flush)
            self._timer.daemon = True
            self._timer_pid = os.getpid()
            self._timer.start()

    def flush(self) -> None:
        """Write this process's pending counts to the shared store."""
        with self._lock:
            self._timer = None
            self._flush_locked()

    def _flush_locked(self) -> None:
        if not self._pending:
            return
        rows = [(fact, count, first, last) for fact, (count, first, last) in self._pending.items()]
        try:
            self.store.add(rows)
        except StoreUnavailable as error:  # Redis is away: keep the counts for when it returns
            note_outage(error, "coverage store unavailable")
            self._schedule_locked()
            return
        except sqlite3.Error:  # coverage must never break serving; keep counts for next time
            _log.exception("stepspec mock: could not write coverage to %s", self.store.path)
            return
        if len(self._known) + len(rows) > _MAX_KNOWN:
            self._known.clear()
        self._known.update(self._pending)
        self._pending.clear()

    # -- reading -----------------------------------------------------------------------------

    def report(self, client: str | None = None) -> dict[str, Any]:
        """Everything recorded (for one client, or all), against what the specs document."""
        from mock_server.coverage._report import build_report  # loads the kit's check registry

        self.flush()
        with self._lock:
            rows = self.store.rows(client)
        return build_report(rows, self.indexes, self.canonical)

    def reset(self, client: str | None = None) -> None:
        """Forget what was recorded (for one client, or all) in every process."""
        with self._lock:
            self._pending.clear()
            self._known.clear()
            self.store.clear(client)

    def write_report(self, path: str | os.PathLike[str]) -> Path:
        """Write the report to ``path``: HTML for ``*.html``/``*.htm``, JSON otherwise."""
        target = Path(path)
        report = self.report()
        if target.suffix.lower() in (".html", ".htm"):
            data = render_report(report).encode()
        else:
            data = json.dumps(report, indent=2, ensure_ascii=False).encode() + b"\n"
        target.parent.mkdir(parents=True, exist_ok=True)
        partial = target.with_name(f".{target.name}.{os.getpid()}.tmp")
        partial.write_bytes(data)
        partial.replace(target)
        return target


class CoverageMiddleware:
    """WSGI layer outside the response cache: hands every vendor answer to ``Coverage``."""

    def __init__(self, app: WSGIApplication, coverage: Coverage) -> None:
        self.app = app
        self.coverage = coverage

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        vendor = self.coverage.vendor_of(environ)
        if vendor is None:
            return self.app(environ, start_response)
        captured: dict[str, Any] = {}

        def capture(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
            captured["status"], captured["headers"] = status, headers
            return start_response(status, headers, exc_info)

        chunks = self.app(environ, capture)
        try:
            body = b"".join(chunks)  # vendor answers are small JSON documents, never streams
        finally:
            close = getattr(chunks, "close", None)
            if close is not None:
                close()
        try:
            self.coverage.record(environ, vendor, captured["status"], captured["headers"], body)
        except Exception:  # coverage must never break an answer
            _log.exception("stepspec mock: coverage could not record %s", environ.get("PATH_INFO"))
        return [body]


def install(
    app: Flask,
    *,
    indexes: Mapping[str, ApiIndex],
    vendors: Sequence[Vendor],
    clock: Callable[[], int],
    on_hit: list[HitListener],
    state_path: str | None,
    report_path: str | None,
    store: FactStore | None = None,
) -> Coverage:
    """Record coverage for ``app``: wrap its WSGI app, learn the operations of replayed answers
    (``on_hit`` of its response cache), keep the recorder in ``app.extensions[EXTENSION]`` and
    write the report to ``report_path`` at exit if given. ``state_path`` is the live-run store's
    file; the facts go beside it unless another ``store`` is given."""
    coverage = Coverage(indexes, vendors, clock, store or coverage_path(state_path))

    def learn_operation(environ: WSGIEnvironment, hit: CachedResponse) -> None:
        environ[OPERATION_KEY] = hit.operation

    on_hit.append(learn_operation)
    app.wsgi_app = CoverageMiddleware(app.wsgi_app, coverage)  # type: ignore[method-assign]
    app.extensions[EXTENSION] = coverage
    if report_path:
        atexit.register(_write_at_exit, coverage, report_path, os.getpid())
    return coverage


def _write_at_exit(coverage: Coverage, path: str, owner_pid: int) -> None:
    # Forked gunicorn workers inherit this hook; they only flush their counts, and the process
    # that built the app (the master, which exits last) writes the merged report.
    try:
        coverage.flush()
        if os.getpid() == owner_pid:
            written = coverage.write_report(path)
            _log.warning("stepspec mock: coverage report written to %s", written)
    except Exception:
        _log.exception("stepspec mock: could not write the coverage report to %s", path)
