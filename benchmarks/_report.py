"""Results: one ``Row`` per measure, printed as a table and written as JSON.

A row carries the figures (rate, p50, p99, peak RSS, ratio to the Python baseline, ratio to
nginx) and, when the issue sets a target for it, the target's text and whether it was met. The
JSON file holds the same rows plus the run's context (command, machine, versions) so two runs
can be compared later.
"""

from __future__ import annotations

import json
import os
import platform
import sys
import time
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any


@dataclass
class Row:
    """One measured figure and, if it has one, its target."""

    measure: str
    rate: float | None = None
    unit: str = "req/s"
    p50_ms: float | None = None
    p99_ms: float | None = None
    peak_rss_mib: float | None = None
    ratio: float | None = None
    """To the baseline measured in the same run (HTTP), or to the reference value (memory)."""
    nginx_ratio: float | None = None
    """HTTP: throughput as a multiple of nginx serving the same bytes in the same block."""
    target: str = ""
    met: bool | None = None
    """None when the row has no target (context figures)."""
    note: str = ""
    details: dict[str, Any] = field(default_factory=dict)


HEADERS = ("measure", "rate", "p50", "p99", "peak RSS", "ratio", "x nginx", "target", "met?")


def _number(value: float | None, unit: str = "") -> str:
    if value is None:
        return "-"
    if abs(value) >= 100:
        text = f"{value:,.0f}"
    elif abs(value) >= 10:
        text = f"{value:.1f}"
    else:
        text = f"{value:.2f}"
    return f"{text} {unit}".strip()


def cells(row: Row) -> tuple[str, ...]:
    """The printed cells of ``row`` (in ``HEADERS`` order)."""
    met = "-" if row.met is None else ("yes" if row.met else "NO")
    return (
        row.measure,
        _number(row.rate, row.unit),
        _number(row.p50_ms, "ms"),
        _number(row.p99_ms, "ms"),
        _number(row.peak_rss_mib, "MiB"),
        "-" if row.ratio is None else f"{row.ratio:.2f}",
        "-" if row.nginx_ratio is None else f"{row.nginx_ratio:.2f}",
        row.target or "-",
        met,
    )


def table(rows: Iterable[Row], *, markdown: bool = False) -> str:
    """The rows as an aligned text table (or a Markdown table for the README)."""
    lines = [HEADERS, *(cells(row) for row in rows)]
    if markdown:
        out = ["| " + " | ".join(HEADERS) + " |", "|" + "---|" * len(HEADERS)]
        out += ["| " + " | ".join(line) + " |" for line in lines[1:]]
        return "\n".join(out)
    widths = [max(len(line[i]) for line in lines) for i in range(len(HEADERS))]
    numeric = {1, 2, 3, 4, 5, 6}
    rendered = []
    for n, line in enumerate(lines):
        parts = [
            cell.rjust(widths[i]) if i in numeric and n else cell.ljust(widths[i])
            for i, cell in enumerate(line)
        ]
        rendered.append("  ".join(parts).rstrip())
        if n == 0:
            rendered.append("  ".join("-" * w for w in widths))
    return "\n".join(rendered)


def notes(rows: Iterable[Row]) -> str:
    """The rows' notes, numbered by measure (printed under the table)."""
    return "\n".join(f"- {row.measure}: {row.note}" for row in rows if row.note)


def context(argv: Sequence[str]) -> dict[str, Any]:
    """Where and how the run happened."""
    load = os.getloadavg() if hasattr(os, "getloadavg") else None
    return {
        "command": " ".join(["python -m benchmarks", *argv]),
        "started": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "cpus": os.cpu_count(),
        "load_average_at_start": load,
    }


def read_json(path: Path) -> tuple[list[Row], dict[str, Any]]:
    """The rows and context of a results file written by ``write_json``."""
    document = json.loads(path.read_text())
    return [Row(**row) for row in document["rows"]], document.get("context", {})


def write_json(rows: Sequence[Row], info: dict[str, Any], directory: Path) -> Path:
    """Write ``{"context": ..., "rows": [...]}`` to ``<directory>/<timestamp>.json``."""
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"{time.strftime('%Y%m%d-%H%M%S')}.json"
    document = {"context": info, "rows": [asdict(row) for row in rows]}
    path.write_text(json.dumps(document, indent=2, default=str) + "\n")
    return path
