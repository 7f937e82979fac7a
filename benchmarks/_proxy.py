"""The proxy's added latency: one request sent straight to the mock and through ``stepspec proxy``.

The mock runs as in the HTTP group (``_http.mock_server``: gunicorn, the mock's default
configuration); ``stepspec proxy --api kibana`` runs in front of it exactly as a developer
starts it (one gunicorn worker with threads, judging every answer). One client sends the same
Kibana step request (a cached answer of the mock, so the mock's own time is small and steady)
alternately to each, one at a time over a kept-alive connection, so both arms see the same
machine at the same moments; a request's latency is from sending it to its body's last byte.
The row gives the proxied p50/p99 and how much the proxy adds to the direct p50/p99.

Sequential requests are the proxy's use (a developer's app, a test run), not a load test: what
matters is how much slower each call gets. The judge works in its own thread, so the added
latency includes the share of the CPU that judging takes from forwarding (the GIL).
"""

from __future__ import annotations

import http.client
import statistics
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from benchmarks._discover import DISCOVER, KIBANA, Client
from benchmarks._http import default_server_config, mock_server
from benchmarks._procs import Server, ServerConfig
from benchmarks._report import Row

MAIN = "import sys; from conformance.cli import main; main(sys.argv[1:])"
READY_PATH = "/_stepspec/traffic?format=json"


@dataclass(frozen=True)
class ProxyCommand(ServerConfig):
    """``stepspec proxy`` in front of ``target`` (one worker: the proxy's own configuration)."""

    target: str = ""
    workers: int = 1

    @property
    def label(self) -> str:
        """As the notes name it."""
        return "stepspec proxy (gunicorn gthread x1)"

    def command(self, app: str, port: int) -> list[str]:
        """The proxy command line; ``app`` is unused (the proxy is its own command)."""
        return [
            sys.executable, "-c", MAIN, "proxy", "--api", "kibana", "--target", self.target,
            "--port", str(port),
        ]  # fmt: skip


def _timed(connection: http.client.HTTPConnection, path: str, headers: dict[str, str]) -> float:
    started = time.perf_counter()
    connection.request("GET", path, headers=headers)
    response = connection.getresponse()
    response.read()
    if response.status != 200:
        raise RuntimeError(f"GET {path} answered {response.status}")
    return (time.perf_counter() - started) * 1000


def _quantile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def measure(seconds: float, warmup_seconds: float, workdir: Path) -> Row:
    """The added-latency row (see the module docstring)."""
    headers = dict(KIBANA.headers)
    with mock_server(default_server_config(), workdir, name="mock-for-proxy") as mock:
        path = DISCOVER["kibana"](Client(mock.base_url, KIBANA), 1, big=False).warm
        proxy = Server(
            "proxy",
            "",
            ProxyCommand(target=mock.base_url),
            ready_path=READY_PATH,
            log_dir=workdir,
        )
        with proxy:
            direct = http.client.HTTPConnection("127.0.0.1", mock.port, timeout=30)
            proxied = http.client.HTTPConnection("127.0.0.1", proxy.port, timeout=30)
            arms: dict[str, list[float]] = {"direct": [], "proxied": []}
            for phase, budget in (("warm-up", warmup_seconds), ("measure", seconds)):
                deadline = time.monotonic() + budget
                while time.monotonic() < deadline:
                    first = _timed(direct, path, headers)
                    second = _timed(proxied, path, headers)
                    if phase == "measure":
                        arms["direct"].append(first)
                        arms["proxied"].append(second)
            direct.close()
            proxied.close()
    d50, d99 = _quantile(arms["direct"], 0.5), _quantile(arms["direct"], 0.99)
    p50, p99 = _quantile(arms["proxied"], 0.5), _quantile(arms["proxied"], 0.99)
    count = len(arms["proxied"])
    pairs = zip(arms["direct"], arms["proxied"], strict=True)
    mean_added = statistics.fmean(after - before for before, after in pairs)
    return Row(
        measure="proxy: added latency per request (Kibana step, sequential)",
        rate=count / seconds,
        unit="pairs/s",
        p50_ms=p50,
        p99_ms=p99,
        note=(
            f"{count} requests per arm; direct p50 {d50:.2f} ms p99 {d99:.2f} ms; the proxy adds "
            f"{p50 - d50:.2f} ms at p50 and {p99 - d99:.2f} ms at p99 (mean of pairwise "
            f"differences {mean_added:.2f} ms)"
        ),
        details={
            "direct_p50_ms": d50,
            "direct_p99_ms": d99,
            "added_p50_ms": p50 - d50,
            "added_p99_ms": p99 - d99,
            "requests_per_arm": count,
            "path": path,
        },
    )
