"""What each client exercised: operations, status codes, run and step states, error cases.

A frontend team points its app at the mock and later asks "did we ever handle a 404, a
``waiting_for_input`` step, a Trigify ``RATE_LIMITED``?". ``install(app)`` wraps the app in a WSGI
layer that sees every vendor answer (including answers replayed by the response cache, whose
operation it learns through ``CachingMiddleware.on_hit``) and records *facts*: for each client,
API and documented operation, which status codes came back, which run and step states appeared in
response bodies, and which error cases (the vendor's code or normalised message) were returned.

A client is its credential's fingerprint, the first 12 hex digits of a SHA-256: the raw key is
never stored. Requests without credentials count as ``anonymous``; requests from the run viewer
(header ``X-Stepspec-Viewer``) are not recorded, so browsing the mock does not pollute coverage.

Storage is SQLite beside the live-run store (``<state>.coverage.sqlite3``), so every gunicorn
worker writes to, and reads the union from, one file; with a Redis live-run store it is that
Redis (``_coverage_redis``), so the report of any replica aggregates every replica. A fact seen
for the first time in a process is written at once; repeats only bump in-memory counters,
flushed at most ``FLUSH_DELAY_S`` later by a one-shot timer, before any report is read in that
process and at exit. So sets are exact immediately and counts lag by at most ``FLUSH_DELAY_S``
across workers, while the hot path of a warm mock stays a few dictionary lookups. While Redis is
away, counts wait in memory and are written when it returns. ``mock_server.viewer._report``
builds the report from the stored facts.
"""

from __future__ import annotations

import atexit
import hashlib
import json
import logging
import os
import re
import sqlite3
import tempfile
import threading
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

import orjson

from mock_server._control import INJECTED_HEADER
from mock_server._http import OPERATION_KEY, CachedResponse
from mock_server._openapi import ApiIndex
from mock_server._vendor import Vendor
from mock_server.live import RedisStore, StoreUnavailable, note_outage

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIApplication, WSGIEnvironment
    from flask import Flask

    from mock_server._app import MockState

EXTENSION = "stepspec_coverage"
VIEWER_HEADER = "X-Stepspec-Viewer"
"""Requests carrying this header (the run viewer's own) are not recorded."""
ANONYMOUS = "anonymous"
FLUSH_DELAY_S = 0.5
_STEP_MARKERS = ("stepId", "node_id", "step_id")
_RUN_MARKERS = ("startedAt", "start_time", "started_at")
_SKIPPED_METHODS = frozenset({"OPTIONS", "HEAD"})
_VIEWER_KEY = "HTTP_" + VIEWER_HEADER.upper().replace("-", "_")
_INJECTED = INJECTED_HEADER.lower()
_MAX_MEMO = 4096
_MAX_KNOWN = 100_000
_MAX_CASE = 120
_MAX_DEPTH = 64
_CONTAINERS = (dict, list)
_QUOTED = re.compile(r"\"[^\"]*\"|'[^']*'|\[[^\]]*\]")
_log = logging.getLogger("mock_server.coverage")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS facts (
    client TEXT NOT NULL,
    api TEXT NOT NULL,
    kind TEXT NOT NULL,
    operation TEXT NOT NULL,
    status INTEGER NOT NULL,
    detail TEXT NOT NULL,
    count INTEGER NOT NULL,
    first_us INTEGER NOT NULL,
    last_us INTEGER NOT NULL,
    PRIMARY KEY (client, api, kind, operation, status, detail)
) WITHOUT ROWID;
"""
_UPSERT = (
    "INSERT INTO facts VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"
    " ON CONFLICT (client, api, kind, operation, status, detail) DO UPDATE SET"
    " count = count + excluded.count, last_us = max(last_us, excluded.last_us)"
)

Fact = tuple[str, str, str, str, int, str]
"""(client, api, kind, operation, status, detail); kind: call | error | run_state | step_state."""


def fingerprint(credential: str) -> str:
    """The short, stable name of a credential in reports (never the credential itself)."""
    return hashlib.sha256(f"stepspec-coverage:{credential}".encode()).hexdigest()[:12]


def credential_of(headers: Mapping[str, str]) -> str | None:
    """The secret a request presents: the token after the ``Authorization`` scheme, or
    ``x-api-key``; None without credentials. One key used with every vendor is one client."""
    for name in ("authorization", "authentication"):
        value = (headers.get(name) or "").strip()
        if value:
            scheme, _, token = value.partition(" ")
            return token.strip() or scheme
    key = (headers.get("x-api-key") or "").strip()
    return key or None


@dataclass(frozen=True, slots=True)
class Observation:
    """What one vendor answer tells coverage, before it is attributed to a client."""

    api: str
    operation: str
    """The canonical operationId ("" when no documented operation matches the request)."""
    status: int
    error_case: str | None
    run_states: frozenset[str]
    step_states: frozenset[str]

    def facts(self, client: str) -> Iterator[Fact]:
        """The rows this observation contributes for ``client``."""
        yield (client, self.api, "call", self.operation, self.status, "")
        if self.error_case is not None:
            yield (client, self.api, "error", self.operation, self.status, self.error_case)
        for state in self.run_states:
            yield (client, self.api, "run_state", self.operation, 0, state)
        for state in self.step_states:
            yield (client, self.api, "step_state", self.operation, 0, state)


def body_states(body: Any) -> tuple[frozenset[str], frozenset[str]]:
    """(run states, step states) named in a JSON body.

    A step is an object with a ``status`` and a step key (Kibana ``stepId``, Arcee ``node_id``,
    Trigify ``step_id``); a run is one with a ``status`` and a start time. Workflows also carry a
    ``status`` (``PUBLISHED``) but no start time, so they are not mistaken for runs.
    """
    runs: set[str] = set()
    steps: set[str] = set()
    # Only containers are visited (scalars cannot name a state): an explicit stack of
    # (container, depth), and a container deeper than ``_MAX_DEPTH`` is ignored.
    pending: list[tuple[Any, int]] = [(body, 0)] if type(body) in _CONTAINERS else []
    if not pending and isinstance(body, (dict, list)):
        _subclass_states(body, 0, runs, steps)
    pop, push = pending.pop, pending.append
    while pending:
        node, depth = pop()
        if depth > _MAX_DEPTH:
            continue
        depth += 1
        if type(node) is dict:
            status = node.get("status")
            if isinstance(status, str):  # the markers are _STEP_MARKERS and _RUN_MARKERS
                if "stepId" in node or "node_id" in node or "step_id" in node:
                    steps.add(status)
                elif "startedAt" in node or "start_time" in node or "started_at" in node:
                    runs.add(status)
            values: Iterable[Any] = node.values()
        else:  # a list: only exact dicts and lists are pushed
            values = node
        for value in values:
            if type(value) in _CONTAINERS:
                push((value, depth))
            elif isinstance(value, (dict, list)):  # a subclass (never from orjson)
                _subclass_states(value, depth, runs, steps)
    return frozenset(runs), frozenset(steps)


def _subclass_states(node: Any, depth: int, runs: set[str], steps: set[str]) -> None:
    """``body_states`` of a dict or list subclass at ``depth``, added to ``runs``/``steps``."""
    pending: list[tuple[Any, int]] = [(node, depth)]
    while pending:
        node, depth = pending.pop()
        if depth > _MAX_DEPTH:
            continue
        if isinstance(node, dict):
            status = node.get("status")
            if isinstance(status, str):
                if any(key in node for key in _STEP_MARKERS):
                    steps.add(status)
                elif any(key in node for key in _RUN_MARKERS):
                    runs.add(status)
            pending.extend((value, depth + 1) for value in node.values())
        elif isinstance(node, list):
            pending.extend((value, depth + 1) for value in node)


def error_case(body: Any, status: int) -> str:
    """A short, stable name for an error answer: the vendor's code, else its normalised message.

    Trigify: ``error.code``; Arcee: ``detail`` (validation errors by their ``type``s); Kibana:
    ``error`` and ``message``. Quoted and bracketed values are elided so that one case does not
    become one row per id.
    """
    if isinstance(body, dict):
        inner = body.get("error")
        if isinstance(inner, dict) and isinstance(inner.get("code"), str):
            return str(inner["code"])
        detail = body.get("detail")
        if isinstance(detail, str):
            return _normalise(detail)
        if isinstance(detail, list):
            kinds = sorted({str(item.get("type")) for item in detail if isinstance(item, dict)})
            return "validation: " + ", ".join(kinds)
        message = body.get("message")
        if isinstance(inner, str) and isinstance(message, str):
            return inner if message == inner else f"{inner}: {_normalise(message)}"
    return f"HTTP {status}"


def _normalise(text: str) -> str:
    short = _QUOTED.sub(lambda m: m.group(0)[0] + "…" + m.group(0)[-1], text)
    return short if len(short) <= _MAX_CASE else short[: _MAX_CASE - 1] + "…"


def canonical_operations(index: ApiIndex) -> dict[str, str]:
    """operationId -> the operation it is reported under.

    Kibana documents every route twice (``getExecution`` and ``getExecutionInSpace`` for
    ``/s/{space_id}/...``); a client exercised the operation whichever space it used.
    """
    ids = {op.operation_id for op in index.operations}
    return {
        op_id: base if (base := op_id.removesuffix("InSpace")) in ids else op_id for op_id in ids
    }


class FactStore(Protocol):
    """Where facts are kept: ``CoverageStore`` (SQLite) or ``RedisCoverageStore``."""

    path: str

    def add(self, rows: Iterable[tuple[Fact, int, int, int]]) -> None:
        """Add (fact, count, first_us, last_us) rows in one atomic step."""
        ...

    def rows(self, client: str | None = None) -> list[tuple[Any, ...]]:
        """Every stored row (of one client), in a stable order."""
        ...

    def clear(self, client: str | None = None) -> None:
        """Forget everything (or one client)."""
        ...


class CoverageStore:
    """The facts table in one SQLite file, shared by every process serving one mock."""

    def __init__(self, path: str) -> None:
        self.path = path
        self._db: sqlite3.Connection | None = None
        self._pid = 0

    def connection(self) -> sqlite3.Connection:
        """This process's connection (a connection must not cross a fork); callers lock."""
        if self._db is None or self._pid != os.getpid():
            db = sqlite3.connect(
                self.path, timeout=10.0, isolation_level=None, check_same_thread=False
            )
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA synchronous=NORMAL")
            db.executescript(_SCHEMA)
            self._db, self._pid = db, os.getpid()
        return self._db

    def add(self, rows: Iterable[tuple[Fact, int, int, int]]) -> None:
        """Add (fact, count, first_us, last_us) rows in one transaction."""
        db = self.connection()
        db.execute("BEGIN IMMEDIATE")
        try:
            db.executemany(_UPSERT, [(*fact, *numbers) for fact, *numbers in rows])
        except BaseException:
            db.execute("ROLLBACK")
            raise
        db.execute("COMMIT")

    def rows(self, client: str | None = None) -> list[tuple[Any, ...]]:
        """Every stored row (of one client), in a stable order."""
        query = "SELECT * FROM facts"
        args: tuple[str, ...] = ()
        if client is not None:
            query, args = query + " WHERE client = ?", (client,)
        return self.connection().execute(query + " ORDER BY 1, 2, 3, 4, 5, 6", args).fetchall()

    def clear(self, client: str | None = None) -> None:
        """Forget everything (or one client)."""
        if client is None:
            self.connection().execute("DELETE FROM facts")
        else:
            self.connection().execute("DELETE FROM facts WHERE client = ?", (client,))


class Coverage:
    """Records observations per client and builds reports (see the module docstring)."""

    def __init__(self, mock: MockState, path: str | FactStore) -> None:
        self.mock = mock
        self.store: FactStore = CoverageStore(path) if isinstance(path, str) else path
        self.canonical = {name: canonical_operations(index) for name, index in mock.indexes.items()}
        self._lock = threading.Lock()
        self._known: set[Fact] = set()
        self._pending: dict[Fact, list[int]] = {}
        self._timer: threading.Timer | None = None
        self._timer_pid = 0
        self._facts: dict[tuple[str, str, str, int, str, int, int], tuple[Fact, ...]] = {}
        self._clients: dict[str, str] = {}
        self._bases = sorted(
            ((base, vendor) for vendor in mock.vendors for base in vendor.base_paths),
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
            index = self.mock.indexes.get(vendor.name)
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
        """The fingerprint of the request's credential, or ``anonymous``."""
        headers = {
            "authorization": environ.get("HTTP_AUTHORIZATION", ""),
            "authentication": environ.get("HTTP_AUTHENTICATION", ""),
            "x-api-key": environ.get("HTTP_X_API_KEY", ""),
        }
        secret = credential_of(headers)
        if secret is None:
            return ANONYMOUS
        found = self._clients.get(secret)
        if found is None:
            if len(self._clients) >= _MAX_MEMO:
                self._clients.clear()
            found = self._clients[secret] = fingerprint(secret)
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
        if any(name.lower() == _INJECTED for name, _ in headers):
            source = "injected"
        elif "code=" in str(environ.get("HTTP_PREFER", "")).replace(" ", ""):
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
        now = self.mock.context.clock()
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
        from mock_server.viewer._report import build_report

        self.flush()
        with self._lock:
            rows = self.store.rows(client)
        return build_report(rows, self.mock.indexes, self.canonical)

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
            from mock_server.viewer._report_html import render_report

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


def coverage_path(state_path: str | None) -> str:
    """``<dir>/<name>.coverage.sqlite3`` beside the live-run store (a temp file without one)."""
    if not state_path or state_path == ":memory:":
        return os.path.join(tempfile.mkdtemp(prefix="stepspec-coverage-"), "coverage.sqlite3")
    base, _ = os.path.splitext(state_path)
    return base + ".coverage.sqlite3"


def install(app: Flask) -> Coverage:
    """Record coverage for ``app`` (a ``create_app`` app) and write the report at exit if asked."""
    from mock_server._app import EXTENSION as MOCK_EXTENSION

    mock: MockState = app.extensions[MOCK_EXTENSION]
    live = mock.context.store
    if isinstance(live, RedisStore):
        from mock_server._coverage_redis import RedisCoverageStore

        coverage = Coverage(mock, RedisCoverageStore(live))
    else:
        coverage = Coverage(mock, coverage_path(getattr(live, "path", None)))

    def learn_operation(environ: WSGIEnvironment, hit: CachedResponse) -> None:
        environ[OPERATION_KEY] = hit.operation

    mock.middleware.on_hit.append(learn_operation)
    app.wsgi_app = CoverageMiddleware(app.wsgi_app, coverage)  # type: ignore[method-assign]
    app.extensions[EXTENSION] = coverage
    report_path = mock.context.config.coverage_report
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
