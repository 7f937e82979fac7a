"""The kit measure's child: ``stepspec check`` run in-process, its CPU time per run.

``python -m benchmarks._kit_child BASE_URL WORKDIR ROUNDS REPEAT API...`` prints one JSON object
on stdout, per API::

    {"kibana": {"record": Runs, "live": Runs, "offline": Runs, "offline_repeated": Runs}}

where ``Runs`` is ``{"cpu_s": [...], "wall_s": [...], "responses": [...], "exit": [...]}``, one
entry per run of ``conformance.cli.main`` (CPU: ``time.process_time``, every thread of this
process, so the HTTP client's threads count; the mock is another process):

- ``record``: one live check with ``--record <API>.har`` (first run: lazy imports and schema
  compilation; its recording is what the offline runs judge);
- ``live``: ``ROUNDS`` live checks (``--base-url``), responses = the report's ``requests``;
- ``offline``: one unmeasured judging of the HAR, then ``ROUNDS`` measured (``--har``),
  responses = the report's ``requests`` (the recorded exchanges judged);
- ``offline_repeated``: the same over a HAR holding the recording's entries ``REPEAT`` times, so
  the parent can separate the cost per response from the cost per run.

Only the standard library and ``conformance`` are imported, so nothing of the harness runs here.
Exit status 0, or 3 when a check exited neither 0 nor 1 (its stderr is printed).
"""

from __future__ import annotations

import contextlib
import io
import json
import sys
import time
from pathlib import Path
from typing import Any

from conformance.cli import main as stepspec

CREDENTIAL = "bench"
"""Any well-formed key works on a mock started without ``--api-key``."""


class CheckFailed(RuntimeError):
    """A run exited neither 0 nor 1 (the message has its command line and stderr)."""


def check(args: list[str], report: Path) -> dict[str, Any]:
    """One in-process ``stepspec check``: CPU and wall seconds, responses, exit status."""
    argv = ["check", *args, "--format", "json", "--output", str(report), "-q"]
    stderr = io.StringIO()
    cpu, wall = time.process_time(), time.perf_counter()
    code: Any = 0
    with contextlib.redirect_stderr(stderr):
        try:
            stepspec(argv)
        except SystemExit as exit_:
            code = exit_.code or 0
    cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    if code not in (0, 1):  # 0 conforms, 1 findings: anything else did not judge
        raise CheckFailed(f"stepspec {' '.join(argv)} exited {code}: {stderr.getvalue()[-2000:]}")
    document = json.loads(report.read_text())
    return {"cpu_s": cpu, "wall_s": wall, "responses": int(document["requests"]), "exit": code}


def runs(args: list[str], report: Path, rounds: int) -> dict[str, list[Any]]:
    """``rounds`` runs of ``check(args)``, as lists per figure."""
    done = [check(args, report) for _ in range(rounds)]
    return {key: [run[key] for run in done] for key in ("cpu_s", "wall_s", "responses", "exit")}


def repeated(har: Path, times: int, into: Path) -> Path:
    """A copy of the HAR ``har`` whose entries appear ``times`` times over."""
    document = json.loads(har.read_text())
    document["log"]["entries"] = document["log"]["entries"] * times
    into.write_text(json.dumps(document))
    return into


def measure(base_url: str, workdir: Path, api: str, rounds: int, repeat: int) -> dict[str, Any]:
    """The four kinds of runs of one API (see the module docstring)."""
    report = workdir / f"kit-{api}.json"
    har = workdir / f"kit-{api}.har"
    live = ["--api", api, "--base-url", base_url, "--api-key", CREDENTIAL]
    figures: dict[str, Any] = {"record": runs([*live, "--record", str(har)], report, 1)}
    figures["live"] = runs(live, report, rounds)
    offline = ["--api", api, "--har", str(har)]
    check(offline, report)  # warm-up: whatever the offline path loads lazily
    figures["offline"] = runs(offline, report, rounds)
    big = repeated(har, repeat, workdir / f"kit-{api}-x{repeat}.har")
    figures["offline_repeated"] = runs(["--api", api, "--har", str(big)], report, rounds)
    return figures


def main(argv: list[str]) -> int:
    """See the module docstring."""
    base_url, workdir, rounds, repeat, *apis = argv
    try:
        found = {
            api: measure(base_url, Path(workdir), api, int(rounds), int(repeat)) for api in apis
        }
    except CheckFailed as error:
        print(error, file=sys.stderr)
        return 3
    print(json.dumps(found))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
