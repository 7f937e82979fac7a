"""Finding what to request: URLs of real entities, discovered over HTTP from the list endpoints.

The harness knows each API only by its public surface (the paths in ``specs/<api>/openapi.yaml``)
so it keeps working while the mock's internals change: it walks the list endpoints of a running
server and returns a ``Targets`` per API: one warm URL (a step payload of about 1 KB), many cold
URLs (each names a different valid entity) and the big payloads the issue asks for.
"""

from __future__ import annotations

import itertools
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

import requests

Json = Any
PER_PARENT = 300
"""Cold URLs taken per workflow: few list requests, yet many workflows in the mix."""
WARM_BODY_BYTES = 1024
"""The issue's reference payload is a ~1 KB step; the warm URL is the step closest to it."""


@dataclass(frozen=True)
class ApiAuth:
    """Credentials and the path that proves the server is up, per API."""

    name: str
    headers: Mapping[str, str]
    ready_path: str

    @property
    def header_lines(self) -> tuple[str, ...]:
        """The headers as ``Name: value`` for wrk's ``-H``."""
        return tuple(f"{name}: {value}" for name, value in self.headers.items())


KIBANA = ApiAuth("kibana", {"Authorization": "ApiKey bench"}, "/api/workflows?size=1")
ARCEE = ApiAuth("arcee", {"Authorization": "Bearer bench"}, "/api/v1/workflow/workflows")
TRIGIFY = ApiAuth("trigify", {"x-api-key": "bench"}, "/v1/workflows?limit=1")
APIS = (KIBANA, ARCEE, TRIGIFY)


class DiscoveryFailed(RuntimeError):
    """A list endpoint did not answer as documented (the message names the URL and status)."""


@dataclass
class Targets:
    """What the HTTP measures request for one API."""

    api: str
    warm: str = ""
    """Path of one step payload (the same URL on every request)."""
    warm_bytes: int = 0
    cold: list[str] = field(default_factory=list)
    """Paths of distinct valid entities of the same kind as ``warm``."""
    extra_warm: dict[str, str] = field(default_factory=dict)
    """Other URLs worth repeating, by what they show (e.g. a step that cannot be cached)."""
    big: dict[str, str] = field(default_factory=dict)
    """Measure name -> path, for the big payloads this world has."""
    missing: list[str] = field(default_factory=list)
    """Big payloads the world does not have (reported to the lead)."""


class Client:
    """GET JSON from one server with one API's credentials (a session per thread)."""

    def __init__(self, base_url: str, auth: ApiAuth) -> None:
        self.base_url = base_url
        self.auth = auth
        self._local = threading.local()

    def _session(self) -> requests.Session:
        session: requests.Session | None = getattr(self._local, "session", None)
        if session is None:
            session = requests.Session()
            session.headers.update(self.auth.headers)
            self._local.session = session
        return session

    def get(self, path: str) -> requests.Response:
        """The raw response to ``GET path``."""
        return self._session().get(self.base_url + path, timeout=120)

    def json(self, path: str) -> Json:
        """The JSON body of ``GET path``; raises ``DiscoveryFailed`` unless it is a 200."""
        response = self.get(path)
        if response.status_code != 200:
            raise DiscoveryFailed(
                f"GET {path} answered {response.status_code}: {response.text[:300]!r}"
            )
        return response.json()


def parallel(function: Callable[[Any], Any], items: Iterable[Any], threads: int = 4) -> list[Any]:
    """``[function(item) for item in items]`` on a few threads (the server has two workers)."""
    with ThreadPoolExecutor(max_workers=threads) as pool:
        return list(pool.map(function, items))


def closest_to(
    client: Client, paths: Iterable[str], size: int = WARM_BODY_BYTES
) -> tuple[str, int]:
    """The path among ``paths`` whose 200 body is closest to ``size`` bytes, and that size."""
    best, best_size = "", 0
    for path in paths:
        response = client.get(path)
        if response.status_code != 200:
            continue
        length = len(response.content)
        if not best or abs(length - size) < abs(best_size - size):
            best, best_size = path, length
    if not best:
        raise DiscoveryFailed(f"{client.auth.name}: no candidate warm URL answered 200")
    return best, best_size


def spread(groups: list[list[str]], want: int) -> list[str]:
    """Interleave ``groups`` (one per parent entity) and keep ``want`` items.

    Interleaving makes consecutive cold requests hit different workflows and runs, so no
    per-run cache in the mock can answer one request from the previous one.
    """
    merged = (item for batch in itertools.zip_longest(*groups) for item in batch if item)
    return list(itertools.islice(merged, want))


# -- Kibana -----------------------------------------------------------------------------------


def _pages(client: Client, path: str, size: int, limit: int | None = None) -> Iterator[Json]:
    """Every item of a Kibana-style ``page``/``size`` list (``results`` + ``total``)."""
    separator = "&" if "?" in path else "?"
    page, seen = 1, 0
    while True:
        body = client.json(f"{path}{separator}page={page}&size={size}")
        results = body.get("results", [])
        yield from results
        seen += len(results)
        if not results or seen >= int(body.get("total", 0)) or (limit and seen >= limit):
            return
        page += 1


def kibana_targets(client: Client, want: int, *, big: bool = True) -> Targets:
    """Kibana: step URLs ``/api/workflows/executions/{run}/step/{step}``; big executions."""
    targets = Targets("kibana")
    # Without the big search, list only the workflows used (the memory measure compares
    # worlds of different sizes and must send both the same requests).
    needed = None if big else max(4, -(-want // PER_PARENT))
    size = 100 if needed is None else min(100, needed)
    workflows = [item["id"] for item in _pages(client, "/api/workflows", size, limit=needed)]
    if not workflows:
        raise DiscoveryFailed("kibana: GET /api/workflows listed no workflows")
    used = workflows[: max(4, -(-want // PER_PARENT))]
    per_workflow = max(PER_PARENT, want // len(used) + 1)

    def steps_of(workflow_id: str) -> list[str]:
        path = f"/api/workflows/workflow/{quote(workflow_id)}/executions/steps"
        return [
            f"/api/workflows/executions/{quote(step['workflowRunId'])}/step/{quote(step['id'])}"
            for step in _pages(client, path, 100, limit=per_workflow)
        ]

    targets.cold = spread(parallel(steps_of, used), want)
    if not targets.cold:
        raise DiscoveryFailed("kibana: the world has no step executions")
    # The newest runs come first in every list and many of them are still running (their
    # answers may change, so the mock cannot cache them). Warm means a finished run's step;
    # a running run's step is measured too, as its own row.
    middle = len(targets.cold) // 2
    finished, _ = _by_run_state(client, targets.cold[middle : middle + 40])
    targets.warm, targets.warm_bytes = closest_to(client, finished or targets.cold[middle:][:40])
    _, running = _by_run_state(client, targets.cold[:40])
    if running:
        targets.extra_warm["step of a running execution (not cacheable)"] = running[0]
    if big:
        _kibana_big(client, workflows, targets)
    return targets


KIBANA_TERMINAL = frozenset({"completed", "failed", "cancelled", "timed_out", "skipped"})


def _by_run_state(client: Client, step_paths: list[str]) -> tuple[list[str], list[str]]:
    """Split Kibana step URLs into those of finished runs and those of unfinished ones."""
    finished: list[str] = []
    running: list[str] = []
    for path in step_paths:
        execution = path.split("/step/")[0]
        status = client.json(execution).get("status")
        (finished if status in KIBANA_TERMINAL else running).append(path)
    return finished, running


def _kibana_big(client: Client, workflows: list[str], targets: Targets) -> None:
    """Find an execution with 1,000 steps and one with 10,000 (by the steps lists' totals)."""

    def step_total(execution_id: str) -> tuple[str, int]:
        body = client.json(f"/api/workflows/executions/{quote(execution_id)}/steps?size=1")
        return execution_id, int(body.get("total", 0))

    def heavy_runs(workflow_id: str) -> list[tuple[str, int]]:
        base = f"/api/workflows/workflow/{quote(workflow_id)}/executions"
        steps = client.json(f"{base}/steps?size=1&page=1")
        runs = client.json(f"{base}?size=100&page=1")
        if int(runs.get("total", 0)) == 0 or int(steps.get("total", 0)) / runs["total"] < 100:
            return []
        return [step_total(item["id"]) for item in runs.get("results", [])]

    found = [pair for pairs in parallel(heavy_runs, workflows) for pair in pairs]
    thousand = [run for run, total in found if 1000 <= total < 5000]
    ten_thousand = [run for run, total in found if total >= 10_000]
    if thousand:
        run = quote(min(thousand, key=lambda r: dict(found)[r]))
        targets.big["big: kibana execution, 1,000 steps"] = f"/api/workflows/executions/{run}"
    else:
        targets.missing.append("a Kibana execution with 1,000 steps")
    if ten_thousand:
        run = quote(ten_thousand[0])
        targets.big["big: kibana steps page size=5000 of 10,000"] = (
            f"/api/workflows/executions/{run}/steps?size=5000&page=1"
        )
    else:
        targets.missing.append("a Kibana execution with 10,000 steps")


# -- Arcee ------------------------------------------------------------------------------------

ARCEE_BASE = "/api/v1/workflow/workflows"


def arcee_targets(client: Client, want: int, *, big: bool = True) -> Targets:
    """Arcee: steps lists ``.../workflows/{w}/runs/{r}/steps`` (Arcee has no one-step URL)."""
    targets = Targets("arcee")
    workflows = client.json(ARCEE_BASE)
    ids = [item["workflow_id"] for item in workflows]
    if not ids:
        raise DiscoveryFailed("arcee: GET /workflows listed no workflows")
    sizes = {item["workflow_id"]: len(str(item.get("graph", ""))) for item in workflows}
    bulk = max(ids, key=sizes.__getitem__)
    # The bulk workflow (1,000 nodes) would dominate cold figures: leave it to "big".
    ordinary = [wid for wid in ids if wid != bulk] or ids
    used = ordinary[: max(4, -(-want // PER_PARENT))]
    per_workflow = max(PER_PARENT, want // len(used) + 1)

    def runs_of(workflow_id: str) -> list[str]:
        paths: list[str] = []
        while len(paths) < per_workflow:
            page = client.json(
                f"{ARCEE_BASE}/{quote(workflow_id)}/runs?limit=100&offset={len(paths)}"
            )
            base = f"{ARCEE_BASE}/{quote(workflow_id)}/runs"
            paths += [f"{base}/{quote(run['id'])}/steps" for run in page]
            if len(page) < 100:
                break
        return paths[:per_workflow]

    targets.cold = spread(parallel(runs_of, used), want)
    if not targets.cold:
        raise DiscoveryFailed("arcee: the world has no runs")
    targets.warm, targets.warm_bytes = closest_to(client, targets.cold[:40], 3 * WARM_BODY_BYTES)
    if big:
        _arcee_big(client, bulk, targets)
    return targets


def _arcee_big(client: Client, bulk: str, targets: Targets) -> None:
    """The bulk workflow's completed run (1,000 steps); counted without rendering its steps,
    so the big measure's first request is an uncached render."""
    runs = client.json(f"{ARCEE_BASE}/{quote(bulk)}/runs?limit=100&offset=0")
    for run in runs:
        if run.get("status") == "completed":
            path = f"{ARCEE_BASE}/{quote(bulk)}/runs/{quote(run['id'])}/steps"
            targets.big["big: arcee steps list, 1,000 steps"] = path
            return
    targets.missing.append("an Arcee run whose steps list has 1,000 steps")


# -- Trigify ----------------------------------------------------------------------------------


def trigify_targets(client: Client, want: int, *, big: bool = True) -> Targets:
    """Trigify: execution details ``/v1/workflows/{id}/executions/{runId}`` (steps inside)."""
    targets = Targets("trigify")
    workflows: list[str] = []
    offset = 0
    while True:
        body = client.json(f"/v1/workflows?limit=100&offset={offset}")
        data = body.get("data", body)
        items = data.get("items", []) if isinstance(data, dict) else data
        offset += len(items)
        workflows += [item["id"] for item in items if item.get("status", "PUBLISHED") != "DRAFT"]
        more = data.get("has_more", len(items) == 100) if isinstance(data, dict) else False
        if not items or not more or len(workflows) * PER_PARENT >= want:
            break
    if not workflows:
        raise DiscoveryFailed("trigify: GET /v1/workflows listed no published workflows")
    used = workflows[: max(4, -(-want // PER_PARENT))]
    per_workflow = max(PER_PARENT, want // len(used) + 1)

    def runs_of(workflow_id: str) -> list[str]:
        paths: list[str] = []
        page = 1
        while len(paths) < per_workflow:
            base = f"/v1/workflows/{quote(workflow_id)}/executions"
            body = client.json(f"{base}?page={page}&page_size=100")
            executions = body.get("data", {}).get("executions", [])
            paths += [f"{base}/{quote(run['run_id'])}" for run in executions]
            if len(executions) < 100:
                break
            page += 1
        return paths[:per_workflow]

    targets.cold = spread(parallel(runs_of, used), want)
    if not targets.cold:
        raise DiscoveryFailed("trigify: the world has no executions")
    targets.warm, targets.warm_bytes = closest_to(client, targets.cold[:40], 2 * WARM_BODY_BYTES)
    return targets


DISCOVER: dict[str, Callable[..., Targets]] = {
    "kibana": kibana_targets,
    "arcee": arcee_targets,
    "trigify": trigify_targets,
}
