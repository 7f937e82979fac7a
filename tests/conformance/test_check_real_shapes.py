"""The checks' rules over payloads shaped like the real servers' (no server needed).

Each payload comes from a false alarm in ``shared/reviews/kibana-stand-in-run.md`` or
``trigify-arcee-stand-in-run.md`` (the review's key is in the test name) and is judged by the
check functions themselves, so each test fails if the rule that raised the alarm comes back.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from conformance import _specs
from conformance._client import HttpResponse, HttpResult
from conformance._context import Context, Exchange
from conformance._problems import merge_findings, problem_key
from conformance._ratelimit import RateLimits, reset_after
from conformance.checks import _vendors, semantics
from conformance.checks._lifecycle_vendors import candidates
from conformance.checks._polling import ProgressRules
from conformance.findings import Finding, RecordedRequest, Severity

RUN = "6f1c2a9e-0b7d-4c55-9a43-2f8e61d0b7aa"
WORKFLOW = "enrich-hosts"
SEMANTIC_CHECKS = (
    semantics.timestamps_ordered,
    semantics.durations_agree,
    semantics.status_error_coherent,
    semantics.terminal_has_end_time,
    semantics.indexes_ordered,
)


class _Ctx:
    """The little of ``Context`` the response-scope checks read."""

    def __init__(self, api: str, *, strict: bool = False) -> None:
        from conformance._operations import profile

        self.profile = profile(api)
        self.strict = strict
        self.current = ""

    finding = Context.finding


def _exchange(api: str, operation_id: str, body: Any, query: str = "") -> Exchange:
    operation = _specs.operation(api, operation_id)
    url = f"http://127.0.0.1{operation.path}{'?' + query if query else ''}"
    response = HttpResponse(
        200, "OK", {"content-type": "application/json"}, json.dumps(body).encode()
    )
    return Exchange(
        operation=operation,
        params={},
        query=(),
        credential="default",
        space=None,
        purpose="test",
        result=HttpResult(RecordedRequest("GET", url), response, None, 0.0),
    )


def _judge(api: str, exchange: Exchange) -> list[Finding]:
    ctx: Any = _Ctx(api)
    found: list[Finding] = []
    for check in SEMANTIC_CHECKS:
        ctx.current = check.__name__  # each semantic check is registered under its name
        found += check(ctx, exchange)
    return found


def _kibana_step(step_id: str, index: int, global_index: int, **extra: Any) -> dict[str, Any]:
    times = {
        "startedAt": f"2026-03-02T02:00:{global_index:02d}.000Z",
        "finishedAt": f"2026-03-02T02:00:{global_index:02d}.500Z",
        "executionTimeMs": 500,
    }
    return {
        **(times if extra.get("status", "completed") == "completed" else {}),
        "id": f"{global_index:064x}",
        "spaceId": "default",
        "stepId": step_id,
        "workflowRunId": RUN,
        "workflowId": WORKFLOW,
        "status": "completed",
        "scopeStack": [],
        "globalExecutionIndex": global_index,
        "stepExecutionIndex": index,
        **extra,
    }


# -- K8: "count up from 0" only over the whole set ------------------------------------------------


def test_k8_a_page_that_opens_on_a_later_foreach_iteration_is_no_finding() -> None:
    """``GET .../steps?page=4&size=2`` of an 8-step foreach run: the page holds iteration 3."""
    page = {
        "results": [
            _kibana_step("enrich_host", 3, 6, topologicalIndex=2),
            _kibana_step("summarise", 0, 7, topologicalIndex=3),
        ],
        "total": 8,
        "page": 4,
        "size": 2,
    }
    exchange = _exchange("kibana", "getExecutionSteps", page, "page=4&size=2")
    assert _judge("kibana", exchange) == []


def test_k8_the_whole_list_is_still_held_to_count_up_from_0() -> None:
    whole = {
        "results": [_kibana_step("enrich_host", 1, 0), _kibana_step("enrich_host", 2, 1)],
        "total": 2,
        "page": 1,
        "size": 1000,
    }
    findings = _judge("kibana", _exchange("kibana", "getExecutionSteps", whole))
    assert [f.title for f in findings] == [
        "stepExecutionIndex does not count up from 0 for one stepId"
    ]
    truncated = {
        "id": RUN,
        "status": "completed",
        "startedAt": "2026-03-02T02:00:00.000Z",
        "finishedAt": "2026-03-02T02:00:09.000Z",
        "duration": 9000,
        "stepExecutionsTruncatedCount": 5,
    }
    truncated["stepExecutions"] = whole["results"]
    assert _judge("kibana", _exchange("kibana", "getExecution", truncated)) == []


# -- T2: a Trigify step that timed out is failed without ended_at ---------------------------------


def _trigify_run(*steps: dict[str, Any], status: str = "failed") -> dict[str, Any]:
    return {
        "success": True,
        "data": {
            "id": "exec_9f2",
            "run_id": "run_9f2",
            "workflow_id": "wf_leads",
            "status": status,
            "started_at": "2026-03-02T09:00:00.000Z",
            "ended_at": None if status == "running" else "2026-03-02T09:05:00.000Z",
            "duration_ms": None if status == "running" else 300000,
            "event_name": "workflows/new-post",
            "error": "Action timed out" if status == "failed" else None,
            "steps": list(steps),
        },
    }


def test_t2_a_timed_out_trigify_step_is_no_finding() -> None:
    timed_out = {
        "step_id": "agent_1",
        "operation": "builtin:agent",
        "status": "failed",
        "started_at": "2026-03-02T09:00:01.000Z",
        "ended_at": None,
        "duration_ms": None,
        "input": {},
        "error": "Action timed out",
    }
    body = _trigify_run(timed_out)
    assert _judge("trigify", _exchange("trigify", "getWorkflowExecution", body)) == []
    # A completed step without an end time is still judged, as an inferred rule (a warning).
    body["data"]["steps"][0].update(status="completed", error=None)
    body["data"].update(status="completed", error=None)
    findings = _judge("trigify", _exchange("trigify", "getWorkflowExecution", body))
    assert [(f.title, f.severity, f.inferred) for f in findings] == [
        ("terminal state without an end time", Severity.WARNING, True)
    ]


def test_t2_a_finished_trigify_run_without_an_end_time_is_still_an_error() -> None:
    body = _trigify_run()
    body["data"]["ended_at"] = None
    findings = _judge("trigify", _exchange("trigify", "getWorkflowExecution", body))
    assert [(f.title, f.severity) for f in findings] == [
        ("terminal state without an end time", Severity.ERROR)
    ]


# -- T5: loop steps repeat step_id; polls key them by (step_id, iteration) ------------------------


def _loop_step(iteration: int, status: str, start: str, end: str | None) -> dict[str, Any]:
    return {
        "step_id": "loop_body",
        "operation": "builtin:loop",
        "status": status,
        "iteration": iteration,
        "totalItems": 3,
        "started_at": start,
        "ended_at": end,
        "duration_ms": None,
        "input": {},
    }


def _entities(body: dict[str, Any]) -> list[_vendors.Entity]:
    return _vendors.entities("trigify", "getWorkflowExecution", body)


def test_t5_loop_iterations_are_followed_one_by_one() -> None:
    first = _loop_step(1, "completed", "2026-03-02T09:00:01.000Z", "2026-03-02T09:00:02.000Z")
    second = _loop_step(2, "running", "2026-03-02T09:00:02.000Z", None)
    second_done = _loop_step(2, "completed", "2026-03-02T09:00:02.000Z", "2026-03-02T09:00:03.000Z")
    third = _loop_step(3, "running", "2026-03-02T09:00:03.000Z", None)
    polls = [
        _trigify_run(first, status="running"),
        _trigify_run(first, second, status="running"),
        _trigify_run(first, second_done, third, status="running"),
    ]
    rules = ProgressRules("run_progress_monotonic", _vendors.TERMINAL["trigify"])
    exchange = _exchange("trigify", "getWorkflowExecution", polls[0])
    for index, body in enumerate(polls, start=1):
        rules.feed("getWorkflowExecution", exchange, _entities(body), index)
    assert rules.findings == []


def test_t5_one_iteration_that_goes_back_is_still_caught() -> None:
    done = _loop_step(1, "completed", "2026-03-02T09:00:01.000Z", "2026-03-02T09:00:02.000Z")
    again = _loop_step(1, "running", "2026-03-02T09:00:01.000Z", None)
    rules = ProgressRules("run_progress_monotonic", _vendors.TERMINAL["trigify"])
    exchange = _exchange("trigify", "getWorkflowExecution", _trigify_run(done))
    for index, step in enumerate((done, again), start=1):
        rules.feed("getWorkflowExecution", exchange, _entities(_trigify_run(step)), index)
    assert [f.title for f in rules.findings] == ["a finished step left its terminal state"]


# -- fields the schemas no longer require ---------------------------------------------------------


def test_absent_start_duration_and_indexes_are_skipped_not_flagged() -> None:
    """A pending run without ``startedAt``/``duration``; steps without ``startedAt``,
    ``topologicalIndex`` or indexes (Kibana's ``createStep`` before ``startStep``)."""
    pending = {"id": RUN, "status": "pending", "workflowId": WORKFLOW, "stepExecutions": []}
    running = {
        "id": RUN,
        "status": "running",
        "startedAt": "2026-03-02T02:00:00.000Z",
        "workflowId": WORKFLOW,
        "stepExecutions": [
            {"id": "a" * 64, "status": "pending", "stepId": "first", "workflowRunId": RUN},
            {"id": "b" * 64, "status": "pending", "stepId": "second", "workflowRunId": RUN},
            _kibana_step("third", 0, 2, status="running", startedAt="2026-03-02T02:00:01.000Z"),
        ],
    }
    listing = {"results": [pending, {**running, "stepExecutions": None}], "total": 2}
    for operation_id, body in (
        ("getExecution", pending),
        ("getExecution", running),
        ("getWorkflowExecutions", listing),
        ("getExecutionSteps", {"results": running["stepExecutions"], "total": 3}),
    ):
        assert _judge("kibana", _exchange("kibana", operation_id, body)) == [], operation_id
    rules = ProgressRules("run_progress_monotonic", _vendors.TERMINAL["kibana"])
    for index, body in enumerate((pending, running), start=1):
        exchange = _exchange("kibana", "getExecution", body)
        rules.feed("run", exchange, _vendors.entities("kibana", "getExecution", body), index)
    assert rules.findings == []


def test_arcee_nulls_while_running_are_skipped() -> None:
    run = [
        {
            "id": "r1",
            "status": "running",
            "start_time": "2026-03-02T09:00:00Z",
            "end_time": None,
            "elapsed_time": None,
            "outputs": None,
            "error": "",
        }
    ]
    assert _judge("arcee", _exchange("arcee", "getRun", run)) == []


# -- one problem, one finding ---------------------------------------------------------------------


def _required(path: str, missing: str, url: str) -> Finding:
    return Finding(
        check="body_matches_schema",
        title="body breaks schema rule 'required'",
        operation="getExecutionSteps",
        path=path,
        expected="required properties [...]",
        found="missing ['startedAt', 'topologicalIndex']",
        detail=f"{missing!r} is a required property",
        request=RecordedRequest("GET", url),
    )


def test_one_document_seen_in_several_responses_is_one_finding() -> None:
    """K4: one step cancelled before it started, 2 missing properties x 2 responses x 2 pages."""
    raw = [
        _required(f"$.results[{index}]", missing, url)
        for index, url in ((3, "http://k/steps"), (1, "http://k/steps?page=2&size=2"))
        for missing in ("startedAt", "topologicalIndex")
    ]
    merged = merge_findings(raw, strict=False)
    assert len(merged) == 1
    assert merged[0].responses == 2
    assert merged[0].path == "$.results[1]"  # the first in report order, a real path
    assert "seen in 2 responses" in str(merged[0])
    assert merged[0].as_dict()["responses"] == 2


def test_different_rules_or_operations_stay_apart() -> None:
    first = _required("$.results[0]", "startedAt", "http://k/steps")
    other_operation = Finding(**{**_as_kwargs(first), "operation": "getExecution"})
    other_path = Finding(**{**_as_kwargs(first), "path": "$.results[0].status"})
    merged = merge_findings([first, other_operation, other_path], strict=False)
    assert len({problem_key(f) for f in merged}) == len(merged) == 3


def _as_kwargs(finding: Finding) -> dict[str, Any]:
    from dataclasses import fields

    return {f.name: getattr(finding, f.name) for f in fields(finding)}


# -- A4: inactive Arcee workflows are never started -----------------------------------------------


def test_a4_inactive_arcee_workflows_are_never_candidates() -> None:
    listed = [
        {"workflow_id": "off", "status": "inactive", "graph": {}},
        {"workflow_id": "on", "status": "active", "graph": {}},
    ]
    assert [c.workflow_id for c in candidates("arcee", listed)] == ["on"]
    # Named with --workflow-id but listed inactive: still not started.
    assert [c.workflow_id for c in candidates("arcee", listed, "off")] == ["on"]


# -- rate limits ----------------------------------------------------------------------------------


def _429(headers: dict[str, str], body: Any = None) -> HttpResponse:
    raw = json.dumps(body if body is not None else {"success": False}).encode()
    return HttpResponse(429, "Too Many Requests", headers, raw)


@pytest.mark.parametrize(
    ("headers", "body", "seconds"),
    [
        ({"retry-after": "7"}, None, 7.0),
        ({"retry-after": "Thu, 01 Jan 2026 00:00:30 GMT"}, None, 30.0),
        ({}, {"success": False, "error": {"code": "RATE_LIMITED", "retryAfterSeconds": 12}}, 12.0),
        ({"ratelimit-reset": "13"}, None, 13.0),
        ({"x-ratelimit-reset": "1767225645"}, None, 45.0),
        ({"ratelimit": "limit=100, remaining=0, reset=21"}, None, 21.0),
        ({"retry-after": "soon"}, None, None),
    ],
)
def test_the_reset_is_read_where_the_vendor_puts_it(
    headers: dict[str, str], body: Any, seconds: float | None
) -> None:
    now = 1767225600.0  # 2026-01-01T00:00:00Z
    assert reset_after(_429(headers, body), now=now) == seconds


def test_a_wait_is_bounded_by_the_documented_window_and_the_budget() -> None:
    trigify = RateLimits("trigify", budget=120.0)
    assert trigify.decide(_429({"ratelimit-reset": "59"})) == 59.0
    assert trigify.decide(_429({})) == 60.0  # unsaid: the whole documented window
    too_long = trigify.decide(_429({"retry-after": "3600"}))
    assert isinstance(too_long, str)
    assert "resets in 3600 s" in too_long
    assert "60 s window" in too_long
    trigify.waited = 100.0
    over_budget = trigify.decide(_429({"retry-after": "30"}))
    assert isinstance(over_budget, str)
    assert "--max-rate-limit-wait" in over_budget
    assert isinstance(RateLimits("kibana", budget=120.0).decide(_429({"retry-after": "30"})), str)
