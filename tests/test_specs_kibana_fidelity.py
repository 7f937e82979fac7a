"""Kibana schemas follow the real server: what its source writes validates, and the rules the
source does not settle stay warnings (``x-stepspec-inferred``), never errors."""

from __future__ import annotations

import json
from importlib import resources
from typing import Any

from conformance._validation import validator

STEP = "urn:stepspec:kibana:step-execution"
EXECUTION = "urn:stepspec:kibana:execution"


def _fixture(schema: str, name: str) -> Any:
    root = resources.files("conformance.fixtures") / "kibana" / schema / "valid" / name
    return json.loads(root.read_text(encoding="utf-8"))


def test_legacy_ended_at_step_is_a_warning_not_an_error() -> None:
    step = _fixture("step-execution", "notes-console-step.json")
    step["endedAt"] = step.pop("finishedAt")
    violations = validator(STEP).violations(step)
    assert [v.keyword for v in violations] == ["required"]
    assert all(v.inferred for v in violations)
    assert validator(STEP).errors(step, strict=False) == []


def test_failed_without_duration_is_valid_but_completed_without_duration_warns() -> None:
    run = _fixture("execution", "failed-task-recovery-without-duration.json")
    assert validator(EXECUTION).violations(run) == []
    run["status"] = "completed"
    run["error"] = None
    violations = validator(EXECUTION).violations(run)
    assert [(v.keyword, v.inferred) for v in violations] == [("required", True)]


def test_a_run_that_reached_running_must_carry_started_at() -> None:
    run = _fixture("execution", "pending-just-started.json")
    assert validator(EXECUTION).violations(run) == []
    for status in ("running", "waiting", "waiting_for_input"):
        run["status"] = status
        errors = validator(EXECUTION).errors(run, strict=False)
        assert [e.keyword for e in errors] == ["required"], status
