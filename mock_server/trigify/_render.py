"""Trigify payloads from timelines: execution detail, list items, workflows.

Durations are the difference of the millisecond values the timestamps show, so
``duration_ms == ended_at - started_at`` exactly. The list item of a run carries the same values
as its detail under the list's documented names (``completed_at``/``duration``).

Step statuses from the neutral timeline: completed, failed and running map directly; a step that
timed out is ``failed`` with no ``ended_at`` or ``duration_ms`` (the engine never saw it end:
"Action timed out or step has no endedAt with FAILED status" in Trigify's debugging notes), while
its execution ends ``failed`` with an end time; a step the condition did not take is ``skipped``
(from the moment the branch was decided); a step that never started is ``pending`` while the
execution runs and ``skipped`` once it has failed. Each iteration of a loop body is its own step
with the body's ``step_id`` plus ``iteration`` (1-based) and ``totalItems``. Steps that
have not run show ``input: {}`` and ``output: null``, and their ``started_at`` is the moment they
became due (the end of the last finished step), as in the spec's examples.

``mapped_output`` (shape inferred): for a completed step with ``column_config`` entries, an
object keyed by each entry's ``label`` holding the value at its ``fieldPath`` in the step's
output (non-scalar values as JSON text); otherwise ``null``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import orjson

from mock_server._stamp import iso_millis, millis
from mock_server._timeline import RunTimeline, Status, StepRun
from mock_server.trigify._actions import lookup
from mock_server.trigify._definition import Column, Workflow
from mock_server.trigify._naming import TrigifyIds
from mock_server.trigify._world import PlannedExecution, WorkflowState

Json = Any


def execution_status(timeline: RunTimeline) -> str:
    """``running``, ``completed`` or ``failed`` (the documented execution statuses)."""
    if timeline.status is Status.COMPLETED:
        return "completed"
    if timeline.status in (Status.FAILED, Status.TIMED_OUT, Status.CANCELLED):
        return "failed"
    return "running"


def execution_error(timeline: RunTimeline) -> str | None:
    """``Step '<name>' failed: <message>`` for a failed execution."""
    for step in timeline.steps:
        if step.status in _FAILED and step.plan.error is not None:
            return f"Step '{step.plan.name}' failed: {step.plan.error.message}"
    return None


_FAILED = (Status.FAILED, Status.TIMED_OUT)
_WORDS = {Status.COMPLETED: "completed", Status.FAILED: "failed", Status.TIMED_OUT: "failed",
          Status.SKIPPED: "skipped"}  # fmt: skip
"""A step's status word for each neutral status that is not ``running``."""


def mapped_output(output: Json, columns: Sequence[Column]) -> dict[str, Json] | None:
    """Values of the columns that point at this step, keyed by label."""
    if not columns or not isinstance(output, Mapping):
        return None
    mapped: dict[str, Json] = {}
    for column in columns:
        value = lookup(output, column.field_path)
        if value is not None and not isinstance(value, str | int | float | bool):
            value = orjson.dumps(value).decode()
        mapped[column.label] = value
    return mapped


def step_payload(
    step: StepRun, columns: Sequence[Column], due_us: int, run_failed: bool, as_object: bool
) -> dict[str, Json]:
    """One element of ``data.steps``; ``due_us`` is when a not-yet-run step became due."""
    plan, status = step.plan, step.status
    started, finished = step.started_us, step.finished_us
    word = _WORDS.get(status, "running")
    if started is None:
        word, started = ("skipped" if run_failed else "pending"), due_us
    ran = word in ("completed", "failed") and status is not Status.TIMED_OUT
    error: Json = None
    if word == "failed" and plan.error is not None:
        error = plan.error.message
        if as_object:
            retryable = (plan.error.details or {}).get("retryable", False)
            error = {"code": plan.error.type, "message": plan.error.message,
                     "retryable": retryable}  # fmt: skip
    done = word == "completed"
    payload = {
        "step_id": plan.step_key,
        "step_name": plan.name,
        "operation": plan.kind,
        "status": word,
        "started_at": iso_millis(started),
        "ended_at": iso_millis(finished) if ran and finished is not None else None,
        "duration_ms": millis(finished) - millis(started) if ran and finished is not None else None,
        "input": plan.input if word in ("completed", "failed", "running") else {},
        "output": plan.output if done else None,
        "mapped_output": mapped_output(plan.output, columns) if done else None,
        "error": error,
    }
    if plan.iteration:
        payload["iteration"] = plan.iteration
        payload["totalItems"] = plan.extra.get("totalItems", plan.iteration)
    return payload


def steps_payload(planned: PlannedExecution, timeline: RunTimeline) -> list[dict[str, Json]]:
    """Every action of the workflow, in definition order."""
    columns = planned.workflow.columns or ()
    by_step: dict[str, list[Column]] = {}
    for column in columns:
        by_step.setdefault(column.step_id, []).append(column)
    failed = execution_status(timeline) == "failed"
    due = timeline.plan.started_us
    payloads = []
    for step in timeline.steps:
        payloads.append(
            step_payload(
                step, by_step.get(step.plan.step_key, ()), due, failed, planned.error_as_object
            )
        )
        if step.finished_us is not None:
            due = max(due, step.finished_us)
    return payloads


def columns_payload(columns: Sequence[Column] | None) -> list[dict[str, str]] | None:
    """``column_config`` (camelCase keys, as documented)."""
    if columns is None:
        return None
    return [
        {"id": c.id, "stepId": c.step_id, "fieldPath": c.field_path, "label": c.label}
        for c in columns
    ]


def execution_payload(
    planned: PlannedExecution, timeline: RunTimeline, ids: TrigifyIds
) -> dict[str, Json]:
    """``data`` of ``GET /v1/workflows/{id}/executions/{runId}``."""
    plan = timeline.plan
    started, finished = planned.started_us, timeline.finished_us
    status = execution_status(timeline)
    ended = None if status == "running" or finished is None else finished
    return {
        "id": ids.execution_id(plan.run_id),
        "run_id": plan.run_id,
        "workflow_id": plan.workflow_id,
        "status": status,
        "started_at": iso_millis(started),
        "ended_at": None if ended is None else iso_millis(ended),
        "duration_ms": None if ended is None else millis(ended) - millis(started),
        "event_name": planned.workflow.trigger_kind,
        "created": iso_millis(started),
        "column_config": columns_payload(planned.workflow.columns),
        "steps": steps_payload(planned, timeline),
        "error": execution_error(timeline),
    }


def list_item(planned: PlannedExecution, timeline: RunTimeline) -> dict[str, Json]:
    """One element of ``data.executions``: the detail's values under the list's names."""
    started, finished = planned.started_us, timeline.finished_us
    status = execution_status(timeline)
    ended = None if status == "running" or finished is None else finished
    return {
        "run_id": timeline.plan.run_id,
        "status": status,
        "started_at": iso_millis(started),
        "completed_at": None if ended is None else iso_millis(ended),
        "duration": None if ended is None else millis(ended) - millis(started),
        "error": execution_error(timeline),
    }


def definition_payload(workflow: Workflow) -> dict[str, Json]:
    """The ``workflow`` definition: trigger, actions, edges (and canvas notes if any)."""
    edges: list[dict[str, Json]] = []
    for edge in workflow.edges:
        item: dict[str, Json] = {"from": edge.source, "to": edge.target}
        if edge.name is not None:
            item["name"] = edge.name
        if edge.conditional is not None:
            item["conditional"] = {"type": edge.conditional[0], "ref": edge.conditional[1]}
        edges.append(item)
    definition: dict[str, Json] = {
        "trigger": {"kind": workflow.trigger_kind, "inputs": dict(workflow.trigger_inputs)},
        "actions": [
            {"id": a.id, "kind": a.kind, "name": a.name, "inputs": dict(a.inputs)}
            for a in workflow.actions
        ],
        "edges": edges,
    }
    if workflow.notes:
        definition["nodes"] = [dict(note) for note in workflow.notes]
    return definition


def workflow_payload(
    workflow: Workflow, workflow_id: str, state: WorkflowState, ids: TrigifyIds
) -> dict[str, Json]:
    """A workflow object (``data`` of get, item of list)."""
    watches_posts = workflow.trigger_kind in (
        "workflows/new-post",
        "workflows/engagement",
        "workflows/multi-post-trigger",
    )
    return {
        "id": workflow_id,
        "name": workflow.name,
        "description": workflow.description,
        "workflow": definition_payload(workflow),
        "enabled": state.enabled,
        "status": "PUBLISHED" if state.published else "DRAFT",
        "social_saved_search_id": ids.saved_search_id(workflow_id) if watches_posts else None,
        "created": iso_millis(state.created_us),
        "updated": iso_millis(state.updated_us),
    }
