"""Coherence invariants of the Kibana world, property-based over seeds, workflows and runs.

For any seed and any run (each invariant is also listed in the README):

1. end >= start for every step and run; ``executionTimeMs`` / ``duration`` equal
   finishedAt - startedAt in milliseconds; an unfinished step or run has no ``finishedAt``; a
   run that never began has no ``startedAt``/``finishedAt``/``duration`` and no steps; a
   cancelled step has no ``finishedAt`` (and one cancelled before it started only its status,
   ids and indices); a run failed by task recovery has no ``duration`` and its failed step
   ends after it, without ``executionTimeMs``;
2. a step fetched alone equals the same step in its execution (``includeInput/Output``) and in
   the steps list and the workflow's step list, apart from the lists' omission of input/output;
3. path ids are echoed (``id``, ``workflowRunId``, ``workflowId``, ``spaceId``);
4. ``globalExecutionIndex`` numbers the steps 0..n-1 in start order; ``stepExecutionIndex`` counts
   earlier executions of the same ``stepId``; steps start and end within their run;
5. status agrees with steps: failed/timed_out runs have a step in that status and an error;
   running/waiting runs have no ``finishedAt`` and a step in the same status; completed runs
   only completed or skipped steps; cancelled runs a cancelled step or no step at all;
6. pages of every list together hold every item exactly once, and ``total`` counts them;
   executions are newest first; filters return exactly the matching items;
7. spaces are isolated: a run is found in its own space only.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from flask.testing import FlaskClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mock_server import create_app
from mock_server._timeline import parse_iso

AUTH = {"Authorization": "ApiKey dGVzdDprZXk="}
WORKFLOWS, RUNS = 11, 9
SPACE_OF = ["default"] * 8 + ["security", "observability", "default"]
TERMINAL = {"completed", "failed", "cancelled", "timed_out", "skipped"}
_clients: dict[int, FlaskClient] = {}


@pytest.fixture(scope="module")
def state_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return Path(tmp_path_factory.mktemp("coherence"))


def client_for(seed: int, state_dir: Path) -> FlaskClient:
    if seed not in _clients:
        config = {
            "seed": seed,
            "workflows_per_api": WORKFLOWS,
            "runs_per_workflow": RUNS,
            "state_path": str(state_dir / f"{seed}.sqlite3"),
        }
        app = create_app(config)
        app.testing = True
        _clients[seed] = app.test_client()
    return _clients[seed]


def get(client: FlaskClient, path: str) -> Any:
    response = client.get(path, headers=AUTH)
    assert response.status_code == 200, (path, response.get_data(as_text=True))
    return response.get_json()


def prefix(space: str) -> str:
    return "" if space == "default" else f"/s/{space}"


def ms(text: str) -> int:
    return parse_iso(text) // 1000


def workflow_id(client: FlaskClient, index: int) -> tuple[str, str]:
    space = SPACE_OF[index]
    names = get(client, f"{prefix(space)}/api/workflows")["results"]
    ids = [w["id"] for w in names if not w["id"].startswith("workflow-a1b2c3d4")]
    position = [i for i, s in enumerate(SPACE_OF) if s == space].index(index)
    return ids[position], space


def all_pages(client: FlaskClient, path: str, size: int) -> tuple[list[Any], int]:
    items: list[Any] = []
    page, total = 1, None
    joiner = "&" if "?" in path else "?"
    while True:
        body = get(client, f"{path}{joiner}page={page}&size={size}")
        total = body["total"] if total is None else total
        assert body["total"] == total, "total changed between pages"
        if not body["results"]:
            break
        items += body["results"]
        page += 1
    return items, total


seeds = st.integers(min_value=0, max_value=2**32)
settings_ = settings(
    max_examples=50, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


BARE_STEP = {
    "id", "stepId", "stepType", "scopeStack", "status", "globalExecutionIndex",
    "stepExecutionIndex", "workflowRunId", "workflowId", "spaceId",
}  # fmt: skip
"""The keys of a step document a cancel created for a node that never started."""


def recovered(run: dict[str, Any]) -> bool:
    return isinstance(run.get("error"), dict) and run["error"]["type"] == "TaskRecoveryError"


def check_step(step: dict[str, Any], run: dict[str, Any]) -> None:
    assert step["workflowRunId"] == run["id"]
    assert step["workflowId"] == run["workflowId"]
    assert step["spaceId"] == run["spaceId"]
    if "startedAt" not in step:
        assert step["status"] == run["status"] == "cancelled"
        assert set(step) == BARE_STEP
        return
    assert step["isTestRun"] == run["isTestRun"]
    assert ms(step["startedAt"]) >= ms(run["startedAt"])
    if step["status"] == "cancelled":
        assert "finishedAt" not in step
    if "finishedAt" in step and step["finishedAt"] is not None:
        assert ms(step["finishedAt"]) >= ms(step["startedAt"])
        if recovered(run) and step["status"] == "failed":
            assert "executionTimeMs" not in step
            assert ms(step["finishedAt"]) > ms(run["finishedAt"])  # stamped after the run
            return
        assert step["executionTimeMs"] == ms(step["finishedAt"]) - ms(step["startedAt"])
        if run.get("finishedAt"):
            assert ms(step["finishedAt"]) <= ms(run["finishedAt"])
    else:
        assert step["status"] not in {"completed", "failed", "timed_out", "skipped"}
        assert "executionTimeMs" not in step


@settings_
@given(seed=seeds, workflow=st.integers(0, WORKFLOWS - 1), run=st.integers(0, RUNS - 1))
def test_run_invariants(state_dir: Path, seed: int, workflow: int, run: int) -> None:
    client = client_for(seed, state_dir)
    wid, space = workflow_id(client, workflow)
    base = prefix(space)
    items = get(client, f"{base}/api/workflows/workflow/{wid}/executions?size=100")["results"]
    listed = items[run]
    path = f"{base}/api/workflows/executions/{listed['id']}"
    detail = get(client, f"{path}?includeInput=true&includeOutput=true")
    # 3. ids echoed; list item == detail on shared keys
    assert detail["id"] == listed["id"]
    assert detail["workflowId"] == wid
    assert detail["spaceId"] == space
    for key, value in listed.items():
        assert detail.get(key) == value, key
    # 1. times
    if "startedAt" not in detail:
        assert detail["status"] in {"pending", "queued", "skipped", "cancelled"}
        assert "finishedAt" not in detail
        assert "duration" not in detail
        assert detail["stepExecutions"] == []
    elif recovered(detail):
        assert detail["status"] == "failed"
        assert "duration" not in detail
        assert ms(detail["finishedAt"]) >= ms(detail["startedAt"])
    elif detail.get("finishedAt"):
        assert detail["duration"] == ms(detail["finishedAt"]) - ms(detail["startedAt"]) >= 0
    else:
        assert detail["duration"] is None
        assert detail["status"] not in {"completed", "failed", "timed_out"}
    steps = detail["stepExecutions"]
    statuses = Counter(s["status"] for s in steps)
    # 4. indexes
    assert [s["globalExecutionIndex"] for s in steps] == list(range(len(steps)))
    starts = [ms(s["startedAt"]) for s in steps if "startedAt" in s]
    assert starts == sorted(starts)
    seen: Counter[str] = Counter()
    for step in steps:
        assert step["stepExecutionIndex"] == seen[step["stepId"]]
        seen[step["stepId"]] += 1
        check_step(step, detail)
    # 5. status vs steps
    status = detail["status"]
    if status in {"failed", "timed_out"}:
        assert statuses[status] >= 1
        assert detail["error"] is not None
    elif status in {"running", "waiting", "waiting_for_input", "waiting_for_child"}:
        assert statuses[status] == 1
        assert "finishedAt" not in detail
    elif status == "completed":
        assert set(statuses) <= {"completed", "skipped"}
        assert detail["error"] is None
    elif status == "cancelled":
        assert statuses["cancelled"] == 1 or not steps
        assert detail.get("finishedAt", detail["cancelledAt"]) == detail["cancelledAt"]
    else:
        assert status in {"pending", "queued", "skipped"}
        assert steps == []
    # 2. a step alone == in the execution == in the steps list (minus input/output)
    listed_steps, total = all_pages(client, f"{path}/steps", 3)
    assert total == len(steps) == len(listed_steps)
    for step, in_list in zip(steps, listed_steps, strict=True):
        alone = get(client, f"{path}/step/{step['id']}")
        assert alone == step
        assert in_list == {k: v for k, v in step.items() if k not in ("input", "output")}
    # 7. spaces isolated
    for other in ("default", "security", "observability"):
        code = client.get(f"{prefix(other)}/api/workflows/executions/{listed['id']}", headers=AUTH)
        assert code.status_code == (200 if other == space else 404)


@settings_
@given(seed=seeds, workflow=st.integers(0, WORKFLOWS - 1), size=st.integers(1, 7))
def test_execution_lists_page_and_filter_exactly(
    state_dir: Path, seed: int, workflow: int, size: int
) -> None:
    client = client_for(seed, state_dir)
    wid, space = workflow_id(client, workflow)
    path = f"{prefix(space)}/api/workflows/workflow/{wid}/executions"
    everything = get(client, f"{path}?size=100")
    assert everything["total"] == RUNS == len(everything["results"])
    paged, total = all_pages(client, path, size)
    assert total == RUNS
    assert [r["id"] for r in paged] == [r["id"] for r in everything["results"]]
    assert len({r["id"] for r in paged}) == RUNS
    starts = [ms(r["startedAt"]) for r in paged if "startedAt" in r]
    assert starts == sorted(starts, reverse=True)
    assert len(set(starts)) == len(starts)
    by_status = Counter(r["status"] for r in paged)
    for status, count in by_status.items():
        filtered, filtered_total = all_pages(client, f"{path}?statuses={status}", size)
        assert filtered_total == count == len(filtered)
        assert {r["status"] for r in filtered} == {status}
    pair = sorted(by_status)[:2]
    both = get(client, f"{path}?size=100&" + "&".join(f"statuses={s}" for s in pair))
    assert both["total"] == sum(by_status[s] for s in pair)
    tests = get(client, f"{path}?size=100&executionTypes=test")
    assert tests["total"] == sum(1 for r in paged if r["isTestRun"])
    user = paged[0]["executedBy"]
    mine = get(client, f"{path}?size=100&executedBy={user}")
    assert mine["total"] == sum(1 for r in paged if r["executedBy"] == user)


@settings_
@given(seed=seeds, workflow=st.integers(0, WORKFLOWS - 1), size=st.integers(5, 40))
def test_workflow_step_lists_cover_every_step_newest_first(
    state_dir: Path, seed: int, workflow: int, size: int
) -> None:
    client = client_for(seed, state_dir)
    wid, space = workflow_id(client, workflow)
    base = prefix(space)
    runs = get(client, f"{base}/api/workflows/workflow/{wid}/executions?size=100")["results"]
    expected: dict[str, Any] = {}
    for run in runs:
        for step in get(client, f"{base}/api/workflows/executions/{run['id']}")["stepExecutions"]:
            expected[step["id"]] = step
    unpaged = get(client, f"{base}/api/workflows/workflow/{wid}/executions/steps")
    assert set(unpaged) == {"results", "total"}
    assert unpaged["total"] == len(unpaged["results"]) == len(expected)
    paged, total = all_pages(client, f"{base}/api/workflows/workflow/{wid}/executions/steps", size)
    assert total == len(expected)
    assert [s["id"] for s in paged] == [s["id"] for s in unpaged["results"]]
    assert {s["id"]: s for s in paged} == expected
    starts = [ms(s["startedAt"]) for s in paged if "startedAt" in s]
    assert starts == sorted(starts, reverse=True)
    if paged:
        step_id = paged[0]["stepId"]
        only = get(client, f"{base}/api/workflows/workflow/{wid}/executions/steps?stepId={step_id}")
        assert only["total"] == sum(1 for s in paged if s["stepId"] == step_id)
