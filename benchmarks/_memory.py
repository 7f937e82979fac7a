"""Memory: does a worker stay bounded under cold traffic, and does world size cost memory?

- Growth: a fresh mock's largest worker after warm-up, then after 100,000 cold requests (each
  naming a different entity, the three APIs in turn). Bounded caches must keep the ratio small
  however long the server runs.
- World size: two fresh servers, a world of 10^2 runs and one of 10^6 runs per API, given the
  same warm-up (the same number of workflows listed, the same kinds of requests) and then the
  same number of cold requests; the largest worker of each is compared.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

from benchmarks._discover import ApiAuth, Client, Targets
from benchmarks._http import Arm, mock_server, write_paths
from benchmarks._procs import Memory, Server, ServerConfig
from benchmarks._report import Row

GROWTH_TARGET = 1.2
"""Issue 15: RSS after 100,000 cold requests <= 1.2x after warm-up (issue 6 had 1.5)."""
WORLD_TARGET = 1.1
SMALL_WORLD = {"workflows_per_api": 10, "runs_per_workflow": 10}
LARGE_WORLD = {"workflows_per_api": 1000, "runs_per_workflow": 1000}


CHUNK_S = 10.0
ColdList = tuple[ApiAuth, str, Path]
"""(credentials, warm URL, cold list file) of one API."""


def warm_up(server: Server, lists: Sequence[ColdList], seconds: float) -> None:
    """Serve every API's warm URL and cold list for ``seconds`` each (all code paths run)."""
    for auth, warm, cold in lists:
        Arm("warm", server, warm, auth).run(seconds)
        Arm("cold", server, "/", auth, cold=cold).run(seconds)


def cold_requests(server: Server, lists: Sequence[ColdList], count: int) -> int:
    """Send at least ``count`` cold requests, ``CHUNK_S`` seconds per API in turn; returns how
    many were answered.

    wrk cannot stop after N requests (a Lua ``thread:stop()`` ends the thread, but wrk still
    waits out ``-d``), hence chunks, each continuing its list where the last one stopped.
    """
    done = 0
    while done < count:
        for auth, _, cold in lists:
            result = Arm("cold", server, "/", auth, cold=cold).run(CHUNK_S)
            if result.requests == 0:
                raise RuntimeError(f"{auth.name}: no cold request answered in {CHUNK_S:.0f} s")
            done += result.requests
            if done >= count:
                break
    return done


def growth_row(
    config: ServerConfig, workdir: Path, lists: Sequence[ColdList], seconds: float, count: int
) -> Row:
    """A fresh mock's largest worker after warm-up, then after ``count`` cold requests.

    A server of its own: the HTTP measures' server has also rendered the big payloads, whose
    memory would hide the caches' growth.
    """
    with mock_server(config, workdir, name="mock-growth") as server:
        warm_up(server, lists, seconds)
        before = server.memory()
        done = cold_requests(server, lists, count)
        after = server.memory()
    ratio = after.max_worker_rss_mib / before.max_worker_rss_mib
    apis = "/".join(auth.name for auth, _, _ in lists)
    return Row(
        f"memory: worker RSS after {done:,} cold requests vs after warm-up",
        peak_rss_mib=after.max_worker_rss_mib,
        ratio=ratio,
        target=f"ratio <= {GROWTH_TARGET}",
        met=ratio <= GROWTH_TARGET,
        note=(
            f"{apis} cold lists in turn; worker RSS {before.max_worker_rss_mib:.1f} MiB "
            f"after warm-up, {after.max_worker_rss_mib:.1f} MiB after"
        ),
        details={"before": before.__dict__, "after": after.__dict__, "cold_requests": done},
    )


def world_rows(
    config: ServerConfig,
    workdir: Path,
    discover: Callable[[Client, int], Targets],
    auth: ApiAuth,
    seconds: float,
    cold: int,
) -> list[Row]:
    """Worker RSS of a 10^2-run world and a 10^6-run world, after the same requests."""
    measured: dict[str, tuple[Memory, Memory]] = {}
    for label, world in (("10^2", SMALL_WORLD), ("10^6", LARGE_WORLD)):
        with mock_server(config, workdir, world, name=f"mock-world-{label}") as server:
            targets = discover(Client(server.base_url, auth), 2000)
            paths = write_paths(targets.cold, workdir / f"cold-world-{label}.txt")
            lists = [(auth, targets.warm, paths)]
            warm_up(server, lists, seconds)
            warm = server.memory()
            cold_requests(server, lists, cold)
            measured[label] = (warm, server.memory())
    rows = []
    for n, moment in enumerate(("after warm-up", f"after {cold:,} cold requests")):
        small, large = measured["10^2"][n], measured["10^6"][n]
        ratio = large.max_worker_rss_mib / small.max_worker_rss_mib
        rows.append(
            Row(
                f"memory: world of 10^6 vs 10^2 runs, {moment}",
                peak_rss_mib=large.max_worker_rss_mib,
                ratio=ratio,
                target=f"ratio <= {WORLD_TARGET}",
                met=ratio <= WORLD_TARGET,
                note=(
                    f"{auth.name} worker RSS {small.max_worker_rss_mib:.1f} MiB (10^2 runs) vs "
                    f"{large.max_worker_rss_mib:.1f} MiB (10^6 runs)"
                ),
                details={"small": small.__dict__, "large": large.__dict__},
            )
        )
    return rows
