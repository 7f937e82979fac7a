"""Recorded traffic as the checks see it: operation matching, entries as exchanges, and the
passive judge on a session that is not the kit's (no list pages, only what a browser opened)."""

from __future__ import annotations

import re
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from conformance._client import ErrorKind
from conformance._passive import PassiveJudge, judge_entries
from conformance._traffic import match, to_exchange
from conformance.har import HarEntry
from tests.conformance.mutants import MUTANTS
from tests.conformance.recording import record_kit_run


@pytest.mark.parametrize(
    ("api", "method", "path", "operation", "params", "space"),
    [
        ("kibana", "GET", "/api/workflows", "listWorkflows", {}, None),
        (
            "kibana",
            "GET",
            "/api/workflows/workflow/w1/executions/steps",
            "getWorkflowStepExecutions",
            {"workflowId": "w1"},
            None,
        ),
        (
            "kibana",
            "GET",
            "/s/team-a/api/workflows/executions/e1/step/s1",
            "getStepExecution",
            {"executionId": "e1", "stepExecutionId": "s1"},
            "team-a",
        ),
        (
            "kibana",
            "POST",
            "/api/workflows/executions/e1/cancel",
            "cancelExecution",
            {"executionId": "e1"},
            None,
        ),
        (
            "arcee",
            "GET",
            "/api/v1/workflow/workflows/w1/runs/r1/steps",
            "getRunSteps",
            {"workflow_id": "w1", "run_id": "r1"},
            None,
        ),
        ("trigify", "GET", "/v1/workflows/wf_1/", "getWorkflow", {"id": "wf_1"}, None),
    ],
)
def test_match_names_the_operation_and_its_path_ids(
    api: str, method: str, path: str, operation: str, params: dict[str, str], space: str | None
) -> None:
    found = match(api, method, path)
    assert found is not None
    assert (found.operation.operation_id, found.params, found.space) == (operation, params, space)


@pytest.mark.parametrize(
    ("api", "method", "path"),
    [
        ("kibana", "OPTIONS", "/api/workflows"),
        ("kibana", "GET", "/api/v1/workflow/workflows"),
        ("kibana", "DELETE", "/api/workflows/executions/e1"),
        ("trigify", "GET", "/v1/workflows/a/b/c/d"),
    ],
)
def test_match_ignores_what_the_api_does_not_document(api: str, method: str, path: str) -> None:
    assert match(api, method, path) is None


def _entry(**changes: Any) -> HarEntry:
    base: dict[str, Any] = {
        "method": "GET",
        "url": "http://127.0.0.1:5601/api/workflows/executions/e1?token=s3cr3t-value&x=1",
        "request_headers": (("Authorization", "ApiKey s3cr3t-value"), ("Accept", "*/*")),
        "status": 200,
        "reason": "OK",
        "response_headers": (("Content-Type", "application/json"),),
        "response_body": b"{}",
    }
    base.update(changes)
    return HarEntry(**base)


def test_an_entry_becomes_an_exchange_with_its_request_masked() -> None:
    exchange = to_exchange("kibana", _entry())
    assert exchange is not None
    assert exchange.operation.operation_id == "getExecution"
    assert exchange.params == {"executionId": "e1"}
    assert exchange.credential == "default"
    assert exchange.query == (("token", "s3cr3t-value"), ("x", "1"))
    request = exchange.result.request
    assert "s3cr3t-value" not in request.curl()
    assert ("Authorization", "[redacted]") in request.headers
    assert exchange.ok
    assert exchange.result.response is not None
    assert exchange.result.response.headers["content-type"] == "application/json"


def test_incomplete_exchanges_carry_their_transport_error() -> None:
    none = to_exchange("kibana", _entry(status=0, response_headers=(), response_body=b""))
    assert none is not None
    assert none.result.error is not None
    assert none.result.error.kind is ErrorKind.CONNECTION
    stalled = to_exchange("kibana", _entry(error="timeout: no answer within 10 s"))
    assert stalled is not None
    assert stalled.result.error is not None
    assert stalled.result.error.kind is ErrorKind.TIMEOUT
    assert stalled.result.error.message == "no answer within 10 s"


def test_a_redirect_to_itself_is_a_loop_and_other_hops_are_not_judged() -> None:
    url = "http://127.0.0.1:5601/api/workflows/executions/e1"
    loop = to_exchange("kibana", _entry(url=url, status=302, response_headers=(("Location", url),)))
    assert loop is not None
    assert loop.result.error is not None
    assert loop.result.error.kind is ErrorKind.REDIRECT_LOOP
    hop = _entry(url=url, status=302, response_headers=(("Location", "/login"),))
    assert to_exchange("kibana", hop) is None


def test_a_browser_session_without_list_pages_is_still_compared(
    tmp_path: Path, app_factory: Any
) -> None:
    """Executions, their steps lists and steps were opened, but no list page for discovery to
    walk: the cross-exchange check still compares them (ids come from what was addressed)."""
    mutant = next(m for m in MUTANTS if m.name == "step_lists_disagree")
    recording = record_kit_run(tmp_path, app_factory, "kibana", mutant)
    opened = re.compile(r"^/api/workflows/executions/[^/]+(/steps|/step/[^/]+)?$")
    session = [
        entry
        for entry in recording.entries
        if entry.status == 200 and opened.match(entry.path) and not entry.query
    ]
    assert not any(entry.path.endswith(("/api/workflows", "/executions")) for entry in session)
    report = judge_entries("kibana", session)
    assert "step_consistent" in {f.check for f in report.errors}
    assert "the workflow list was empty, so nothing else could be discovered" in report.notes


def test_a_session_inside_one_space_is_compared_in_that_space(
    tmp_path: Path, app_factory: Any
) -> None:
    mutant = next(m for m in MUTANTS if m.name == "step_lists_disagree")
    recording = record_kit_run(tmp_path, app_factory, "kibana", mutant)
    opened = re.compile(r"^/api/workflows/executions/[^/]+(/steps|/step/[^/]+)?$")
    session = [
        replace(entry, url=entry.url.replace("/api/workflows", "/s/team-a/api/workflows", 1))
        for entry in recording.entries
        if entry.status == 200 and opened.match(entry.path) and not entry.query
    ]
    assert all(entry.path.startswith("/s/team-a/") for entry in session)
    report = judge_entries("kibana", session)
    assert "step_consistent" in {f.check for f in report.errors}


def test_the_judge_ignores_traffic_of_other_apis_and_counts_it() -> None:
    judge = PassiveJudge("trigify")
    assert judge.observe(_entry()) == []
    assert judge.ignored == 1
    assert judge.exchanges == []
