"""Driving ``wrk`` and reading what it prints.

``run_wrk`` runs one load test and returns a ``WrkResult`` (req/s, p50, p99, errors). The parser
is a pure function of wrk's text output, so the smoke test checks it without a server.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass
from importlib.resources import files
from pathlib import Path
from typing import Any

INSTALL_HINT = (
    "wrk is not installed: install it with `apt-get install wrk` (Debian/Ubuntu) or "
    "`brew install wrk` (macOS), then run `make bench` again"
)
THREADS = 2
CONNECTIONS = 32


class WrkMissing(RuntimeError):
    """``wrk`` is not on PATH (the message says how to install it)."""


class WrkFailed(RuntimeError):
    """``wrk`` exited non-zero or printed something we cannot read."""


@dataclass(frozen=True)
class WrkResult:
    """One wrk run: throughput, latency percentiles and everything that went wrong."""

    requests: int
    seconds: float
    requests_per_s: float
    p50_ms: float
    p99_ms: float
    non_2xx: int = 0
    socket_errors: int = 0

    @property
    def errors(self) -> int:
        """Responses that were not 2xx/3xx plus connect/read/write/timeout errors."""
        return self.non_2xx + self.socket_errors


_UNITS_MS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0, "h": 3_600_000.0}
_SIZE = r"([0-9.]+)(us|ms|s|m|h)"
_PERCENTILE = re.compile(r"^\s*(50|75|90|99)(?:\.0+)?%\s+" + _SIZE + r"\s*$", re.MULTILINE)
_TOTAL = re.compile(r"^\s*(\d+) requests in ([0-9.]+)(us|ms|s|m|h)", re.MULTILINE)
_RATE = re.compile(r"^Requests/sec:\s+([0-9.]+)", re.MULTILINE)
_NON_2XX = re.compile(r"Non-2xx or 3xx responses:\s+(\d+)")
_SOCKET = re.compile(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)")


def parse_wrk_output(text: str) -> WrkResult:
    """Read a ``wrk --latency`` report; raises ``WrkFailed`` if a figure is missing."""
    rate = _RATE.search(text)
    total = _TOTAL.search(text)
    percentiles = {
        int(match[1]): float(match[2]) * _UNITS_MS[match[3]] for match in _PERCENTILE.finditer(text)
    }
    if rate is None or total is None or 50 not in percentiles or 99 not in percentiles:
        raise WrkFailed(f"cannot read wrk's report (was --latency given?):\n{text.strip()}")
    non_2xx = _NON_2XX.search(text)
    socket = _SOCKET.search(text)
    return WrkResult(
        requests=int(total[1]),
        seconds=float(total[2]) * _UNITS_MS[total[3]] / 1000.0,
        requests_per_s=float(rate[1]),
        p50_ms=percentiles[50],
        p99_ms=percentiles[99],
        non_2xx=int(non_2xx[1]) if non_2xx else 0,
        socket_errors=sum(int(n) for n in socket.groups()) if socket else 0,
    )


def find_wrk() -> str:
    """The path of the wrk binary; raises ``WrkMissing`` with an install hint."""
    path = shutil.which("wrk")
    if path is None:
        raise WrkMissing(INSTALL_HINT)
    return path


def lua_script(name: str) -> Path:
    """The path of one of the Lua scripts shipped in ``benchmarks/lua``."""
    return Path(str(files("benchmarks").joinpath("lua", name)))


def wrk_command(
    url: str,
    seconds: float,
    *,
    headers: Sequence[str] = (),
    script: Path | None = None,
    script_args: Sequence[str] = (),
    threads: int = THREADS,
    connections: int = CONNECTIONS,
    timeout_s: float = 10.0,
    wrk: str = "wrk",
) -> list[str]:
    """The wrk command line for one run (``script_args`` go after ``--`` to the Lua script)."""
    command = [
        wrk,
        f"-t{threads}",
        f"-c{connections}",
        f"-d{max(1, round(seconds))}s",
        f"--timeout={max(1, round(timeout_s))}s",
        "--latency",
    ]
    for header in headers:
        command += ["-H", header]
    if script is not None:
        command += ["-s", str(script)]
    command.append(url)
    if script_args:
        command += ["--", *script_args]
    return command


def run_wrk(url: str, seconds: float, **options: Any) -> WrkResult:
    """Run wrk against ``url`` for ``seconds`` (options as in ``wrk_command``)."""
    command = wrk_command(url, seconds, wrk=find_wrk(), **options)
    # wrk stops by itself after -d; the margin covers start-up and slow last responses.
    limit = seconds + 60 + float(options.get("timeout_s", 10.0))
    done = subprocess.run(command, capture_output=True, text=True, timeout=limit, check=False)
    if done.returncode != 0:
        raise WrkFailed(f"wrk exited {done.returncode}: {done.stderr.strip() or done.stdout}")
    return parse_wrk_output(done.stdout)
