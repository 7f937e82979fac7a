"""Scenarios: shipped files load and check; callers pick one by header or input field; each ends
as it says, for Kibana and Arcee, with bodies that validate against the schemas."""

from __future__ import annotations

from typing import Any

import pytest
from flask.testing import FlaskClient

from conformance._validation import validator
from mock_server.live import SCENARIO_HEADER, ScenarioError, scenarios
from mock_server.live._scenarios import parse_scenario
from tests.conftest import AppFactory, TestClock

KIBANA_AUTH = {"Authorization": "ApiKey dGVzdDprZXk=", "kbn-xsrf": "true"}
ARCEE_AUTH = {"Authorization": "Bearer test-key"}
NAMES = ["approval", "approval-timeout", "flaky-http", "foreach-fanout", "llm-then-slack"]
MINIMAL = """
name: demo
description: A demo.
outcome: completed
workflow:
  name: Demo
  steps:
    - {name: hello, type: console}
"""


def valid(schema: str, body: Any) -> Any:
    problems = validator(f"urn:stepspec:{schema}").violations(body)
    assert not problems, [str(p) for p in problems]
    return body


@pytest.fixture
def client(app_factory: AppFactory) -> FlaskClient:
    return app_factory(validate_responses=True).test_client()


def kibana_workflow(client: FlaskClient) -> str:
    return str(client.get("/api/workflows", headers=KIBANA_AUTH).get_json()["results"][0]["id"])


def start_kibana(client: FlaskClient, headers: dict[str, str], inputs: dict[str, Any]) -> str:
    started = client.post(
        f"/api/workflows/workflow/{kibana_workflow(client)}/run",
        headers={**KIBANA_AUTH, **headers},
        json={"inputs": inputs},
    )
    assert started.status_code == 200, started.get_json()
    return str(started.get_json()["workflowExecutionId"])


def settle(client: FlaskClient, clock: TestClock, execution_id: str) -> dict[str, Any]:
    """Poll (moving the clock) until the run stops moving; returns the last detail."""
    for _ in range(200):
        detail = client.get(
            f"/api/workflows/executions/{execution_id}?includeOutput=true", headers=KIBANA_AUTH
        ).get_json()
        valid("kibana:execution", detail)
        if detail["status"] not in ("running", "pending"):
            return dict(detail)
        clock.advance(1)
    raise AssertionError(f"{execution_id} never settled")


def test_every_shipped_scenario_loads() -> None:
    assert sorted(scenarios()) == NAMES


@pytest.mark.parametrize(
    ("change", "problem"),
    [
        (("name: demo", "name: other"), "'name' must be 'demo'"),
        (("outcome: completed", "outcome: maybe"), "'outcome' 'maybe' is not one of"),
        (("type: console", "type: teleport"), "workflow.steps[0].type 'teleport' is not one of"),
        (("outcome: completed", "outcome: failed"), "'fail_step' is required"),
        (("outcome: completed", "outcome: waiting"), "needs a waitForInput step"),
        (("description: A demo.", "description: A demo.\ndurations: {nope: 1s}"), "unknown steps"),
        (("description: A demo.", "description: A demo.\ndurations: {hello: soon}"), "duration"),
    ],
)
def test_a_bad_scenario_file_is_rejected_with_its_reason(
    change: tuple[str, str], problem: str
) -> None:
    parse_scenario("demo", MINIMAL)  # the unchanged file is fine
    with pytest.raises(ScenarioError) as caught:
        parse_scenario("demo", MINIMAL.replace(*change))
    assert str(caught.value).startswith("scenario demo.yaml: ")
    assert problem in str(caught.value)


@pytest.mark.parametrize(
    ("headers", "inputs"),
    [({SCENARIO_HEADER: "flaky-http"}, {}), ({}, {"stepspec_scenario": "flaky-http"})],
    ids=["header", "input-field"],
)
def test_kibana_flaky_http_fails_the_run_with_the_step_error(
    client: FlaskClient, clock: TestClock, headers: dict[str, str], inputs: dict[str, Any]
) -> None:
    detail = settle(client, clock, start_kibana(client, headers, inputs))
    assert detail["status"] == "failed"
    steps = {step["stepId"]: step for step in detail["stepExecutions"]}
    assert list(steps) == ["log_start", "call_flaky_api"]  # the step after it never started
    assert steps["call_flaky_api"]["status"] == "failed"
    assert detail["error"] == steps["call_flaky_api"]["error"]
    assert detail["error"]["details"]["stepType"] == "http"
    assert "stepspec_scenario" not in detail["context"].get("inputs", {})


def test_kibana_fanout_and_llm_scenarios_complete_as_defined(
    client: FlaskClient, clock: TestClock
) -> None:
    fanout = settle(client, clock, start_kibana(client, {SCENARIO_HEADER: "foreach-fanout"}, {}))
    assert fanout["status"] == "completed"
    lookups = [s for s in fanout["stepExecutions"] if s["stepId"] == "lookup_user"]
    assert len(lookups) == 5
    llm = settle(client, clock, start_kibana(client, {SCENARIO_HEADER: "llm-then-slack"}, {}))
    assert [s["stepId"] for s in llm["stepExecutions"]] == [
        "error_rates",
        "summarize",
        "post_digest",
    ]
    assert llm["workflowDefinition"]["name"] == "Scenario - LLM digest to Slack"


def test_kibana_approval_timeout_is_answered_by_the_system(
    client: FlaskClient, clock: TestClock
) -> None:
    execution_id = start_kibana(client, {SCENARIO_HEADER: "approval-timeout"}, {})
    clock.advance(5)
    detail = client.get(f"/api/workflows/executions/{execution_id}", headers=KIBANA_AUTH)
    assert detail.get_json()["status"] == "waiting_for_input"
    clock.advance(40)
    done = settle(client, clock, execution_id)
    assert done["status"] == "completed"
    wait = next(s for s in done["stepExecutions"] if s["stepId"] == "acknowledge")
    assert (wait["hitl"]["channel"], wait["hitl"]["respondedBy"]) == ("timeout", "system")
    escalated = next(s for s in done["stepExecutions"] if s["stepId"] == "escalate_to_manager")
    assert escalated["status"] == "completed"


def test_kibana_unknown_scenario_is_a_boom_400_listing_the_known_ones(
    client: FlaskClient,
) -> None:
    answer = client.post(
        f"/api/workflows/workflow/{kibana_workflow(client)}/run",
        headers={**KIBANA_AUTH, SCENARIO_HEADER: "nope"},
        json={"inputs": {}},
    )
    assert answer.status_code == 400
    assert answer.get_json() == {
        "statusCode": 400,
        "error": "Bad Request",
        "message": "Unknown scenario 'nope'; known scenarios: " + ", ".join(NAMES),
    }


def arcee_workflow(client: FlaskClient, index: int = 1) -> str:
    workflows = client.get("/api/v1/workflow/workflows", headers=ARCEE_AUTH).get_json()
    return str(workflows[index]["workflow_id"])


@pytest.mark.parametrize(
    ("headers", "body"),
    [({SCENARIO_HEADER: "flaky-http"}, {}), ({}, {"stepspec_scenario": "flaky-http"})],
    ids=["header", "input-field"],
)
def test_arcee_flaky_http_fails_at_an_integration_node(
    client: FlaskClient, clock: TestClock, headers: dict[str, str], body: dict[str, Any]
) -> None:
    workflow = arcee_workflow(client)
    started = client.post(
        f"/api/v1/workflow/workflows/{workflow}/execute",
        headers={**ARCEE_AUTH, **headers},
        json=body,
    )
    assert started.status_code == 200
    run_id = started.get_json()["run_id"]
    base = f"/api/v1/workflow/workflows/{workflow}/runs/{run_id}"
    for _ in range(600):
        run = valid("arcee:run-detail", client.get(base, headers=ARCEE_AUTH).get_json())[0]
        if run["status"] != "running":
            break
        clock.advance(1)
    assert run["status"] == "failed"
    steps = valid("arcee:step-list", client.get(f"{base}/steps", headers=ARCEE_AUTH).get_json())
    assert steps[-1]["status"] == "failed"
    assert all(step["status"] == "completed" for step in steps[:-1])
    assert "stepspec_scenario" not in run.get("inputs", {})


def test_arcee_unknown_scenario_is_a_fastapi_400(client: FlaskClient) -> None:
    answer = client.post(
        f"/api/v1/workflow/workflows/{arcee_workflow(client)}/execute",
        headers={**ARCEE_AUTH, SCENARIO_HEADER: "nope"},
        json={},
    )
    assert answer.status_code == 400
    assert answer.get_json() == {
        "detail": "Unknown scenario 'nope'; known scenarios: " + ", ".join(NAMES)
    }


def test_an_arcee_scenario_keeps_the_workflows_own_graph(
    client: FlaskClient, clock: TestClock
) -> None:
    """Walkthrough row 20, as the README now says: on Arcee a scenario decides the outcome only;
    the steps are nodes of the workflow's graph, not the scenario's Kibana steps."""
    workflows = client.get("/api/v1/workflow/workflows", headers=ARCEE_AUTH).get_json()
    workflow = workflows[1]
    base = f"/api/v1/workflow/workflows/{workflow['workflow_id']}"
    started = client.post(
        f"{base}/execute", headers={**ARCEE_AUTH, SCENARIO_HEADER: "llm-then-slack"}, json={}
    )
    assert started.status_code == 200
    run_url = f"{base}/runs/{started.get_json()['run_id']}"
    for _ in range(600):
        run = client.get(run_url, headers=ARCEE_AUTH).get_json()[0]
        if run["status"] != "running":
            break
        clock.advance(1)
    assert run["status"] == "completed"
    steps = valid("arcee:step-list", client.get(f"{run_url}/steps", headers=ARCEE_AUTH).get_json())
    nodes = {step["node_id"] for step in steps}
    assert nodes
    assert nodes <= set(workflow["graph"]["nodes"])
    assert not nodes & {"error_rates", "summarize", "post_digest"}
