"""The lifecycle checks' building blocks, without a server: choosing workflows, request bodies,
and the monotonic-progress rules over hand-made polls."""

from __future__ import annotations

from typing import Any

import pytest

from conformance import _specs
from conformance._client import HttpResult
from conformance._context import Exchange
from conformance.checks import _vendors
from conformance.checks._lifecycle_vendors import (
    SAMPLE_TEXT,
    candidates,
    resume_input,
    start_body,
)
from conformance.checks._polling import ProgressRules
from conformance.findings import RecordedRequest, Severity, assert_conforms

APPROVAL = {
    "name": "Approve",
    "inputs": [
        {"name": "change", "type": "string", "required": True},
        {"name": "service", "type": "string", "default": "checkout"},
        {"name": "dry_run", "type": "boolean"},
    ],
    "steps": [
        {"name": "announce", "type": "console"},
        {
            "name": "gate",
            "type": "if",
            "steps": [
                {
                    "name": "approve",
                    "type": "waitForInput",
                    "with": {
                        "schema": {
                            "type": "object",
                            "properties": {"ticket": {"type": "integer"}},
                            "required": ["ticket"],
                        }
                    },
                }
            ],
        },
    ],
}
PLAIN_YAML = "name: Plain\nsteps:\n- name: hello\n  type: console\n"


def _kibana_list(*items: dict[str, Any]) -> dict[str, Any]:
    return {"page": 1, "size": 10, "total": len(items), "results": list(items)}


def test_kibana_candidates_find_nested_hitl_steps_and_read_yaml() -> None:
    body = _kibana_list(
        {"id": "wf-approval", "enabled": True, "valid": True, "definition": APPROVAL},
        {"id": "wf-plain", "yaml": PLAIN_YAML},
        {"id": "wf-off", "enabled": False, "definition": APPROVAL},
        {"id": "wf-broken", "valid": False, "definition": APPROVAL},
    )
    found = {c.workflow_id: c for c in candidates("kibana", body)}
    assert set(found) == {"wf-approval", "wf-plain"}  # disabled and invalid ones cannot run
    assert found["wf-approval"].hitl
    assert not found["wf-plain"].hitl
    assert found["wf-plain"].definition["steps"][0]["type"] == "console"


def test_the_given_workflow_comes_first() -> None:
    body = _kibana_list({"id": "a", "yaml": PLAIN_YAML}, {"id": "b", "yaml": PLAIN_YAML})
    assert [c.workflow_id for c in candidates("kibana", body, "b")] == ["b", "a"]
    assert candidates("kibana", body, "unlisted")[0].workflow_id == "unlisted"


def test_kibana_start_body_fills_every_declared_input_in_the_documented_shape() -> None:
    (candidate,) = candidates("kibana", _kibana_list({"id": "wf", "definition": APPROVAL}))
    body = start_body("kibana", candidate)
    assert body == {"inputs": {"change": SAMPLE_TEXT, "service": "checkout", "dry_run": True}}
    assert_conforms(body, _specs.schema_id("kibana", "run-workflow-request"))


def test_arcee_start_body_is_the_flat_object_of_input_variables() -> None:
    workflow = {"workflow_id": "w", "graph": {"input_data": {"prompt": "", "tone": "dry"}}}
    (candidate,) = candidates("arcee", [workflow])
    body = start_body("arcee", candidate)
    assert body == {"prompt": SAMPLE_TEXT, "tone": "dry"}
    assert_conforms(body, _specs.schema_id("arcee", "execute-request"))


def test_resume_input_approves_and_fills_what_the_step_schema_requires() -> None:
    payload = resume_input(APPROVAL, "approve")
    assert payload["approved"] is True
    assert payload["ticket"] == 1
    assert_conforms({"input": payload}, _specs.schema_id("kibana", "resume-execution-request"))


def _step(status: str, end: str | None = None, start: str = "2026-01-01T00:00:00.000Z") -> Any:
    value = {"id": "s1", "status": status, "startedAt": start, "finishedAt": end}
    return _vendors.Entity("step", "$.results[0]", value, _vendors.FIELDS[("kibana", "step")])


EXCHANGE = Exchange(
    operation=next(
        op for op in _specs.operations("kibana") if op.operation_id == "getExecutionSteps"
    ),
    params={"executionId": "exec-1"},
    query=(),
    credential="default",
    space=None,
    purpose="run_progress_monotonic",
    result=HttpResult(
        RecordedRequest("GET", "http://127.0.0.1/api/workflows/executions/exec-1/steps"),
        None,
        None,
        0.0,
    ),
)
"""The exchange the polls came from (the rules read only its operation and request)."""


def _rules_over(*polls: list[Any]) -> ProgressRules:
    rules = ProgressRules("run_progress_monotonic", _vendors.TERMINAL["kibana"])
    for index, entities in enumerate(polls, start=1):
        rules.feed("steps", EXCHANGE, entities, index)
    return rules


def test_progress_that_only_moves_forward_has_no_findings() -> None:
    end = "2026-01-01T00:00:01.000Z"
    rules = _rules_over(
        [_step("pending")], [_step("running")], [_step("completed", end)], [_step("completed", end)]
    )
    assert rules.findings == []


@pytest.mark.parametrize(
    ("polls", "title", "severity"),
    [
        (
            ([_step("completed", "2026-01-01T00:00:01Z")], [_step("running")]),
            "a finished step left its terminal state",
            Severity.ERROR,
        ),
        (
            (
                [_step("completed", "2026-01-01T00:00:01Z")],
                [_step("completed", "2026-01-01T00:00:02Z")],
            ),
            "a finished step changed its end time",
            Severity.ERROR,
        ),
        (
            ([_step("running")], [_step("running", start="2026-01-01T00:00:05.000Z")]),
            "a step's start time moved",
            Severity.ERROR,
        ),
        (([_step("running")], [_step("pending")]), "a step's status went back", Severity.WARNING),
        (([_step("running")], []), "a listed step disappeared", Severity.WARNING),
    ],
    ids=["left-terminal", "end-moved", "start-moved", "back-to-pending", "vanished"],
)
def test_each_regression_is_reported_once_with_its_strength(
    polls: tuple[list[Any], ...], title: str, severity: Severity
) -> None:
    rules = _rules_over(*polls)
    assert [(f.title, f.severity) for f in rules.findings] == [(title, severity)]
    assert rules.findings[0].inferred is (severity is Severity.WARNING)


def test_a_wait_that_times_out_by_itself_is_recognised() -> None:
    timed = {"steps": [{"name": "ack", "type": "waitForApproval", "timeout": "15m"}]}
    body = _kibana_list(
        {"id": "timed", "definition": timed}, {"id": "open", "definition": APPROVAL}
    )
    found = {c.workflow_id: c for c in candidates("kibana", body)}
    assert found["timed"].wait_times_out
    assert not found["open"].wait_times_out
