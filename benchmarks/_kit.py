"""The kit's own CPU per response judged: ``stepspec check`` live and offline (issue 15).

A mock (the default server configuration, ``stepspec mock``'s default world) is started; a
child interpreter (``_kit_child``) runs ``stepspec check`` in-process against it for each API
(once with ``--record``, then ``rounds`` times) and judges the recording offline (``--har``,
``rounds`` times, after one unmeasured run), reading its own CPU time around each run. Per API:

- **offline**: the CPU of judging the HAR (``stepspec check --har``: the same response and
  cross-exchange checks, schema validation, the JSON report; no HTTP) divided by the responses
  judged (the report's ``requests``), median of the runs. The issue-15 target, <= 1 ms per
  response, is judged on this figure. Its note adds the cost per *additional* response (the
  same recording's entries repeated ``REPEAT`` times: the difference over the difference) and
  the CPU of the whole command in a fresh process (interpreter start-up and imports included,
  from ``getrusage(RUSAGE_CHILDREN)``) per response;
- **live**: the CPU of the whole live check (discovery, HTTP client, checks, report) divided by
  the responses it received; the same 1 ms is shown against it.

CPU time, not wall time: this machine is shared and the mock answers in the same seconds.
"""

from __future__ import annotations

import json
import os
import resource
import statistics
import subprocess
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from benchmarks._http import default_server_config, mock_server
from benchmarks._procs import ROOT
from benchmarks._report import Row

TARGET_US = 1000.0
"""Issue 15: at most 1 ms of the kit's own CPU per response judged."""
KIT_WORLD = {"workflows_per_api": 12, "runs_per_workflow": 40}
"""``stepspec mock``'s default world: what a developer checks against."""
REPEAT = 10
APIS = ("kibana", "arcee", "trigify")
CHILD_TIMEOUT_S = 600.0


def per_response_us(cpu_s: Sequence[float], responses: Sequence[int]) -> float:
    """Median over runs of CPU seconds per response, in µs."""
    return statistics.median(1e6 * cpu / max(1, n) for cpu, n in zip(cpu_s, responses, strict=True))


def marginal_us(small: Mapping[str, Sequence[Any]], large: Mapping[str, Sequence[Any]]) -> float:
    """CPU per additional response: (median CPU of the large runs - of the small ones) over
    the difference in responses (µs); the per-run costs cancel out."""
    extra = statistics.median(large["responses"]) - statistics.median(small["responses"])
    cpu = statistics.median(large["cpu_s"]) - statistics.median(small["cpu_s"])
    return 1e6 * cpu / extra if extra > 0 else float("nan")


def body_bytes(har: Path) -> int:
    """The response bodies' bytes in a HAR recording (``content.text``, as recorded)."""
    entries = json.loads(har.read_text())["log"]["entries"]
    return sum(len(str(entry["response"]["content"].get("text") or "")) for entry in entries)


def rows(
    api: str, figures: Mapping[str, Any], fresh_us: float | None = None, body_kib: float = 0.0
) -> list[Row]:
    """The offline and live rows of one API from the child's figures (``body_kib``: the
    recording's response bodies, in KiB)."""
    offline, live = figures["offline"], figures["live"]
    judged = per_response_us(offline["cpu_s"], offline["responses"])
    extra = marginal_us(offline, figures["offline_repeated"])
    responses = int(statistics.median(offline["responses"]))
    size = f" ({body_kib / max(1, responses):,.1f} KiB of body each on average)" if body_kib else ""
    cpu_ms = 1e3 * statistics.median(offline["cpu_s"])
    notes = [
        f"{responses} responses per run{size}, {cpu_ms:.0f} ms CPU "
        f"(median of {len(offline['cpu_s'])})",
        f"{extra:,.0f} µs per additional response (recording x{REPEAT})",
    ]
    if fresh_us is not None:
        notes.append(f"{fresh_us:,.0f} µs/response as a fresh process (start-up, imports)")
    if any(offline["exit"]):
        notes.append("the recording has findings (exit 1)")
    offline_row = Row(
        f"kit: {api}, CPU per response judged offline (check --har)",
        rate=judged,
        unit="µs/resp",
        target=f"<= {TARGET_US:,.0f} µs/resp",
        met=judged <= TARGET_US,
        note="; ".join(notes),
        details={
            "offline": dict(offline),
            "offline_repeated": dict(figures["offline_repeated"]),
            "marginal_us": extra,
            "fresh_process_us": fresh_us,
            "body_kib": body_kib,
        },
    )
    live_us = per_response_us(live["cpu_s"], live["responses"])
    live_row = Row(
        f"kit: {api}, CPU per response of a live check (HTTP included)",
        rate=live_us,
        unit="µs/resp",
        target=f"<= {TARGET_US:,.0f} µs/resp",
        met=live_us <= TARGET_US,
        note=(
            f"{int(statistics.median(live['responses']))} responses per run, wall "
            f"{1e3 * statistics.median(live['wall_s']):.0f} ms; first run (with --record, "
            f"imports, schema compilation) {1e3 * figures['record']['cpu_s'][0]:.0f} ms CPU"
        ),
        details={"live": dict(live), "record": dict(figures["record"])},
    )
    return [offline_row, live_row]


STEPSPEC = "import sys; from conformance.cli import main; main(sys.argv[1:])"


def _python(
    args: Sequence[str], ok: tuple[int, ...] = (0,), timeout_s: float = CHILD_TIMEOUT_S
) -> str:
    """Run ``python <args>`` from the repository root; its stdout (RuntimeError if it fails)."""
    path = os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))
    done = subprocess.run(
        [sys.executable, *args],
        capture_output=True,
        text=True,
        timeout=timeout_s,
        check=False,
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": path},
    )
    if done.returncode not in ok:
        raise RuntimeError(f"{' '.join(args[:3])} exited {done.returncode}: {done.stderr[-2000:]}")
    return done.stdout


def fresh_process_us(api: str, har: Path, responses: int) -> float:
    """CPU of ``stepspec check --har`` as a new process (start-up included) per response."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    check = ["check", "--api", api, "--har", str(har), "--format", "json", "-q"]
    _python(["-c", STEPSPEC, *check], ok=(0, 1))
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return 1e6 * cpu / max(1, responses)


def measure(workdir: Path, rounds: int = 3, apis: Sequence[str] = APIS) -> list[Row]:
    """Rows for every API (see the module docstring); RuntimeError if a check cannot run."""
    found: list[Row] = []
    with mock_server(default_server_config(), workdir, KIT_WORLD, name="mock-kit") as mock:
        args = [str(mock.base_url), str(workdir), str(rounds), str(REPEAT), *apis]
        output = _python(["-m", "benchmarks._kit_child", *args])
    try:
        figures = json.loads(output)
    except ValueError as error:
        raise RuntimeError(f"the kit child printed no JSON: {output[-500:]!r}") from error
    for api in apis:
        responses = int(statistics.median(figures[api]["offline"]["responses"]))
        har = workdir / f"kit-{api}.har"
        fresh = fresh_process_us(api, har, responses)
        found += rows(api, figures[api], fresh, body_bytes(har) / 1024)
    return found
