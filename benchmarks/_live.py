"""The live-run store on the hot path: a live-run read and a resume, SQLite against Redis.

Two mocks with the default server configuration run at once, one on a SQLite file (the
default) and one on a local ``redis-server`` (persistence off, started here). For each store:

- **read**: ``GET /api/workflows/executions/{id}`` of a live Kibana run waiting for input (never
  cached: every request reads the run and its events from the store and rebuilds the view);
- **resume**: ``POST .../resume`` over a list of waiting runs started beforehand
  (``lua/resume.lua``, each request the next run; a write per request). Should wrk get through
  the whole list, the rest are 409s, counted as errors in the row's note.

Arms are interleaved (read SQLite, read Redis, resume SQLite, resume Redis, in 2-s slices), so
whatever else runs on the machine falls on both stores alike; the Redis rows' ``ratio`` is their
req/s over SQLite's. Without ``redis-server`` (``apt-get install redis-server``) the group
leaves a line in ``problems``.
"""

from __future__ import annotations

import contextlib
import shutil
import subprocess
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import requests

from benchmarks._discover import KIBANA
from benchmarks._http import Arm, interleave, mock_env
from benchmarks._procs import Server, ServerConfig, free_port
from benchmarks._report import Row
from benchmarks._wrk import lua_script

WORLD = {"workflows_per_api": 12, "runs_per_workflow": 40}
RESUMES_PER_S = 400
"""Waiting runs started per second of resume measure (one resume each; at most 4,000)."""
_HEADERS = {**KIBANA.headers, "kbn-xsrf": "true"}


class ResumeArm(Arm):
    """An arm that POSTs a resume to the next waiting run of a list."""

    def options(self) -> dict[str, object]:
        """wrk options: the resume script over this arm's list of resume paths."""
        return {
            "headers": tuple(f"{k}: {v}" for k, v in _HEADERS.items()),
            "timeout_s": self.timeout_s,
            "connections": self.connections,
            "script": lua_script("resume.lua"),
            # each slice goes on where the last one stopped (two threads, half a list apart)
            "script_args": [str(self.cold), str(sum(s.requests for s in self.slices) // 2)],
        }


@contextlib.contextmanager
def redis_server(workdir: Path) -> Iterator[str]:
    """A ``redis-server`` on a free port of 127.0.0.1 (persistence off); yields its URL."""
    executable = shutil.which("redis-server")
    if executable is None:
        raise RuntimeError("redis-server is not installed (apt-get install redis-server)")
    port = free_port()
    process = subprocess.Popen(
        [executable, "--port", str(port), "--bind", "127.0.0.1", "--save", "",
         "--appendonly", "no", "--dir", str(workdir), "--logfile", "bench-redis.log"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        import redis

        client = redis.Redis(port=port, socket_timeout=5)
        deadline = time.monotonic() + 20
        while True:
            try:
                client.ping()
                break
            except redis.exceptions.ConnectionError:
                if process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("redis-server did not start") from None
                time.sleep(0.05)
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        process.terminate()
        process.wait(timeout=20)


def live_mock(config: ServerConfig, workdir: Path, store: str, name: str) -> Server:
    """A (not yet started) mock whose live runs are in ``store`` (a path or a Redis URL)."""
    env = mock_env(WORLD, workdir)
    env |= {"STEPSPEC_STATE_PATH": store, "STEPSPEC_TIME_SCALE": "100"}
    return Server(
        name,
        "benchmarks.mock_app:app",
        config,
        env=env,
        ready_path=KIBANA.ready_path,
        ready_headers=KIBANA.headers,
        log_dir=workdir,
    )


def waiting_runs(base_url: str, count: int) -> list[str]:
    """Start ``count`` approval runs and return their ids once all wait for input."""
    listed = requests.get(base_url + "/api/workflows", headers=_HEADERS, timeout=60)
    workflow = listed.json()["results"][1]["id"]
    url = f"{base_url}/api/workflows/workflow/{workflow}/run"
    headers = {**_HEADERS, "X-Stepspec-Scenario": "approval"}

    def start(_: int) -> str:
        answer = requests.post(url, headers=headers, json={"inputs": {}}, timeout=60)
        answer.raise_for_status()
        return str(answer.json()["workflowExecutionId"])

    with ThreadPoolExecutor(max_workers=8) as pool:
        ids = list(pool.map(start, range(count)))
    deadline = time.monotonic() + 60
    last = ids[-1]
    while time.monotonic() < deadline:
        found = requests.get(
            f"{base_url}/api/workflows/executions/{last}", headers=_HEADERS, timeout=60
        )
        if found.json().get("status") == "waiting_for_input":
            return ids
        time.sleep(0.1)
    raise RuntimeError(f"run {last} never waited for input")


def measure(
    config: ServerConfig, workdir: Path, seconds: float, warmup_seconds: float
) -> list[Row]:
    """The four rows (read and resume, SQLite and Redis); raises RuntimeError if it cannot."""
    arms: dict[tuple[str, str], Arm] = {}
    with contextlib.ExitStack() as stack:
        redis_url = stack.enter_context(redis_server(workdir))
        stores = (("sqlite", str(workdir / "live-bench.sqlite3")), ("redis", redis_url))
        count = max(500, min(4000, int(RESUMES_PER_S * seconds)))
        for store, location in stores:
            mock = stack.enter_context(live_mock(config, workdir, location, f"live-{store}"))
            ids = waiting_runs(mock.base_url, count + 1)
            read = f"/api/workflows/executions/{ids[0]}"
            paths = workdir / f"resume-{store}.txt"
            paths.write_text("".join(f"/api/workflows/executions/{i}/resume\n" for i in ids[1:]))
            arms[("read", store)] = Arm("read", mock, read, KIBANA)
            arms[("resume", store)] = ResumeArm("resume", mock, "/", cold=paths)
        reads = [arms[("read", "sqlite")], arms[("read", "redis")]]
        interleave(reads, seconds, warmup_seconds)
        resumes = [arms[("resume", "sqlite")], arms[("resume", "redis")]]
        interleave(resumes, seconds, 0)  # a warm-up would use up waiting runs
    rows = []
    for (kind, store), arm in arms.items():
        total = arm.total()
        reference = arms[(kind, "sqlite")].total().requests_per_s
        what = "GET a live execution" if kind == "read" else "POST resume (one write each)"
        rows.append(
            Row(
                f"live store: Kibana {kind} [{store}]",
                rate=total.requests_per_s,
                p50_ms=total.p50_ms,
                p99_ms=total.p99_ms,
                ratio=total.requests_per_s / reference if store == "redis" and reference else None,
                note=f"{what}; {total.requests:,} requests, {total.errors:,} errors"
                + ("; ratio: Redis over SQLite" if store == "redis" else ""),
            )
        )
    return rows
