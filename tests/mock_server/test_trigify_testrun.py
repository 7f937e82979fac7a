"""Trigify test runs, API-key forms and the 429 answer, over HTTP (in-process).

``POST /v1/workflows/{id}/test`` (WF-TEST) returns a ``test_run_id`` at once; the run then
progresses with the clock on Get Execution Detail and is listed first by List Workflow
Executions. Enabled ``test_config.action_mocks`` replace an action's output; a malformed body is
a 400 ``VALIDATION_ERROR``. The key is accepted as ``x-api-key`` or ``Authorization: Bearer``, and
every 429 (enforced or asked for with ``Prefer``) says how long to wait.
"""

from __future__ import annotations

from typing import Any

import pytest
from flask.testing import FlaskClient

from conformance._validation import validator
from mock_server.trigify import DOCUMENTED_WORKFLOW_ID
from tests.conftest import AppFactory, TestClock

KEY = {"x-api-key": "test-key"}


def valid(schema: str, body: Any) -> bool:
    return validator(f"urn:stepspec:trigify:{schema}").violations(body) == []


def start(client: FlaskClient, workflow_id: str, body: Any = None) -> str:
    response = client.post(f"/v1/workflows/{workflow_id}/test", headers=KEY, json=body)
    assert response.status_code == 200, response.get_data(as_text=True)
    assert valid("test-response", response.get_json())
    run_id: str = response.get_json()["data"]["test_run_id"]
    return run_id


def detail(client: FlaskClient, workflow_id: str, run_id: str) -> dict[str, Any]:
    response = client.get(f"/v1/workflows/{workflow_id}/executions/{run_id}", headers=KEY)
    assert response.status_code == 200, response.get_data(as_text=True)
    assert valid("execution-response", response.get_json())
    data: dict[str, Any] = response.get_json()["data"]
    return data


def workflows(client: FlaskClient) -> list[dict[str, Any]]:
    body = client.get("/v1/workflows?limit=100", headers=KEY).get_json()
    items: list[dict[str, Any]] = body["data"]["items"]
    return items


def test_a_test_run_starts_progresses_and_is_listed_first(
    app_factory: AppFactory, clock: TestClock
) -> None:
    client = app_factory().test_client()
    mocks = {"slack-1": {"enabled": True, "output": {"ok": True, "stubbed": "yes"}}}
    run_id = start(client, DOCUMENTED_WORKFLOW_ID, {"test_config": {"action_mocks": mocks}})
    first = detail(client, DOCUMENTED_WORKFLOW_ID, run_id)
    assert first["run_id"] == run_id
    assert first["status"] == "running"
    assert first["ended_at"] is None
    assert first["duration_ms"] is None
    listed = client.get(f"/v1/workflows/{DOCUMENTED_WORKFLOW_ID}/executions", headers=KEY)
    assert listed.get_json()["data"]["executions"][0]["run_id"] == run_id
    assert listed.get_json()["data"]["pagination"]["total_count"] == 2
    seen = {first["status"]}
    for _ in range(60):
        clock.advance(1)
        now = detail(client, DOCUMENTED_WORKFLOW_ID, run_id)
        seen.add(now["status"])
        if now["status"] != "running":
            break
    assert now["status"] == "completed"
    assert seen == {"running", "completed"}
    assert now["duration_ms"] is not None
    slack = next(step for step in now["steps"] if step["step_id"] == "slack-1")
    assert slack["output"] == {"ok": True, "stubbed": "yes"}  # the mock replaced the action


def test_test_runs_of_every_kind_of_workflow_validate(
    app_factory: AppFactory, clock: TestClock
) -> None:
    client = app_factory().test_client()
    started = {}
    for item in workflows(client):
        kind = item["workflow"].get("trigger", {}).get("kind")
        if kind not in started:
            started[kind] = (item["id"], start(client, item["id"], {}))
    assert {"workflows/signal-created", "workflows/multi-post-trigger"} <= set(started)
    for _ in range(3):
        for workflow_id, run_id in started.values():
            data = detail(client, workflow_id, run_id)
            assert data["event_name"] == next(
                k for k, (w, _) in started.items() if w == workflow_id
            )
        clock.advance(20)
    loop_workflow, loop_run = started["workflows/multi-post-trigger"]
    steps = detail(client, loop_workflow, loop_run)["steps"]
    iterations = [s for s in steps if "iteration" in s]
    assert len(iterations) >= 2
    assert {s["step_id"] for s in iterations} == {"enrich-1"}


def test_overrides_are_the_trigger_payload(app_factory: AppFactory, clock: TestClock) -> None:
    client = app_factory().test_client()
    overrides = {"text": "Excited to announce our Series B!", "author_url": "https://x.test/a"}
    run_id = start(client, DOCUMENTED_WORKFLOW_ID, {"overrides": overrides})
    clock.advance(60)
    agent = detail(client, DOCUMENTED_WORKFLOW_ID, run_id)["steps"][0]
    assert agent["input"]["prompt"] == "Summarise this post: Excited to announce our Series B!"


@pytest.mark.parametrize(
    "body",
    [
        b"[1]",
        b"not json",
        b" \n",
        b'{"overrides": "text"}',
        b'{"test_config": []}',
        b'{"test_config": {"action_mocks": ["slack-1"]}}',
        b'{"test_config": {"action_mocks": {"slack-1": {"enabled": "yes"}}}}',
        b'{"test_config": {"strict_data_validation": "true"}}',
        b'{"overrides": {"a": "\\ud800"}}',
        b'{"overrides": null}',
        b'{"test_config": {"mode": null}}',
        b'{"test_config": {"action_mocks": {"slack-1": {"enabled": null}}}}',
    ],
)
def test_a_malformed_body_is_a_validation_error(app_factory: AppFactory, body: bytes) -> None:
    client = app_factory().test_client()
    response = client.post(
        f"/v1/workflows/{DOCUMENTED_WORKFLOW_ID}/test",
        headers={**KEY, "Content-Type": "application/json"},
        data=body,
    )
    assert response.status_code == 400
    assert response.get_json()["error"]["code"] == "VALIDATION_ERROR"
    assert valid("error", response.get_json())


def test_an_empty_body_and_an_unknown_workflow(app_factory: AppFactory) -> None:
    client = app_factory().test_client()
    empty = client.post(f"/v1/workflows/{DOCUMENTED_WORKFLOW_ID}/test", headers=KEY)
    assert empty.status_code == 200
    unknown = client.post("/v1/workflows/wf_nope/test", headers=KEY, json={})
    assert unknown.status_code == 404
    assert client.post("/v1/workflows/wf_abc123/test", json={}).status_code == 401


def test_a_test_run_belongs_to_its_workflow(app_factory: AppFactory) -> None:
    client = app_factory().test_client()
    run_id = start(client, DOCUMENTED_WORKFLOW_ID)
    other = workflows(client)[1]["id"]
    response = client.get(f"/v1/workflows/{other}/executions/{run_id}", headers=KEY)
    assert response.status_code == 404


def test_the_key_is_accepted_as_a_bearer_token(app_factory: AppFactory) -> None:
    client = app_factory(api_keys=("trig_good",)).test_client()
    assert (
        client.get("/v1/workflows", headers={"Authorization": "Bearer trig_good"}).status_code
        == 200
    )
    assert (
        client.get("/v1/workflows", headers={"Authorization": "bearer trig_good"}).status_code
        == 200
    )
    for bad in ("Bearer trig_bad", "Basic trig_good", "Bearer", ""):
        response = client.get("/v1/workflows", headers={"Authorization": bad})
        assert response.status_code == 401, bad
    # Both counted against the same key's window.
    a = client.get("/v1/workflows", headers={"x-api-key": "trig_good"}).headers
    b = client.get("/v1/workflows", headers={"Authorization": "Bearer trig_good"}).headers
    assert int(b["RateLimit-Remaining"]) == int(a["RateLimit-Remaining"]) - 1


def test_an_asked_for_429_says_how_long_to_wait(app_factory: AppFactory) -> None:
    client = app_factory().test_client()
    response = client.get("/v1/workflows", headers={**KEY, "Prefer": "code=429"})
    assert response.status_code == 429
    assert response.headers["RateLimit-Remaining"] == "0"
    wait = response.headers["Retry-After"]
    assert wait == response.headers["RateLimit-Reset"]
    body = response.get_json()
    assert body["error"]["retryAfterSeconds"] == int(wait)
    assert valid("error", body)


def test_a_failing_scenario_times_out_the_first_real_action(
    app_factory: AppFactory, clock: TestClock
) -> None:
    client = app_factory().test_client()
    mocks = {"agent-1": {"enabled": True, "output": {"result": {"output": "stub"}}}}
    response = client.post(
        f"/v1/workflows/{DOCUMENTED_WORKFLOW_ID}/test",
        headers={**KEY, "X-Stepspec-Scenario": "flaky-http"},
        json={"test_config": {"action_mocks": mocks}},
    )
    assert response.status_code == 200
    run_id = response.get_json()["data"]["test_run_id"]
    clock.advance(600)
    data = detail(client, DOCUMENTED_WORKFLOW_ID, run_id)
    assert data["status"] == "failed"
    assert data["ended_at"] is not None
    agent, slack = data["steps"]
    assert agent["status"] == "completed"  # mocked: it cannot fail
    assert slack["status"] == "failed"
    assert slack["ended_at"] is None
    assert slack["duration_ms"] is None
    assert slack["error"] in (
        "Action timed out",
        {"code": "TIMEOUT", "message": "Action timed out", "retryable": True},
    )
    unknown = client.post(
        f"/v1/workflows/{DOCUMENTED_WORKFLOW_ID}/test",
        headers={**KEY, "X-Stepspec-Scenario": "no-such-scenario"},
        json={},
    )
    assert unknown.status_code == 400


def test_auto_runs_start_triggered_runs_of_enabled_workflows(
    app_factory: AppFactory, clock: TestClock
) -> None:
    clock.now_us = 1_800_000_000_000_000
    client = app_factory(auto_runs=4).test_client()
    live: list[dict[str, Any]] = []
    for _ in range(5):
        clock.advance(60)
        for item in workflows(client):
            path = f"/v1/workflows/{item['id']}/executions?page_size=100"
            for run in client.get(path, headers=KEY).get_json()["data"]["executions"]:
                if run["started_at"] > "2026-12":
                    live.append({**run, "workflow": item})
    assert live
    assert all(run["workflow"]["enabled"] for run in live)
    assert {run["status"] for run in live} <= {"running", "completed", "failed"}
