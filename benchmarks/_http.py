"""The HTTP measures: baseline, warm, cold and big, each driven by wrk against a real server.

``HttpBench`` owns one mock server and one baseline server with the same WSGI configuration.
The baseline serves, under the same path, the exact bytes the mock answered for each measured
URL, so "ratio to baseline" compares the mock with the cheapest possible server of the same
payload size. nginx serving the same bytes (``_nginx``), when installed, is the ceiling: its arm
joins every block and every row gets its throughput as a multiple of nginx's ("x nginx"), which
the targets of issue 15 are about. Measures run one at a time (2 cores: a load generator and a
server already fill the machine), each after a short warm-up run that is not counted.
"""

from __future__ import annotations

import os
import statistics
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import requests

from benchmarks._discover import ApiAuth, Targets
from benchmarks._procs import Server, ServerConfig
from benchmarks._report import Row
from benchmarks._wrk import CONNECTIONS, WrkResult, lua_script, run_wrk

WARM_X_NGINX = 0.3
WARM_P99_MS = 10.0
COLD_X_NGINX = 0.1
COLD_P99_MS = 50.0
"""Issue 15: warm >= 0.3x nginx with p99 <= 10 ms; cold >= 0.1x nginx with p99 <= 50 ms (at
32 connections)."""
MAX_ERROR_SHARE = 0.01
"""More failed requests than this and a figure is not a measurement of the mock's answers."""
MOCK_WORLD = {"workflows_per_api": 100, "runs_per_workflow": 1000}
"""10^5 runs per API, so the cold list never repeats within any worker's cache."""
COLD_URLS = 30_000
BIG_CONNECTIONS = 4
SLICE_S = 2.0
"""Length of one turn of an interleaved block (wrk runs in whole seconds)."""


_GUNICORN_FLAGS = {
    "keepalive": "--keep-alive",
    "timeout": "--timeout",
    "graceful_timeout": "--graceful-timeout",
    "backlog": "--backlog",
    "worker_connections": "--worker-connections",
}


def default_server_config() -> ServerConfig:
    """The gunicorn settings ``stepspec mock`` uses, read from ``mock_server._serve``."""
    from mock_server import MockConfig
    from mock_server._serve import MockServer

    options = MockServer(MockConfig()).options
    extra: list[str] = ["--preload"] if options.get("preload_app") else []
    for name, flag in _GUNICORN_FLAGS.items():
        if options.get(name) is not None:
            extra += [flag, str(options[name])]
    return ServerConfig(
        "gunicorn",
        worker_class_name(options.get("worker_class", "sync")),
        int(options.get("workers", 1)),
        int(options.get("threads", 1)),
        tuple(extra),
    )


def worker_class_name(worker_class: object) -> str:
    """gunicorn's ``--worker-class`` for a name (``gthread``) or a class (its dotted path, e.g.
    ``mock_server._wire.EnvelopeWorker``, which gunicorn imports)."""
    if isinstance(worker_class, type):
        return f"{worker_class.__module__}.{worker_class.__qualname__}"
    return str(worker_class)


def mock_env(
    world: Mapping[str, int], workdir: Path, *, shared_state: bool = True, seed: int = 0
) -> dict[str, str]:
    """``STEPSPEC_*`` variables for ``benchmarks.mock_app``: a world size and, for servers that
    build the app once before forking (gunicorn ``--preload``), one live-run store for all
    workers, as ``stepspec mock`` does. Without it each worker makes its own store."""
    env = {f"STEPSPEC_{name.upper()}": str(value) for name, value in world.items()}
    env["STEPSPEC_SEED"] = str(seed)
    if shared_state:
        name = f"state-{os.getpid()}-{time.monotonic_ns()}.sqlite3"
        env["STEPSPEC_STATE_PATH"] = str(workdir / name)
    return env


def mock_server(
    config: ServerConfig,
    workdir: Path,
    world: Mapping[str, int] = MOCK_WORLD,
    name: str = "mock",
    tree: Path | None = None,
) -> Server:
    """A (not yet started) mock server over ``world`` (from another checkout: ``tree``)."""
    from benchmarks._discover import KIBANA

    # granian imports the app in every worker at once; their first writes to one fresh SQLite
    # file collide ("database is locked"), so its workers keep a store each.
    shared = config.server == "gunicorn" and "--preload" in config.extra_args
    return Server(
        name,
        "benchmarks.mock_app:app",
        config,
        env=mock_env(world, workdir, shared_state=shared),
        ready_path=KIBANA.ready_path,
        ready_headers=KIBANA.headers,
        log_dir=workdir,
        tree=tree,
    )


def baseline_server(config: ServerConfig, bodies: Mapping[str, Path], workdir: Path) -> Server:
    """A (not yet started) constant-bytes server answering ``bodies`` (path -> file)."""
    spec = ",".join(f"{path.split('?')[0]}={file}" for path, file in bodies.items())
    return Server(
        "baseline",
        "benchmarks.constant_app:app",
        config,
        env={"STEPSPEC_BENCH_BODIES": spec},
        log_dir=workdir,
    )


_COLD_CURSORS: dict[Path, int] = {}
"""Per cold list: how far each wrk thread has got, so a run never repeats the URLs the last
one just requested (the mock's caches would answer them)."""


def advance_cold(file: Path, requests: int) -> None:
    """Record that ``requests`` more requests of ``file``'s list were sent (two threads)."""
    _COLD_CURSORS[file] = _COLD_CURSORS.get(file, 0) + requests // 2


def write_paths(paths: Sequence[str], file: Path) -> Path:
    """The cold list as the Lua script reads it: one request path per line."""
    file.write_text("\n".join(paths) + "\n")
    return file


def fetch_body(base_url: str, auth: ApiAuth, path: str, file: Path) -> tuple[Path, float]:
    """Save the mock's answer to ``path`` in ``file``; returns it and the request's seconds."""
    started = time.perf_counter()
    response = requests.get(base_url + path, headers=dict(auth.headers), timeout=300)
    seconds = time.perf_counter() - started
    response.raise_for_status()
    file.write_bytes(response.content)
    return file, seconds


@dataclass
class Arm:
    """One thing to measure in an interleaved block: a server, a URL (or a cold list)."""

    name: str
    """``baseline``, ``warm``, ``cold``, or what an extra warm URL shows."""
    server: Server
    path: str
    auth: ApiAuth | None = None
    cold: Path | None = None
    connections: int = CONNECTIONS
    timeout_s: float = 10.0
    slices: list[WrkResult] = field(default_factory=list)
    tag: str = ""
    """Appended to the row's measure (e.g. `` [other tree]``)."""

    def run(self, seconds: float) -> WrkResult:
        """One wrk run of this arm (not recorded as a slice)."""
        result = run_wrk(self.server.base_url + self.path, seconds, **self.options())
        if self.cold is not None:
            advance_cold(self.cold, result.requests)
        return result

    def options(self) -> dict[str, object]:
        """wrk options for the next run (a cold list continues where the last run ended)."""
        options: dict[str, object] = {
            "headers": self.auth.header_lines if self.auth else (),
            "timeout_s": self.timeout_s,
            "connections": self.connections,
        }
        if self.cold is not None:
            options |= {
                "script": lua_script("cold.lua"),
                "script_args": [str(self.cold), str(_COLD_CURSORS.get(self.cold, 0))],
            }
        return options

    def total(self) -> WrkResult:
        """The slices as one result: all requests and errors, and the *median* slice's req/s,
        p50 and p99, so a slice that another process on the machine disturbed (they do: single
        slices drop to a third) does not decide the figure."""
        requests = sum(s.requests for s in self.slices)
        seconds = sum(s.seconds for s in self.slices) or 1.0
        return WrkResult(
            requests=requests,
            seconds=seconds,
            requests_per_s=statistics.median(s.requests_per_s for s in self.slices),
            p50_ms=statistics.median(s.p50_ms for s in self.slices),
            p99_ms=statistics.median(s.p99_ms for s in self.slices),
            non_2xx=sum(s.non_2xx for s in self.slices),
            socket_errors=sum(s.socket_errors for s in self.slices),
        )


@dataclass
class HttpBench:
    """Runs wrk against a mock and its baseline and turns the results into rows.

    The arms of a block (baseline, warm, cold, ...) are measured in turns of ``SLICE_S``
    seconds until each has had ``seconds``: whatever else the machine does during the block
    falls on every arm alike, so the ratios between them stay fair.
    """

    mock: Server
    baseline: Server | None
    seconds: float
    warmup_seconds: float
    label: str = ""
    other: Server | None = None
    """A mock from another checkout (``--compare-tree``): its warm and cold arms join every
    block, so before/after figures come from the same seconds."""
    other_tag: str = " [other tree]"
    nginx: Server | None = None
    """nginx serving the baseline's bytes: its arm joins every block (the ceiling)."""

    def interleave(self, arms: Sequence[Arm]) -> None:
        """Warm each arm up once, then measure them in turns (see the class docstring)."""
        interleave(arms, self.seconds, self.warmup_seconds)

    def _row(
        self, measure: str, arm: Arm, reference: float | None = None, nginx: float | None = None
    ) -> Row:
        result = arm.total()
        rates = [s.requests_per_s for s in arm.slices]
        row = Row(
            f"{self.label}{measure}",
            rate=result.requests_per_s,
            p50_ms=result.p50_ms,
            p99_ms=result.p99_ms,
            peak_rss_mib=arm.server.memory().peak_total_mib,
            ratio=result.requests_per_s / reference if reference else None,
            nginx_ratio=result.requests_per_s / nginx if nginx else None,
            details={
                "requests": result.requests,
                "errors": result.errors,
                "slice_req_per_s": rates,
                "slice_p99_ms": [s.p99_ms for s in arm.slices],
            },
        )
        if result.errors:
            row.note = f"{result.errors} of {result.requests} requests failed (non-2xx or socket)"
        return row

    def warm_up(self, targets: Targets, auth: ApiAuth, paths_file: Path) -> None:
        """Touch every code path once (warm and cold URLs) before anything is measured."""
        seconds = max(1.0, self.warmup_seconds)
        for server in filter(None, (self.mock, self.other)):
            Arm("warm", server, targets.warm, auth).run(seconds)
            Arm("cold", server, "/", auth, cold=paths_file).run(seconds)

    def measure_api(self, targets: Targets, auth: ApiAuth, paths_file: Path) -> list[Row]:
        """Baseline, warm (and extra warm URLs) and cold of one API, interleaved."""
        arms = self.api_arms(targets, auth, paths_file)
        self.interleave(arms)
        return self.api_rows(targets, arms)

    def api_arms(self, targets: Targets, auth: ApiAuth, paths_file: Path) -> list[Arm]:
        """The arms of ``measure_api``: baseline, nginx (if any), warm, extra warm URLs, cold."""
        assert self.baseline is not None
        arms = [
            Arm("baseline", self.baseline, targets.warm),
            *([Arm("nginx", self.nginx, targets.warm)] if self.nginx is not None else []),
            Arm("warm", self.mock, targets.warm, auth),
            *(Arm(name, self.mock, path, auth) for name, path in targets.extra_warm.items()),
            Arm("cold", self.mock, "/", auth, cold=paths_file),
        ]
        if self.other is not None:
            tag = self.other_tag
            arms += [
                Arm("warm", self.other, targets.warm, auth, tag=tag),
                *(
                    Arm(name, self.other, path, auth, tag=tag)
                    for name, path in targets.extra_warm.items()
                ),
                Arm("cold", self.other, "/", auth, cold=paths_file, tag=tag),
            ]
        return arms

    def api_rows(
        self, targets: Targets, arms: Sequence[Arm], nginx_rate: float | None = None
    ) -> list[Row]:
        """Rows of measured ``api_arms``: ratios to the baseline arm (the first one) and to the
        nginx arm (or ``nginx_rate``, nginx's req/s measured in the same block elsewhere)."""
        base, *measured = arms
        reference = base.total().requests_per_s
        nginx_arm = next((arm for arm in measured if arm.name == "nginx"), None)
        if nginx_arm is not None:
            nginx_rate = nginx_arm.total().requests_per_s
        base_row = self._row(f"baseline: {targets.api} ({targets.warm_bytes:,} B)", base)
        base_row.nginx_ratio = reference / nginx_rate if nginx_rate else None
        rows = [base_row]
        rates = rows[0].details["slice_req_per_s"]
        rows[0].note = f"slices {min(rates):,.0f}-{max(rates):,.0f} req/s"
        for arm in measured:
            if arm.name == "nginx":
                row = self._row(f"nginx: {targets.api}, same bytes", arm, reference, nginx_rate)
            elif arm.name in ("warm", "cold"):
                measure = f"{arm.name}: {targets.api}{arm.tag}"
                row = self._row(measure, arm, reference, nginx_rate)
                judge(row, arm.name, arm.total())
                if arm.name == "warm":
                    row.details["bytes"] = targets.warm_bytes
                else:
                    row.details["distinct_urls"] = len(targets.cold)
            else:
                measure = f"warm: {targets.api}, {arm.name}{arm.tag}"
                row = self._row(measure, arm, reference, nginx_rate)
            rows.append(row)
        return rows

    def measure_big(self, measure: str, path: str, auth: ApiAuth, first_s: float) -> list[Row]:
        """A big payload, repeatedly, over ``BIG_CONNECTIONS`` connections (32 clients each
        waiting for megabytes measure the queue, not the payload), interleaved with the
        baseline (and nginx) serving the same bytes; its first, uncached request was timed when
        the baseline's copy was fetched."""
        assert self.baseline is not None
        base = Arm("baseline", self.baseline, path, None, None, BIG_CONNECTIONS, 60.0)
        big = Arm(measure, self.mock, path, auth, None, BIG_CONNECTIONS, 60.0)
        ceiling = (
            Arm("nginx", self.nginx, path, None, None, BIG_CONNECTIONS, 60.0)
            if self.nginx is not None
            else None
        )
        self.interleave([base, *filter(None, [ceiling]), big])
        reference = base.total().requests_per_s
        nginx_rate = ceiling.total().requests_per_s if ceiling is not None else None
        row = self._row(measure, big, reference, nginx_rate)
        row.details["first_request_ms"] = first_s * 1000
        row.note = (row.note + "; " if row.note else "") + (
            f"first (uncached) request {first_s * 1000:,.0f} ms"
        )
        base_row = self._row(f"baseline: same bytes as {measure}", base, None, nginx_rate)
        rows = [base_row, row]
        if ceiling is not None:
            ceiling_row = self._row(
                f"nginx: same bytes as {measure}", ceiling, reference, nginx_rate
            )
            rows.insert(1, ceiling_row)
        return rows


def judge(row: Row, kind: str, result: WrkResult) -> None:
    """Set the issue-15 target of a warm or cold row and whether it was met: throughput as a
    multiple of nginx's and p99 (not judged, ``met`` None, when nginx was not measured)."""
    minimum, p99_ms = (WARM_X_NGINX, WARM_P99_MS) if kind == "warm" else (COLD_X_NGINX, COLD_P99_MS)
    row.target = f"x nginx >= {minimum}, p99 <= {p99_ms:.0f} ms"
    if row.nginx_ratio is None:
        row.met = None
        row.note = (row.note + "; " if row.note else "") + "target not judged: no nginx arm"
        return
    row.met = _ok(result) and row.nginx_ratio >= minimum and result.p99_ms <= p99_ms


def interleave(arms: Sequence[Arm], seconds: float, warmup_seconds: float) -> None:
    """Warm each arm up once, then give each ``seconds`` in turns of about ``SLICE_S``."""
    for arm in arms:
        if warmup_seconds > 0:
            arm.run(warmup_seconds)
    turns = max(1, round(seconds / SLICE_S))
    for _ in range(turns):
        for arm in arms:
            arm.slices.append(arm.run(seconds / turns))


def _ok(result: WrkResult) -> bool:
    return result.requests > 0 and result.errors <= MAX_ERROR_SHARE * result.requests
