"""A one-line progress display on stderr, for long runs in a terminal.

``Progress.to_stderr(quiet)`` gives a display only when stderr is a terminal and ``--quiet`` was
not given; otherwise ``None``, and callers show nothing (CI logs and pipes stay clean). The
line is rewritten in place (carriage return, erase to end of line) at most ten times a second
and erased by ``close()``, so the report that follows starts on a clean line.
"""

from __future__ import annotations

import sys
import time
from typing import TextIO

MIN_INTERVAL = 0.1
"""Seconds between two redraws."""


class Progress:
    """Draws ``<label>: <phase> - <done>/<total> cases, <n> requests, <k> findings``."""

    def __init__(self, stream: TextIO, label: str) -> None:
        self.stream = stream
        self.label = label
        self.phase = ""
        self.done = 0
        self.total = 0
        self.unit = "cases"
        self.requests = 0
        self.findings: int | None = None
        self._drawn = 0.0
        self._shown = False

    @classmethod
    def to_stderr(cls, label: str, *, quiet: bool = False) -> Progress | None:
        """A display on stderr when it is a terminal and ``quiet`` is off, else None."""
        if quiet or not sys.stderr.isatty():
            return None
        return cls(sys.stderr, label)

    def update(
        self,
        phase: str | None = None,
        *,
        done: int | None = None,
        total: int | None = None,
        unit: str | None = None,
        requests: int | None = None,
        findings: int | None = None,
        force: bool = False,
    ) -> None:
        """Record what changed and redraw (throttled unless ``force``)."""
        if phase is not None:
            self.phase = phase
        if done is not None:
            self.done = done
        if total is not None:
            self.total = total
        if unit is not None:
            self.unit = unit
        if requests is not None:
            self.requests = requests
        if findings is not None:
            self.findings = findings
        now = time.monotonic()
        if force or now - self._drawn >= MIN_INTERVAL:
            self._drawn = now
            self._draw()

    def line(self) -> str:
        """The text of the progress line."""
        parts = [f"{self.label}: {self.phase}"]
        if self.total:
            parts.append(f"{self.done}/{self.total} {self.unit}")
        if self.requests:
            parts.append(f"{self.requests} requests")
        if self.findings is not None:
            parts.append(f"{self.findings} finding{'s' if self.findings != 1 else ''} so far")
        head, rest = parts[0], ", ".join(parts[1:])
        return f"{head} - {rest}" if rest else head

    def _draw(self) -> None:
        self.stream.write("\r\x1b[K" + self.line())
        self.stream.flush()
        self._shown = True

    def close(self) -> None:
        """Erase the line (the report follows on a clean line)."""
        if self._shown:
            self.stream.write("\r\x1b[K")
            self.stream.flush()
            self._shown = False
