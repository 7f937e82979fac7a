"""The Kibana endpoints over HTTP (in-process): schemas, documented examples, protocol, writes.

Every operation answers with a body that validates strictly, for several seeds and in every
space; the documented example ids return the documented payloads; auth, ``kbn-xsrf``,
``elastic-api-version``, 404/400/405 and the POST routes (run, test, resume, cancel) behave as
Kibana documents.
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Iterator
from importlib import resources
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from conformance._validation import validator
from mock_server.kibana import DOCUMENTED_EXECUTION_ID, DOCUMENTED_WORKFLOW_ID
from tests.conftest import AppFactory, TestClock

AUTH = {"Authorization": "ApiKey dGVzdDprZXk="}
WRITE = {**AUTH, "kbn-xsrf": "true"}
NOT_FOUND = {"statusCode": 404, "error": "Not Found", "message": "Not Found"}
SPACES = ("default", "security", "observability")
SEEDS = (0, 1, 7, 2**40 + 3)
SMALL = {"workflows_per_api": 10, "runs_per_workflow": 8}


def prefix(space: str) -> str:
    return "" if space == "default" else f"/s/{space}"


def ok(client: FlaskClient, path: str, schema: str) -> Any:
    """GET ``path``: 200, a body valid against ``schema`` (strict), the version header."""
    response = client.get(path, headers=AUTH)
    assert response.status_code == 200, (path, response.get_data(as_text=True))
    assert response.headers["elastic-api-version"] == "2023-10-31"
    body = response.get_json()
    problems = validator(f"urn:stepspec:kibana:{schema}").violations(body)
    assert not problems, (path, [str(p) for p in problems])
    return body


def walk(client: FlaskClient, space: str) -> Iterator[tuple[str, Any]]:
    """Every GET operation of one space, with its validated body."""
    base = prefix(space)
    workflows = ok(client, f"{base}/api/workflows", "workflow-list")["results"]
    yield "listWorkflows", workflows
    for workflow in workflows:
        wid = workflow["id"]
        runs = ok(client, f"{base}/api/workflows/workflow/{wid}/executions", "execution-list")
        yield "getWorkflowExecutions", runs
        steps = f"{base}/api/workflows/workflow/{wid}/executions/steps?size=20&includeInput=true"
        yield "getWorkflowStepExecutions", ok(client, steps, "workflow-step-execution-list")
        for run in runs["results"][:4]:
            path = f"{base}/api/workflows/executions/{run['id']}"
            detail = ok(client, f"{path}?includeInput=true&includeOutput=true", "execution")
            yield "getExecution", detail
            yield "getExecutionSteps", ok(client, f"{path}/steps", "step-execution-list")
            for step in detail["stepExecutions"][:3]:
                yield "getStepExecution", ok(client, f"{path}/step/{step['id']}", "step-execution")


@pytest.mark.parametrize("seed", SEEDS)
def test_every_get_operation_answers_valid_bodies(app_factory: AppFactory, seed: int) -> None:
    client = app_factory(seed=seed, **SMALL).test_client()
    seen = {operation for space in SPACES for operation, _ in walk(client, space)}
    assert seen == {
        "listWorkflows",
        "getWorkflowExecutions",
        "getWorkflowStepExecutions",
        "getExecution",
        "getExecutionSteps",
        "getStepExecution",
    }


def fixture(name: str) -> Any:
    folder = resources.files("conformance.fixtures") / "kibana" / "step-execution" / "valid"
    return json.loads((folder / name).read_text(encoding="utf-8"))


@pytest.mark.parametrize(
    ("step_id", "name"),
    [("step-exec-001", "seed-console-step.json"), ("step-exec-002", "seed-hitl-step.json")],
)
@pytest.mark.parametrize("base", ["", "/s/default"])
def test_documented_step_ids_return_the_documented_payloads(
    client: FlaskClient, step_id: str, name: str, base: str
) -> None:
    path = f"{base}/api/workflows/executions/{DOCUMENTED_EXECUTION_ID}/step/{step_id}"
    body = ok(client, path, "step-execution")
    expected = fixture(name)
    assert body == expected
    assert list(body) == list(expected)  # same key order: byte-equivalent JSON


def test_documented_execution_and_workflow_agree_with_the_steps(client: FlaskClient) -> None:
    detail = ok(client, f"/api/workflows/executions/{DOCUMENTED_EXECUTION_ID}", "execution")
    assert detail["workflowId"] == DOCUMENTED_WORKFLOW_ID
    assert [s["id"] for s in detail["stepExecutions"]] == ["step-exec-001", "step-exec-002"]
    assert detail["finishedAt"] == max(
        fixture(n)["finishedAt"] for n in ("seed-console-step.json", "seed-hitl-step.json")
    )
    steps = detail["stepExecutions"]
    assert all("input" not in s and "output" not in s for s in steps)
    runs = ok(
        client, f"/api/workflows/workflow/{DOCUMENTED_WORKFLOW_ID}/executions", "execution-list"
    )
    assert [r["id"] for r in runs["results"]] == [DOCUMENTED_EXECUTION_ID]
    listed = ok(client, "/api/workflows", "workflow-list")["results"]
    assert listed[0]["id"] == DOCUMENTED_WORKFLOW_ID


@pytest.mark.parametrize(
    "path",
    [
        "/api/workflows/executions/exec-00000000-0000-0000",
        "/api/workflows/executions/00000000-0000-4000-8000-000000000000",
        "/api/workflows/executions/not-an-id/steps",
        f"/api/workflows/executions/{DOCUMENTED_EXECUTION_ID}/step/step-exec-999",
        f"/api/workflows/executions/{DOCUMENTED_EXECUTION_ID}/step/{'0' * 64}",
        f"/s/security/api/workflows/executions/{DOCUMENTED_EXECUTION_ID}",
        f"/s/Not_A_Space/api/workflows/executions/{DOCUMENTED_EXECUTION_ID}",
    ],
)
def test_unknown_ids_are_plain_boom_404s(client: FlaskClient, path: str) -> None:
    response = client.get(path, headers=AUTH)
    assert response.status_code == 404
    assert response.get_json() == NOT_FOUND


@pytest.mark.parametrize(
    ("path", "empty"),
    [
        (
            "/api/workflows/workflow/workflow-00000000-0000-0000-0000-000000000000/executions",
            {"results": [], "page": 1, "size": 100, "total": 0},
        ),
        ("/api/workflows/workflow/nope/executions/steps", {"results": [], "total": 0}),
        (
            "/api/workflows/workflow/nope/executions/steps?size=5",
            {"results": [], "total": 0, "page": 1, "size": 5},
        ),
        (
            f"/s/security/api/workflows/workflow/{DOCUMENTED_WORKFLOW_ID}/executions",
            {"results": [], "page": 1, "size": 100, "total": 0},
        ),
    ],
)
def test_workflow_lists_of_an_unknown_workflow_are_empty(
    client: FlaskClient, path: str, empty: dict[str, Any]
) -> None:
    # Kibana searches by workflow id: nothing found is a 200 with an empty list, not a 404.
    response = client.get(path, headers=AUTH)
    assert response.status_code == 200
    assert response.get_json() == empty


def test_an_edited_step_execution_id_is_unknown(client: FlaskClient) -> None:
    workflow_id = first_workflow(client, "Hello webhook")
    runs = ok(client, f"/api/workflows/workflow/{workflow_id}/executions", "execution-list")
    run = next(r for r in runs["results"] if r["status"] == "completed")
    detail = ok(client, f"/api/workflows/executions/{run['id']}", "execution")
    step_id = detail["stepExecutions"][0]["id"]
    assert re.fullmatch(r"[0-9a-f]{64}", step_id)
    path = f"/api/workflows/executions/{run['id']}/step"
    assert client.get(f"{path}/{step_id}", headers=AUTH).status_code == 200
    edited = step_id[:-1] + ("0" if step_id[-1] != "0" else "1")
    assert client.get(f"{path}/{edited}", headers=AUTH).status_code == 404
    other = runs["results"][-1]["id"]  # a step id is only valid under its own execution
    assert (
        client.get(f"/api/workflows/executions/{other}/step/{step_id}", headers=AUTH).status_code
        == 404
    )


def test_spaces_see_only_their_own_runs(client: FlaskClient) -> None:
    for space in SPACES:
        workflows = ok(client, f"{prefix(space)}/api/workflows", "workflow-list")["results"]
        assert workflows, space
        for workflow in workflows:
            runs = client.get(
                f"{prefix(space)}/api/workflows/workflow/{workflow['id']}/executions?size=3",
                headers=AUTH,
            ).get_json()["results"]
            for run in runs:
                assert run["spaceId"] == space
                for other in SPACES:
                    path = f"{prefix(other)}/api/workflows/executions/{run['id']}"
                    expected = 200 if other == space else 404
                    assert client.get(path, headers=AUTH).status_code == expected


def test_default_space_prefix_equals_no_prefix(client: FlaskClient) -> None:
    for _, body in walk(client, "default"):
        del body
    paths = ["/api/workflows", f"/api/workflows/executions/{DOCUMENTED_EXECUTION_ID}"]
    for path in paths:
        assert (
            client.get(path, headers=AUTH).data
            == client.get("/s/default" + path, headers=AUTH).data
        )


# Protocol ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "header",
    [None, "", "ApiKey", "ApiKey   ", "Token abc", "Basic not-base64!", "Basic Zm9v", "Bearer a b"],
)
def test_missing_or_malformed_credentials_get_401(client: FlaskClient, header: str | None) -> None:
    headers = {} if header is None else {"Authorization": header}
    response = client.get("/api/workflows", headers=headers)
    assert response.status_code == 401
    assert response.get_json() == {
        "statusCode": 401,
        "error": "Unauthorized",
        "message": "Unauthorized",
    }
    assert "ApiKey" in response.headers["WWW-Authenticate"]


@pytest.mark.parametrize(
    "header", ["ApiKey dGVzdDprZXk=", "Bearer some.jwt.token", "Basic ZWxhc3RpYzpjaGFuZ2VtZQ=="]
)
def test_every_documented_scheme_is_accepted(client: FlaskClient, header: str) -> None:
    assert client.get("/api/workflows", headers={"Authorization": header}).status_code == 200


def test_api_keys_limit_the_accepted_credentials(app_factory: AppFactory) -> None:
    client = app_factory(api_keys=("good-key", "changeme")).test_client()
    assert (
        client.get("/api/workflows", headers={"Authorization": "ApiKey good-key"}).status_code
        == 200
    )
    assert (
        client.get("/api/workflows", headers={"Authorization": "Bearer good-key"}).status_code
        == 200
    )
    basic = {"Authorization": "Basic ZWxhc3RpYzpjaGFuZ2VtZQ=="}  # elastic:changeme
    assert client.get("/api/workflows", headers=basic).status_code == 200
    assert (
        client.get("/api/workflows", headers={"Authorization": "ApiKey other"}).status_code == 401
    )


def test_post_without_kbn_xsrf_is_rejected(client: FlaskClient) -> None:
    path = f"/api/workflows/workflow/{DOCUMENTED_WORKFLOW_ID}/run"
    response = client.post(path, headers=AUTH, json={"inputs": {}})
    assert response.status_code == 400
    assert response.get_json()["message"] == "Request must contain a kbn-xsrf header."


def test_api_version_is_echoed_and_unknown_versions_rejected(client: FlaskClient) -> None:
    path = f"/api/workflows/executions/{DOCUMENTED_EXECUTION_ID}/step/step-exec-001"
    good = client.get(path, headers={**AUTH, "elastic-api-version": "2023-10-31"})
    assert good.status_code == 200
    assert good.headers["elastic-api-version"] == "2023-10-31"
    bad = client.get(path, headers={**AUTH, "elastic-api-version": "2024-01-01"})
    assert bad.status_code == 400
    assert bad.get_json()["message"] == (
        'No version "2024-01-01" available for [get] '
        "[/api/workflows/executions/{executionId}/step/{stepExecutionId}]. "
        "Available versions are: [2023-10-31]"
    )
    assert bad.headers["elastic-api-version"] == "2023-10-31"
    malformed = client.get(path, headers={**AUTH, "elastic-api-version": "v1"})
    assert malformed.status_code == 400


@pytest.mark.parametrize("value", ["", " "])
def test_an_empty_api_version_is_a_malformed_version(client: FlaskClient, value: str) -> None:
    # The header's documented enum has one value; a present but empty header is malformed.
    path = f"/api/workflows/executions/{DOCUMENTED_EXECUTION_ID}/step/step-exec-001"
    empty = client.get(path, headers={**AUTH, "elastic-api-version": value})
    assert empty.status_code == 400
    assert empty.get_json() == {
        "statusCode": 400,
        "error": "Bad Request",
        "message": f'Invalid version. Received "{value}", expected a valid date string '
        "formatted as YYYY-MM-DD.",
    }
    assert empty.headers["elastic-api-version"] == "2023-10-31"


def test_page_numbers_beyond_javascript_integers_are_a_400(app_factory: AppFactory) -> None:
    app = app_factory()
    app.testing = False  # a bug would be the vendor's 500, as from `stepspec mock`
    for path in (
        f"/api/workflows/executions/{DOCUMENTED_EXECUTION_ID}/steps",
        f"/api/workflows/workflow/{DOCUMENTED_WORKFLOW_ID}/executions",
        f"/api/workflows/workflow/{DOCUMENTED_WORKFLOW_ID}/executions/steps",
        "/api/workflows",
    ):
        response = app.test_client().get(f"{path}?page=99999999999999999999", headers=AUTH)
        assert response.status_code == 400, path
        assert response.get_json() == {
            "statusCode": 400,
            "error": "Bad Request",
            "message": "[request query.page]: Value must be equal to or lower than "
            "[9007199254740991].",
        }
    huge_size = app.test_client().get(
        f"/api/workflows/executions/{DOCUMENTED_EXECUTION_ID}/steps?size=99999999999999999999",
        headers=AUTH,
    )
    assert huge_size.status_code == 400  # size keeps its documented maximum's message
    assert "[9007199254740991]" not in huge_size.get_json()["message"]
    fine = app.test_client().get(
        f"/api/workflows/executions/{DOCUMENTED_EXECUTION_ID}/steps?page=9007199254740991",
        headers=AUTH,
    )
    assert fine.status_code == 200
    assert fine.get_json()["results"] == []


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("size=101", "[request query.size]: Value must be equal to or lower than [100]."),
        ("size=0", "[request query.size]: Value must be equal to or greater than [1]."),
        ("page=abc", "[request query.page]: expected value of type [number] but got [string]"),
        ("foo=1", "[request query.foo]: definition for this key is missing"),
        (
            "omitStepRuns=maybe",
            "[request query.omitStepRuns]: expected value of type [boolean] but got [string]",
        ),
    ],
)
def test_query_validation_speaks_config_schema(
    client: FlaskClient, query: str, message: str
) -> None:
    path = f"/api/workflows/workflow/{DOCUMENTED_WORKFLOW_ID}/executions?{query}"
    response = client.get(path, headers=AUTH)
    assert response.status_code == 400
    assert response.get_json() == {"statusCode": 400, "error": "Bad Request", "message": message}


def test_unknown_status_filter_is_rejected(client: FlaskClient) -> None:
    path = f"/api/workflows/workflow/{DOCUMENTED_WORKFLOW_ID}/executions?statuses=done"
    response = client.get(path, headers=AUTH)
    assert response.status_code == 400
    assert response.get_json()["message"].startswith("[request query.statuses]")


def test_wrong_method_is_405_with_allow(client: FlaskClient) -> None:
    path = f"/api/workflows/executions/{DOCUMENTED_EXECUTION_ID}/step/step-exec-001"
    response = client.delete(path, headers=WRITE)
    assert response.status_code == 405
    assert response.get_json()["statusCode"] == 405
    assert response.headers["Allow"] == "GET"


def test_unknown_path_under_kibana_is_a_boom_404(client: FlaskClient) -> None:
    response = client.get("/api/workflows/nothing/here", headers=AUTH)
    assert response.status_code == 404
    assert response.get_json() == NOT_FOUND


# Writes -----------------------------------------------------------------------------------


def first_workflow(client: FlaskClient, name: str) -> str:
    workflows = client.get("/api/workflows", headers=AUTH).get_json()["results"]
    return str(next(w["id"] for w in workflows if w["name"] == name))


def test_run_starts_an_execution_that_progresses_on_the_clock(
    client: FlaskClient, clock: TestClock
) -> None:
    workflow_id = first_workflow(client, "Daily observability digest")
    started = client.post(
        f"/api/workflows/workflow/{workflow_id}/run", headers=WRITE, json={"inputs": {}}
    )
    assert started.status_code == 200
    execution_id = started.get_json()["workflowExecutionId"]
    assert (
        validator("urn:stepspec:kibana:run-workflow-response").violations(started.get_json()) == []
    )
    first = ok(client, f"/api/workflows/executions/{execution_id}", "execution")
    # Read at once: stored `pending` until Task Manager picks it up, without startedAt.
    assert first["status"] == "pending"
    assert "startedAt" not in first
    assert "finishedAt" not in first
    assert first["stepExecutions"] == []
    assert first["createdAt"]
    listed = ok(client, f"/api/workflows/workflow/{workflow_id}/executions", "execution-list")
    assert listed["results"][0] == {
        key: first[key] for key in listed["results"][0]
    }  # the list's newest item is the same pending run
    seen = [first["status"]]
    for _ in range(40):
        clock.advance(2)
        detail = ok(client, f"/api/workflows/executions/{execution_id}", "execution")
        seen.append(detail["status"])
        if detail["status"] == "completed":
            break
    assert seen[1] == "running"
    assert seen[-1] == "completed"
    assert first["createdAt"] < detail["startedAt"]
    runs = ok(client, f"/api/workflows/workflow/{workflow_id}/executions?size=1", "execution-list")
    assert runs["results"][0]["id"] == execution_id


def test_resume_inside_the_resume_window_is_accepted_and_the_last_answer_wins(
    client: FlaskClient, clock: TestClock
) -> None:
    workflow_id = first_workflow(client, "Approve production change")
    execution_id = client.post(
        f"/api/workflows/workflow/{workflow_id}/run",
        headers=WRITE,
        json={"inputs": {"change": "x"}},
    ).get_json()["workflowExecutionId"]
    path = f"/api/workflows/executions/{execution_id}"
    early = client.post(f"{path}/resume", headers=WRITE, json={"input": {"approved": True}})
    assert early.status_code == 409
    assert early.get_json()["message"] == (
        f'Workflow execution "{execution_id}" is in status "pending" '
        'but expected "waiting_for_input".'
    )
    clock.advance(3)
    assert ok(client, path, "execution")["status"] == "waiting_for_input"
    results: list[int] = []

    def resume(approved: bool) -> None:
        answer = client.post(
            f"{path}/resume", headers=WRITE, json={"input": {"approved": approved}}
        )
        results.append(answer.status_code)

    threads = [threading.Thread(target=resume, args=(True,)) for _ in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert results == [200] * 20  # the run still waits for input until the resume task runs
    resume(False)  # a later answer, still inside the window: accepted, and it wins
    assert results[-1] == 200
    waiting = ok(client, f"{path}?includeOutput=true", "execution")["stepExecutions"][-1]
    assert waiting["status"] == "waiting_for_input"
    assert waiting["hitl"]["channel"] == "kibana_execution_view"
    clock.advance(60)
    detail = ok(client, f"{path}?includeOutput=true", "execution")
    assert detail["status"] == "completed"
    by_name = {s["stepId"]: s for s in detail["stepExecutions"]}
    assert by_name["approve_change"]["output"]["input"] == {"approved": False}
    assert by_name["log_rejection"]["status"] == "completed"
    assert by_name["deploy_change"]["status"] == "skipped"
    late = client.post(f"{path}/resume", headers=WRITE, json={"input": {"approved": True}})
    assert late.status_code == 409  # the run has moved on
    assert late.get_json()["message"] == (
        f'Workflow execution "{execution_id}" is in status "completed" '
        'but expected "waiting_for_input".'
    )


def test_resume_of_a_static_waiting_run_thaws_it(client: FlaskClient, clock: TestClock) -> None:
    workflow_id = first_workflow(client, "Approve production change")
    runs = ok(
        client,
        f"/api/workflows/workflow/{workflow_id}/executions?statuses=waiting_for_input",
        "execution-list",
    )
    execution_id = runs["results"][0]["id"]
    path = f"/api/workflows/executions/{execution_id}"
    answer = client.post(f"{path}/resume", headers=WRITE, json={"input": {"approved": True}})
    assert answer.get_json() == {
        "success": True,
        "executionId": execution_id,
        "message": "Workflow resume scheduled",
    }
    clock.advance(120)
    assert ok(client, path, "execution")["status"] == "completed"


def test_cancel_ends_a_running_run_and_is_idempotent(client: FlaskClient, clock: TestClock) -> None:
    workflow_id = first_workflow(client, "Enrich suspicious users")
    execution_id = client.post(
        f"/api/workflows/workflow/{workflow_id}/run", headers=WRITE, json={"inputs": {}}
    ).get_json()["workflowExecutionId"]
    clock.advance(2)
    path = f"/api/workflows/executions/{execution_id}"
    assert ok(client, path, "execution")["status"] == "running"
    assert client.post(f"{path}/cancel", headers=WRITE).status_code == 200
    clock.advance(600)
    detail = ok(client, path, "execution")
    assert detail["status"] == "cancelled"
    assert detail["finishedAt"] == detail["cancelledAt"]
    cancelled = detail["stepExecutions"][-1]
    assert cancelled["status"] == "cancelled"
    assert "finishedAt" not in cancelled
    assert "executionTimeMs" not in cancelled
    assert client.post(f"{path}/cancel", headers=WRITE).status_code == 200
    unknown = "00000000-0000-4000-8000-000000000000"
    assert (
        client.post(f"/api/workflows/executions/{unknown}/cancel", headers=WRITE).status_code == 404
    )


def test_cancel_while_pending_ends_the_run_before_it_starts(
    client: FlaskClient, clock: TestClock
) -> None:
    workflow_id = first_workflow(client, "Enrich suspicious users")
    execution_id = client.post(
        f"/api/workflows/workflow/{workflow_id}/run", headers=WRITE, json={"inputs": {}}
    ).get_json()["workflowExecutionId"]
    path = f"/api/workflows/executions/{execution_id}"
    assert client.post(f"{path}/cancel", headers=WRITE).status_code == 200
    clock.advance(600)
    detail = ok(client, path, "execution")
    assert detail["status"] == "cancelled"
    assert detail["stepExecutions"] == []
    assert detail["cancelledAt"]
    for absent in ("startedAt", "finishedAt", "duration"):
        assert absent not in detail
    item = ok(client, f"/api/workflows/workflow/{workflow_id}/executions", "execution-list")
    assert item["results"][0]["id"] == execution_id
    assert "startedAt" not in item["results"][0]


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (None, "[request body]: expected a plain object value, but found [null] instead."),
        ({}, "[request body.inputs]: expected value of type [object] but got [undefined]"),
        ({"inputs": []}, "[request body.inputs]: expected value of type [object] but got [Array]"),
        ({"inputs": {}, "foo": 1}, "[request body.foo]: definition for this key is missing"),
    ],
)
def test_run_rejects_bad_bodies(client: FlaskClient, body: Any, message: str) -> None:
    path = f"/api/workflows/workflow/{DOCUMENTED_WORKFLOW_ID}/run"
    response = client.post(path, headers=WRITE, data=json.dumps(body) if body is not None else b"")
    assert response.status_code == 400
    assert response.get_json()["message"] == message


def test_run_of_an_unknown_workflow_is_404(client: FlaskClient) -> None:
    response = client.post("/api/workflows/workflow/nope/run", headers=WRITE, json={"inputs": {}})
    assert response.status_code == 404


def test_test_run_from_yaml_is_ephemeral_and_resolvable(
    client: FlaskClient, clock: TestClock
) -> None:
    yaml = "name: t\nsteps:\n  - name: say\n    type: console\n    with: {message: hi}\n"
    started = client.post(
        "/api/workflows/test", headers=WRITE, json={"inputs": {}, "workflowYaml": yaml}
    )
    assert started.status_code == 200
    clock.advance(5)
    detail = ok(
        client,
        f"/api/workflows/executions/{started.get_json()['workflowExecutionId']}",
        "execution",
    )
    assert detail["isTestRun"] is True
    assert detail["status"] == "completed"
    assert [s["stepId"] for s in detail["stepExecutions"]] == ["say"]


@pytest.mark.parametrize(
    ("body", "status", "message"),
    [
        ({"inputs": {}}, 400, "Either 'workflowId' or 'workflowYaml' or both must be provided"),
        ({"inputs": {}, "workflowYaml": "a: [b"}, 400, None),
        ({"inputs": {}, "workflowId": "workflow-nope"}, 404, "Not Found"),
    ],
)
def test_test_run_errors(client: FlaskClient, body: Any, status: int, message: str | None) -> None:
    response = client.post("/api/workflows/test", headers=WRITE, json=body)
    assert response.status_code == status
    if message is not None:
        assert response.get_json()["message"] == message
    else:
        assert response.get_json()["message"].startswith("Invalid workflow yaml:")


def test_documented_execution_is_completed_so_resume_conflicts(client: FlaskClient) -> None:
    path = f"/api/workflows/executions/{DOCUMENTED_EXECUTION_ID}/resume"
    response = client.post(path, headers=WRITE, json={"input": {}})
    assert response.status_code == 409
    assert response.get_json()["message"] == (
        f'Workflow execution "{DOCUMENTED_EXECUTION_ID}" is in status "completed" but expected '
        '"waiting_for_input".'
    )


def test_static_answers_stay_identical_after_writes(app: Flask) -> None:
    client = app.test_client()
    path = f"/api/workflows/executions/{DOCUMENTED_EXECUTION_ID}"
    before = client.get(path, headers=AUTH).data
    client.post(
        f"/api/workflows/workflow/{DOCUMENTED_WORKFLOW_ID}/run", headers=WRITE, json={"inputs": {}}
    )
    assert client.get(path, headers=AUTH).data == before
