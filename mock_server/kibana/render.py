"""Kibana payloads rendered from vendor-neutral run timelines.

One function per payload: ``step_execution`` (``EsWorkflowStepExecution``, the body of
``GET .../step/{id}`` and the item of every step list), ``execution`` (the detail document) and
``list_item`` (``WorkflowExecutionListItemDto``), plus ``workflow_item`` for ``GET
/api/workflows``. Rules that make them coherent:

- timestamps are ``iso_millis`` of the timeline's microseconds; ``executionTimeMs`` and
  ``duration`` are computed from the *rendered* milliseconds (finished - started);
- a step or run that has not finished has no ``finishedAt`` (and ``duration: null``);
- ``globalExecutionIndex`` is the step's position in the run, ``stepExecutionIndex`` its
  iteration (nth execution of the same ``stepId``), ``topologicalIndex`` its place in the YAML;
- step lists leave out ``input`` and ``output`` and nothing else, so a step alone equals the
  step in its execution and in every list apart from those two keys.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from mock_server._timeline import (
    ErrorInfo,
    RunTimeline,
    ScopeFrame,
    Status,
    StepRun,
    iso_millis,
)
from mock_server.kibana._templates import HITL_TYPES

Json = Any
OMITTED_IN_LISTS = ("input", "output")


def ms(us: int) -> int:
    """Whole milliseconds of a microsecond timestamp (what ``iso_millis`` shows)."""
    return us // 1000


def error(info: ErrorInfo | None) -> dict[str, Json] | None:
    """A ``SerializedError`` (``{type, message, details?}``) or None."""
    if info is None:
        return None
    out: dict[str, Json] = {"type": info.type, "message": info.message}
    if info.details:
        out["details"] = dict(info.details)
    return out


def scope_stack(frames: tuple[ScopeFrame, ...]) -> list[dict[str, Json]]:
    """Kibana ``StackFrame[]``."""
    return [
        {
            "stepId": frame.step_id,
            "nestedScopes": [
                {"nodeId": e.node_id, "nodeType": e.node_type}
                | ({"scopeId": e.scope_id} if e.scope_id is not None else {})
                for e in frame.nested_scopes
            ],
        }
        for frame in frames
    ]


def step_execution(
    timeline: RunTimeline, step: StepRun, step_id: str, *, with_io: bool = True
) -> dict[str, Json]:
    """One step execution; ``with_io=False`` leaves out ``input``/``output`` (lists)."""
    plan, run = step.plan, timeline.plan
    assert step.started_us is not None, "only started steps have a step execution"
    out: dict[str, Json] = {
        "id": step_id,
        "stepId": plan.step_key,
        "stepType": plan.kind,
        "workflowRunId": run.run_id,
        "workflowId": run.workflow_id,
        "spaceId": run.space_id,
        "status": str(step.status),
        "isTestRun": run.is_test,
        "startedAt": iso_millis(step.started_us),
    }
    if step.finished_us is not None:
        out["finishedAt"] = iso_millis(step.finished_us)
        out["executionTimeMs"] = ms(step.finished_us) - ms(step.started_us)
    out["topologicalIndex"] = plan.topological_index
    out["globalExecutionIndex"] = step.position
    out["stepExecutionIndex"] = plan.iteration
    if with_io:
        out["input"] = plan.input
        out["output"] = step.output
    out["error"] = error(step.error)
    out["state"] = _state(step)
    out["scopeStack"] = scope_stack(plan.scope)
    if step.hitl is not None and plan.kind in HITL_TYPES:
        out["hitl"] = {
            "respondedBy": step.hitl.responded_by,
            "respondedAt": iso_millis(step.hitl.responded_us),
            "channel": step.hitl.channel,
        }
    usage = plan.extra.get("usage")
    if usage is not None and step.finished_us is not None and step.status is Status.COMPLETED:
        out["usage"] = dict(usage)
    return out


def _state(step: StepRun) -> dict[str, Json] | None:
    if step.plan.kind == "wait" and step.started_us is not None:
        return {"resumeAt": iso_millis(step.started_us + step.plan.duration_us)}
    if step.plan.kind == "foreach" and isinstance(step.output, Mapping):
        return {"items": step.output.get("items"), "index": 0}
    return None


def strip_io(
    payload: Mapping[str, Json], *, keep_input: bool, keep_output: bool
) -> dict[str, Json]:
    """``payload`` without ``input``/``output`` unless asked to keep them."""
    return {
        key: value
        for key, value in payload.items()
        if (key != "input" or keep_input) and (key != "output" or keep_output)
    }


def run_times(timeline: RunTimeline) -> tuple[str, str | None, int | None]:
    """``startedAt``, ``finishedAt`` (None while running) and ``duration`` (ms or None)."""
    started = timeline.plan.started_us
    finished = timeline.finished_us
    if finished is None:
        return iso_millis(started), None, None
    return iso_millis(started), iso_millis(finished), ms(finished) - ms(started)


def list_item(timeline: RunTimeline) -> dict[str, Json]:
    """``WorkflowExecutionListItemDto``."""
    run = timeline.plan
    started, finished, duration = run_times(timeline)
    out: dict[str, Json] = {
        "spaceId": run.space_id,
        "id": run.run_id,
        "status": str(timeline.status),
        "error": error(timeline.error),
        "isTestRun": run.is_test,
        "startedAt": started,
    }
    if finished is not None:
        out["finishedAt"] = finished
    out["duration"] = duration
    out["workflowId"] = run.workflow_id
    out["workflowName"] = run.workflow_name
    out["triggeredBy"] = run.triggered_by
    out["executedBy"] = run.executed_by
    return out


def execution(
    timeline: RunTimeline,
    steps: list[dict[str, Json]],
    *,
    definition: Mapping[str, Json],
    yaml: str,
    cancelled_by: str | None = None,
    ephemeral: bool = False,
) -> dict[str, Json]:
    """The execution detail document; ``steps`` are the rendered step executions."""
    run = timeline.plan
    started, finished, duration = run_times(timeline)
    out: dict[str, Json] = {
        "id": run.run_id,
        "spaceId": run.space_id,
        "status": str(timeline.status),
        "isTestRun": run.is_test,
        "startedAt": started,
    }
    if finished is not None:
        out["finishedAt"] = finished
    out["duration"] = duration
    out["error"] = error(timeline.error)
    out["workflowId"] = run.workflow_id
    out["workflowName"] = run.workflow_name
    if ephemeral:
        out["isEphemeral"] = True
    out["workflowDefinition"] = dict(definition)
    out["yaml"] = yaml
    out["executedBy"] = run.executed_by
    out["createdBy"] = run.executed_by
    out["triggeredBy"] = run.triggered_by
    out["createdAt"] = started
    cancelled = timeline.status is Status.CANCELLED
    out["cancelRequested"] = cancelled
    if cancelled and timeline.finished_us is not None:
        out["cancelledAt"] = iso_millis(timeline.finished_us)
        out["cancelledBy"] = cancelled_by or run.executed_by
        out["cancellationReason"] = "Cancelled by user"
    out["context"] = {"inputs": dict(run.inputs)}
    out["scopeStack"] = []
    out["stepExecutionIds"] = [step["id"] for step in steps]
    out["stepExecutions"] = steps
    return out


def workflow_item(
    workflow_id: str,
    definition: Mapping[str, Json],
    yaml: str,
    *,
    created: str,
    created_by: str,
    updated: str,
    updated_by: str,
) -> dict[str, Json]:
    """An item of ``GET /api/workflows``."""
    return {
        "id": workflow_id,
        "name": definition.get("name"),
        "description": definition.get("description", ""),
        "enabled": bool(definition.get("enabled", True)),
        "tags": list(definition.get("tags", [])),
        "createdAt": created,
        "createdBy": created_by,
        "lastUpdatedAt": updated,
        "lastUpdatedBy": updated_by,
        "valid": True,
        "definition": dict(definition),
        "yaml": yaml,
    }
