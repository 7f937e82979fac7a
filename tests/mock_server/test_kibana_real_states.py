"""The Kibana mock serves the states the real server does, seeded and live, and all validate.

Kibana's code (not only its docs' examples) settles these shapes:

- a run is stored ``pending`` without ``startedAt`` until Task Manager picks it up
  (``build_workflow_execution_document.ts``); ``queued`` runs have none either;
- a run cancelled while pending goes straight to ``cancelled`` with no ``startedAt``,
  ``finishedAt`` or ``duration`` (``cancel_workflow.ts``);
- a skipped scheduled run has ``executedBy: ""`` (``checkAndSkipIfExistingScheduledExecution``);
- task recovery fails a run with ``finishedAt`` and no ``duration``, and stamps its unfinished
  step later (``task_recovery.ts``);
- a cancelled step keeps ``startedAt`` and never gets ``finishedAt``; a cancel between two steps
  gives the next node a document with only status, ids and indices
  (``cancel_workflow_if_requested.ts``).
"""

from __future__ import annotations

from typing import Any

from flask.testing import FlaskClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conformance._validation import validator
from mock_server._context import WORLD_NOW_US
from mock_server._timeline import observe
from mock_server._vocab import vocabulary
from mock_server.kibana._runs import RunView
from mock_server.kibana._world import KibanaWorld
from tests.conftest import AppFactory, TestClock

AUTH = {"Authorization": "ApiKey dGVzdDprZXk="}
WRITE = {**AUTH, "kbn-xsrf": "true"}
BARE_STEP = {
    "id", "stepId", "stepType", "scopeStack", "status", "globalExecutionIndex",
    "stepExecutionIndex", "workflowRunId", "workflowId", "spaceId",
}  # fmt: skip


def valid(schema: str, payload: Any) -> Any:
    assert validator(f"urn:stepspec:kibana:{schema}").violations(payload) == [], payload
    return payload


def states(detail: dict[str, Any], item: dict[str, Any]) -> set[str]:
    """The real-server shapes one execution shows (names used by the tests below)."""
    found: set[str] = set()
    status = detail["status"]
    if "startedAt" not in detail:
        assert "startedAt" not in item
        assert "finishedAt" not in detail
        assert "duration" not in detail
        found.add(f"{status} without startedAt")
    if status == "skipped" and detail["executedBy"] == "":
        found.add("skipped by the scheduler")
    if (detail.get("error") or {}).get("type") == "TaskRecoveryError":
        assert "duration" not in detail
        assert detail["finishedAt"]
        found.add("failed by task recovery")
    for step in detail["stepExecutions"]:
        if step["status"] != "cancelled":
            continue
        assert "finishedAt" not in step
        if "startedAt" in step:
            found.add("cancelled step that had started")
        else:
            assert set(step) == BARE_STEP
            found.add("step cancelled before it started")
    return found


SEEDED = {
    "pending without startedAt",
    "queued without startedAt",
    "cancelled without startedAt",
    "skipped without startedAt",
    "skipped by the scheduler",
    "failed by task recovery",
    "cancelled step that had started",
    "step cancelled before it started",
}


@settings(max_examples=5, deadline=None)
@given(seed=st.integers(0, 2**32))
def test_every_seeded_world_holds_the_real_states_and_they_validate(seed: int) -> None:
    world = KibanaWorld(seed, 12, 100, WORLD_NOW_US, vocabulary())
    found: set[str] = set()
    for workflow in range(12):
        for run in range(100):
            plan, events = world.plan(workflow, run)
            timeline = observe(plan, WORLD_NOW_US, events)
            view = RunView(
                execution_id=plan.run_id,
                space_id=plan.space_id,
                workflow_id=plan.workflow_id,
                status=timeline.status,
                started_us=plan.started_us,
                cacheable=True,
                timeline=timeline,
                definition={"name": plan.workflow_name},
                yaml="",
            )
            detail = view.detail(include_input=True, include_output=True)
            shown = states(detail, view.list_item())
            if shown - found:  # validate every shape at least once (all of them is slow)
                valid("execution", detail)
                valid("execution-list-item", view.list_item())
                for step in detail["stepExecutions"]:
                    valid("step-execution", step)
            found |= shown
    assert found >= SEEDED, SEEDED - found


def start(client: FlaskClient, name: str = "Enrich suspicious users") -> str:
    workflows = client.get("/api/workflows", headers=AUTH).get_json()["results"]
    workflow_id = next(w["id"] for w in workflows if w["name"] == name)
    answer = client.post(
        f"/api/workflows/workflow/{workflow_id}/run", headers=WRITE, json={"inputs": {}}
    )
    assert answer.status_code == 200
    return str(answer.get_json()["workflowExecutionId"])


def read(client: FlaskClient, execution_id: str) -> dict[str, Any]:
    path = f"/api/workflows/executions/{execution_id}?includeInput=true&includeOutput=true"
    detail = valid("execution", client.get(path, headers=AUTH).get_json())
    listed = client.get(f"/api/workflows/executions/{execution_id}/steps", headers=AUTH)
    for step in valid("step-execution-list", listed.get_json())["results"]:
        path = f"/api/workflows/executions/{execution_id}/step/{step['id']}"
        alone = client.get(path, headers=AUTH)
        assert alone.status_code == 200
        valid("step-execution", alone.get_json())
    return dict(detail)


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(cancel_after_ms=st.integers(0, 4000))
def test_a_live_run_cancelled_at_any_moment_shows_a_real_state(
    app_factory: AppFactory, clock: TestClock, cancel_after_ms: int
) -> None:
    client = app_factory().test_client()
    execution_id = start(client)
    first = read(client, execution_id)
    assert first["status"] == "pending"
    assert "startedAt" not in first
    clock.advance(cancel_after_ms / 1000)
    before = read(client, execution_id)
    answer = client.post(f"/api/workflows/executions/{execution_id}/cancel", headers=WRITE)
    assert answer.status_code == 200
    clock.advance(600)
    detail = read(client, execution_id)
    assert detail["status"] == "cancelled"
    shown = states(detail, detail)
    if before["status"] == "pending":
        assert shown == {"cancelled without startedAt"}
        assert detail["stepExecutions"] == []
    else:
        assert "startedAt" in detail
        assert detail["finishedAt"] == detail["cancelledAt"]
        assert shown & {"cancelled step that had started", "step cancelled before it started"}


def test_a_cancel_between_two_live_steps_leaves_the_next_one_bare(
    app_factory: AppFactory, clock: TestClock
) -> None:
    client = app_factory().test_client()
    execution_id = start(client, "Hello webhook")
    path = f"/api/workflows/executions/{execution_id}"
    while not client.get(path, headers=AUTH).get_json()["stepExecutions"]:
        clock.advance(0.05)  # coarse, until the first step has begun ...
    clock.advance(-0.05)  # ... then back (reads never change a run) and 1 ms at a time
    for _ in range(2000):  # until the first step has finished and the second not yet begun
        steps = client.get(path, headers=AUTH).get_json()["stepExecutions"]
        if steps and steps[0].get("finishedAt") and len(steps) == 1:
            break
        clock.advance(0.001)
    else:
        raise AssertionError("never saw the gap between the two steps")
    client.post(f"/api/workflows/executions/{execution_id}/cancel", headers=WRITE)
    clock.advance(600)
    detail = read(client, execution_id)
    assert [s["status"] for s in detail["stepExecutions"]] == ["completed", "cancelled"]
    assert states(detail, detail) == {"step cancelled before it started"}
