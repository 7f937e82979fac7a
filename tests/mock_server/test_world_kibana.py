"""The seeded Kibana world: deterministic, complete, and cheap at any size.

- two apps (and two processes) with the same seed answer identical bytes; other seeds differ;
- the default world holds every documented status, HITL steps waiting and answered (by people
  and by the ``timeout``/``system`` rule), skipped steps, foreach scopes, token usage;
- ids decode in O(1) and a run of a 10^6-run world is built without building the others.
"""

from __future__ import annotations

import subprocess
import sys
from collections import Counter
from typing import Any

from flask.testing import FlaskClient

from mock_server._context import WORLD_NOW_US
from mock_server._timeline import Status, observe
from mock_server._vocab import vocabulary
from mock_server.kibana._world import BULK_INDEX, KibanaWorld
from tests.conftest import AppFactory

AUTH = {"Authorization": "ApiKey dGVzdDprZXk="}


def urls(client: FlaskClient) -> list[str]:
    """A sample of GET URLs covering every read operation."""
    found = ["/api/workflows", "/s/security/api/workflows"]
    workflows = client.get("/api/workflows", headers=AUTH).get_json()["results"]
    for workflow in workflows[1:5]:
        base = f"/api/workflows/workflow/{workflow['id']}/executions"
        found += [base + "?size=5", base + "/steps?size=5"]
        runs = client.get(base + "?size=5", headers=AUTH).get_json()["results"]
        for run in runs:
            detail = f"/api/workflows/executions/{run['id']}"
            found += [detail + "?includeInput=true", detail + "/steps"]
            body = client.get(detail, headers=AUTH).get_json()
            found += [f"{detail}/step/{s['id']}" for s in body["stepExecutions"][:2]]
    return found


def bodies(client: FlaskClient, paths: list[str]) -> list[bytes]:
    return [client.get(path, headers=AUTH).data for path in paths]


def test_same_seed_same_bytes_other_seed_other_bytes(app_factory: AppFactory) -> None:
    first = app_factory(seed=11).test_client()
    paths = urls(first)
    assert len(paths) > 40
    again = app_factory(seed=11).test_client()
    assert bodies(first, paths) == bodies(again, paths)
    other = app_factory(seed=12).test_client()
    assert urls(other) != paths  # ids differ with the seed
    assert bodies(other, paths[:2]) != bodies(first, paths[:2])


PROBE = """
import sys, hashlib
from mock_server import create_app
app = create_app({"seed": 11, "state_path": sys.argv[1]})
client = app.test_client()
digest = hashlib.sha256()
for path in sys.stdin.read().split():
    digest.update(client.get(path, headers={"Authorization": "ApiKey x"}).data)
print(digest.hexdigest())
"""


def test_two_processes_serve_identical_bytes(app_factory: AppFactory, tmp_path: Any) -> None:
    paths = urls(app_factory(seed=11).test_client())
    digests = {
        subprocess.run(
            [sys.executable, "-c", PROBE, str(tmp_path / f"p{i}.sqlite3")],
            input="\n".join(paths),
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        for i in range(2)
    }
    assert len(digests) == 1


def census(seed: int) -> tuple[Counter[str], Counter[str], Counter[str]]:
    world = KibanaWorld(seed, 12, 40, WORLD_NOW_US, vocabulary())
    runs: Counter[str] = Counter()
    steps: Counter[str] = Counter()
    features: Counter[str] = Counter()
    for workflow in range(12):
        for run in range(40):
            plan, events = world.plan(workflow, run)
            timeline = observe(plan, WORLD_NOW_US, events)
            assert str(timeline.status) == str(world.header(workflow, run).fate)
            runs[str(timeline.status)] += 1
            for step in timeline.started_steps:
                steps[str(step.status)] += 1
                if step.hitl is not None:
                    features[f"hitl:{step.hitl.channel}"] += 1
                if step.plan.scope:
                    features["scope"] += 1
                if "usage" in step.plan.extra:
                    features["usage"] += 1
    return runs, steps, features


def test_the_default_world_holds_every_documented_state() -> None:
    runs, steps, features = census(0)
    assert set(runs) == {str(s) for s in Status}
    assert {
        "completed",
        "failed",
        "skipped",
        "cancelled",
        "timed_out",
        "running",
        "waiting",
        "waiting_for_input",
        "waiting_for_child",
    } <= set(steps)
    assert features["hitl:timeout"] > 0
    assert features["hitl:kibana_execution_view"] > 0
    assert features["scope"] > 0
    assert features["usage"] > 0


def test_start_times_decrease_and_terminal_runs_end_before_the_next_starts() -> None:
    world = KibanaWorld(3, 12, 40, WORLD_NOW_US, vocabulary())
    for workflow in range(12):
        previous_start = None
        for run in range(40):
            plan, events = world.plan(workflow, run)
            timeline = observe(plan, WORLD_NOW_US, events)
            if previous_start is not None:
                assert plan.started_us < previous_start
                if timeline.finished_us is not None:
                    assert timeline.finished_us <= previous_start
            previous_start = plan.started_us


def test_a_million_run_world_builds_one_run_without_the_others() -> None:
    world = KibanaWorld(5, 1000, 1000, WORLD_NOW_US, vocabulary())
    last = world.ids.execution_id(999, 999)
    assert world.ids.execution(last) == (0, 999, 999)
    plan, events = world.plan(999, 999)
    timeline = observe(plan, WORLD_NOW_US, events)
    assert timeline.plan.started_us > 0
    assert timeline.status is world.header(999, 999).fate
    assert world.header.cache_info().currsize <= 2  # only this run and its newer neighbour


def test_the_bulk_workflow_holds_the_big_runs_load_tests_need() -> None:
    world = KibanaWorld(0, 2, 2, WORLD_NOW_US, vocabulary())
    assert world.workflows_in("default")[-1] == BULK_INDEX
    sizes = []
    for run in range(world.runs_of(BULK_INDEX)):
        plan, events = world.plan(BULK_INDEX, run)
        timeline = observe(plan, WORLD_NOW_US, events)
        assert timeline.status is Status.COMPLETED
        sizes.append(len(timeline.started_steps))
    assert sizes == [1000, 10000, 2000]
