"""What the proxy saw: exchanges, the passive judge's findings, the recording and the report.

``TrafficLog`` receives every finished exchange as a ``conformance.har.HarEntry`` (``add``),
which returns at once: the exchange is queued for one judging thread, so judging never delays
an answer. That thread hands each entry, in the order they finished, to
``conformance._passive.PassiveJudge.observe`` (the registered checks, deduplicated by check,
operation and JSON path) and to the ``conformance.har.HarWriter`` of ``--record`` (which
redacts credentials and ``--redact-field`` fields); every new finding becomes one line on
stderr. The recording is written when the proxy has been idle for ``FLUSH_EVERY`` seconds and
on ``close``, which also writes ``--report``. Since the judge and the recorder see the same
entries in the same order, ``stepspec check --har`` on the recording finds what the proxy found
live.

Memory is bounded: the view keeps the last ``MAX_ROWS`` exchanges, the queue holds at most
``MAX_QUEUED`` entries (beyond it an exchange is forwarded but not judged, and counted), bodies
above the judging cap were never kept (``_forward.Relay``), and the recording is bounded by
``--record-max-mb``. The judge itself keeps every judged exchange for the cross-exchange checks,
which is what a proxy session of a developer's day holds, not a production load.
"""

from __future__ import annotations

import itertools
import os
import queue
import sys
import tempfile
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from conformance._passive import PassiveJudge
from conformance._problems import problem_key
from conformance._traffic import match
from conformance.har import HarWriter, Redactor, redact_url

if TYPE_CHECKING:
    from conformance.findings import Finding
    from conformance.har import HarEntry
    from conformance.runner import Report
    from mock_server.proxy._config import ProxyConfig

MAX_ROWS = 500
"""Exchanges the traffic view lists (the newest)."""
MAX_QUEUED = 1000
MAX_BATCH = 200
"""Exchanges judged together at most (see ``TrafficLog._judge_batch``)."""
CROSS_EVERY = 0.5
"""Seconds between two runs of the cross-exchange checks while traffic keeps coming."""
FLUSH_EVERY = 2.0
"""Seconds of quiet after which the recording is written to disk."""
MAX_LINE = 300
_STOP: Any = object()


@dataclass
class Row:
    """One exchange as the traffic view lists it."""

    id: int
    started: str
    method: str
    url: str
    """Redacted (credential-like query parameters masked)."""
    status: int
    time_ms: float
    operation: str | None
    note: str = ""
    """Why it was not judged, or what went wrong on the way."""
    judged: bool = False
    findings: list[int] = field(default_factory=list)
    """Indexes into ``TrafficLog.findings``."""

    def as_dict(self) -> dict[str, Any]:
        """The JSON shape of a row."""
        return {
            "id": self.id,
            "started": self.started,
            "method": self.method,
            "url": self.url,
            "status": self.status,
            "time_ms": round(self.time_ms, 1),
            "operation": self.operation,
            "judged": self.judged,
            "note": self.note,
            "findings": list(self.findings),
        }


def finding_line(finding: Finding) -> str:
    """A new finding as one stderr line (severity, check, operation, path, title, values)."""
    where = f" [{finding.operation}]" if finding.operation else ""
    line = f"stepspec proxy: {finding.severity}: {finding.check}{where} {finding.path}: "
    line += finding.title
    if finding.expected or finding.found:
        line += f" (expected {finding.expected}; found {finding.found})"
    line = " ".join(line.split())
    return line if len(line) <= MAX_LINE else line[: MAX_LINE - 3] + "..."


class TrafficLog:
    """The proxy's record of its traffic (see the module docstring). Thread-safe."""

    def __init__(self, config: ProxyConfig, *, emit: Callable[[str], None] | None = None) -> None:
        self.config = config
        self.emit = emit or _stderr
        self.judge = PassiveJudge(
            config.api, strict=config.strict, source=f"proxy of {config.base_url}"
        )
        self.writer = (
            HarWriter(
                config.record,
                max_bytes=config.record_max_bytes,
                redactor=Redactor(config.redact_fields),
            )
            if config.record
            else None
        )
        self.rows: deque[Row] = deque(maxlen=MAX_ROWS)
        self.findings: list[dict[str, Any]] = []
        self.total = 0
        self.unjudged = 0
        self._ids = itertools.count(1)
        self._queue: queue.Queue[Any] = queue.Queue(MAX_QUEUED)
        self._lock = threading.Lock()
        self._reported: set[tuple[str, ...]] = set()
        """(check, operation, path) of every finding reported (``PassiveJudge.add`` does not
        deduplicate; ``observe`` does, for what it reports itself)."""
        self._cross_at = 0.0
        self._cross_row: Row | None = None
        """The last exchange whose cross-exchange comparison was put off (see ``_judge_batch``)."""
        self._dirty = False
        self._closed = False
        self._thread = threading.Thread(target=self._work, name="stepspec-judge", daemon=True)
        self._thread.start()

    # -- intake (request threads) --------------------------------------------------------------

    def add(self, entry: HarEntry, *, judge: bool = True, note: str = "") -> Row:
        """Log a finished exchange and queue it for judging (and recording) unless ``judge`` is
        false (``note`` says why)."""
        found = match(self.config.api, entry.method, entry.path)
        row = Row(
            id=next(self._ids),
            started=entry.started.isoformat(timespec="milliseconds").replace("+00:00", "Z"),
            method=entry.method,
            url=redact_url(entry.url),
            status=entry.status,
            time_ms=entry.time_ms,
            operation=found.operation.operation_id if found else None,
            note=note or entry.error,
        )
        with self._lock:
            self.rows.append(row)
            self.total += 1
        if not judge or self._closed:
            with self._lock:
                self.unjudged += 1
            return row
        try:
            self._queue.put_nowait((row, entry))
        except queue.Full:
            with self._lock:
                self.unjudged += 1
                row.note = "not judged: the judge is behind (too many exchanges at once)"
        return row

    # -- the judging thread --------------------------------------------------------------------

    def _work(self) -> None:
        last_flush = time.monotonic()
        while True:
            wait = CROSS_EVERY if self._cross_row is not None else FLUSH_EVERY
            try:
                batch = [self._queue.get(timeout=wait)]
            except queue.Empty:
                self._cross_pass()  # quiet now: finish the comparisons put off while busy
                self._flush_if_dirty()
                continue
            while len(batch) < MAX_BATCH and batch[-1] is not _STOP:
                try:
                    batch.append(self._queue.get_nowait())
                except queue.Empty:
                    break
            try:
                self._judge_batch([item for item in batch if item is not _STOP])
                if batch[-1] is _STOP:
                    self._cross_pass()
                elif time.monotonic() - last_flush > FLUSH_EVERY and self._queue.empty():
                    self._flush_if_dirty()
                    last_flush = time.monotonic()
            finally:
                for _ in batch:
                    self._queue.task_done()
            if batch[-1] is _STOP:
                return

    def _judge_batch(self, items: list[tuple[Row, HarEntry]]) -> None:
        """Judge queued exchanges in order, each on its own (``PassiveJudge.add``: schema,
        status, envelope, semantics). The cross-exchange checks look at everything seen so far,
        so their cost grows with the session: they run with the batch's last GET
        (``PassiveJudge.observe``) at most every ``CROSS_EVERY`` seconds, and otherwise once the
        proxy is quiet (``_cross_pass``). A busy proxy thus spends a bounded share of the CPU
        (which forwarding shares through the GIL) on them; a quiet one compares at once."""
        gets = [i for i, (_, entry) in enumerate(items) if entry.method.upper() == "GET"]
        due = time.monotonic() - self._cross_at >= CROSS_EVERY
        cross = gets[-1] if gets and due else -1
        for index, (row, entry) in enumerate(items):
            if self.writer is not None and self.writer.add(entry):
                self._dirty = True
            if index == cross:
                self._cross_at, self._cross_row = time.monotonic(), None
                self._report(row, self.judge.observe(entry))
            else:
                self._report(row, self.judge.add(entry))
        if gets and cross < 0:
            self._cross_row = items[gets[-1]][0]

    def _cross_pass(self) -> None:
        """The cross-exchange checks put off by ``_judge_batch``, now (``PassiveJudge.findings``
        holds every finding so far; only the new ones are reported)."""
        row = self._cross_row
        if row is None:
            return
        self._cross_at = time.monotonic()
        self._report(row, self.judge.findings())
        self._cross_row = None  # after the report: ``wait_idle`` waits for it

    def _report(self, row: Row, found: list[Finding]) -> None:
        """Log the findings not reported before (by check, operation, path) against ``row``."""
        fresh = []
        with self._lock:
            for finding in found:
                counted = finding.counted(strict=self.config.strict)
                key = problem_key(counted)  # one problem, one line (``conformance._problems``)
                if key in self._reported:
                    continue
                self._reported.add(key)
                fresh.append(counted)
                row.findings.append(len(self.findings))
                self.findings.append({**counted.as_dict(), "exchange": row.id})
            row.judged = True
        for finding in fresh:
            self.emit(finding_line(finding))

    def _flush_if_dirty(self) -> None:
        if self.writer is not None and self._dirty:
            self._dirty = False
            try:
                self.writer.flush()
            except OSError as error:
                self.emit(f"stepspec proxy: could not write {self.config.record}: {error}")

    def wait_idle(self, timeout: float = 30.0, *, exchanges: int = 0) -> bool:
        """Block until ``exchanges`` exchanges were logged and every queued one was judged
        (tests, shutdown); False on timeout. An exchange is logged once its body ended, which
        the client may see a moment before the server closes the answer."""
        deadline = time.monotonic() + timeout
        while self.total < exchanges or self._queue.unfinished_tasks or self._cross_row:
            if time.monotonic() > deadline:
                return False
            time.sleep(0.01)
        return True

    # -- views and the end ---------------------------------------------------------------------

    def snapshot(self) -> dict[str, Any]:
        """What the traffic view shows (``/_stepspec/traffic?format=json``)."""
        with self._lock:
            # Newest request first. Rows are logged when an answer's body ended, and two
            # handler threads can log out of order (the client may start its next request
            # before the proxy logged the last one): order by start, then by log order.
            ordered = sorted(self.rows, key=lambda row: (row.started, row.id), reverse=True)
            rows = [row.as_dict() for row in ordered]
            findings = list(self.findings)
            total, unjudged = self.total, self.unjudged
        recording = None
        if self.writer is not None:
            recording = {
                "path": str(self.writer.path),
                "entries": len(self.writer),
                "dropped": self.writer.dropped,
            }
        return {
            "api": self.config.api,
            "target": self.config.base_url,
            "counts": {
                "exchanges": total,
                "pending": self._queue.unfinished_tasks + (self._cross_row is not None),
                "unjudged": unjudged,
                "findings": len(findings),
                "errors": sum(1 for f in findings if f["severity"] == "error"),
            },
            "exchanges": rows,
            "findings": findings,
            "recording": recording,
            "judged_max_bytes": self.config.max_judged_bytes,
        }

    def report(self) -> Report:
        """The verdict on everything judged so far, as ``stepspec check`` reports it."""
        return self.judge.report()

    def close(self, timeout: float = 10.0) -> None:
        """Judge what is queued, write the recording and ``--report`` (once)."""
        if self._closed:
            return
        self._closed = True
        self._queue.put(_STOP)
        self._thread.join(timeout)
        if self.writer is not None:
            self.writer.flush()
            kept = len(self.writer)
            dropped = (
                f", {self.writer.dropped} left out (--record-max-mb)" if self.writer.dropped else ""
            )
            self.emit(f"stepspec proxy: recorded {kept} exchange(s) to {self.writer.path}{dropped}")
        if self.config.report:
            from conformance._cli_check import render

            report = self.report()
            _write_atomic(Path(self.config.report), render(report, self.config.report_format))
            verdict = "conforms" if report.exit_code == 0 else f"{len(report.errors)} errors"
            if not self.judge.exchanges:
                verdict = f"no exchange of the {self.config.api} API was judged"
            self.emit(f"stepspec proxy: {verdict}; report written to {self.config.report}")


def _stderr(line: str) -> None:
    sys.stderr.write(line + "\n")
    sys.stderr.flush()


def _write_atomic(path: Path, text: str) -> None:
    directory = path.parent if str(path.parent) else Path(".")
    fd, temporary = tempfile.mkstemp(prefix=".report-", suffix=".tmp", dir=directory)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
