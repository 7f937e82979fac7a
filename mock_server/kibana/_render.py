"""Kibana payloads rendered from vendor-neutral run timelines.

One function per payload: ``step_execution`` (``EsWorkflowStepExecution``, the body of
``GET .../step/{id}`` and the item of every step list), ``execution`` (the detail document) and
``list_item`` (``WorkflowExecutionListItemDto``), plus ``workflow_item`` for ``GET
/api/workflows``. Rules that make them coherent:

- timestamps are ``iso_millis`` of the timeline's microseconds; ``executionTimeMs`` and
  ``duration`` are computed from the *rendered* milliseconds (finished - started);
- a step or run that has not finished has no ``finishedAt`` (and ``duration: null``); a run
  that never began (pending, queued, skipped, cancelled before it was picked up) has neither
  ``startedAt`` nor ``finishedAt`` nor ``duration`` (``build_workflow_execution_document.ts``,
  ``cancel_workflow.ts``);
- a cancelled step keeps its ``startedAt`` and never gets ``finishedAt``; when a cancel lands
  between two steps, the node that would have run next gets a document with only its status,
  ids and indices (``cancel_workflow_if_requested.ts``);
- a run failed by task recovery has ``finishedAt`` but no ``duration``, and its unfinished step
  is stamped ``failed`` a little later than the run (``task_recovery.ts``,
  ``markNonTerminalStepsFailed``);
- ``globalExecutionIndex`` is the step's position in the run, ``stepExecutionIndex`` its
  iteration (nth execution of the same ``stepId``), ``topologicalIndex`` its place in the YAML;
- step lists leave out ``input`` and ``output`` and nothing else, so a step alone equals the
  step in its execution and in every list apart from those two keys.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from mock_server._stamp import iso_millis
from mock_server._stamp import millis as ms
from mock_server._timeline import (
    ErrorInfo,
    RunTimeline,
    ScopeEntry,
    ScopeFrame,
    Status,
    StepRun,
)
from mock_server.kibana._templates import HITL_TYPES

Json = Any
OMITTED_IN_LISTS = ("input", "output")
RECOVERY_ERROR = "TaskRecoveryError"
RECOVERY_MESSAGE = (
    "Execution abandoned due to recovery mechanism. The workflow run task was interrupted "
    "before completion."
)
RECOVERY_LAG_US = 24_000
"""Task recovery stamps the run, then searches its unfinished steps and stamps them later."""
_CANCELLED, _FAILED, _COMPLETED = Status.CANCELLED, Status.FAILED, Status.COMPLETED
"""Statuses ``step_execution`` compares with, as module globals: on Python 3.11 reading an enum
member off its class costs several times a global lookup."""


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
        {"stepId": frame.step_id, "nestedScopes": [_scope(e) for e in frame.nested_scopes]}
        for frame in frames
    ]


def _scope(entry: ScopeEntry) -> dict[str, Json]:
    """One ``nestedScopes`` item: ``scopeId`` only when the scope has one."""
    out = {"nodeId": entry.node_id, "nodeType": entry.node_type}
    if entry.scope_id is not None:
        out["scopeId"] = entry.scope_id
    return out


def recovered(timeline: RunTimeline) -> bool:
    """Whether the run was failed by Task Manager recovery (finished, but no ``duration``)."""
    return timeline.error is not None and timeline.error.type == RECOVERY_ERROR


def shown_steps(timeline: RunTimeline) -> tuple[StepRun, ...]:
    """The steps that have a step document: those that began, plus the node a cancel landed
    before (``cancel_workflow_if_requested.ts`` upserts it as ``cancelled``)."""
    started = timeline.started_steps
    if timeline.status is not Status.CANCELLED or not timeline.run_started:
        return started
    if any(step.status is Status.CANCELLED for step in started):
        return started
    boundary = next((step for step in timeline.steps if not step.started), None)
    return started if boundary is None else (*started, boundary)


def step_execution(
    timeline: RunTimeline, step: StepRun, step_id: str, *, with_io: bool = True
) -> dict[str, Json]:
    """One step execution; ``with_io=False`` leaves out ``input``/``output`` (lists)."""
    plan, run = step.plan, timeline.plan
    started, finished, status = step.started_us, step.finished_us, step.status
    if started is None:
        return _cancelled_before_start(timeline, step, step_id)
    out: dict[str, Json] = {
        "id": step_id,
        "stepId": plan.step_key,
        "stepType": plan.kind,
        "workflowRunId": run.run_id,
        "workflowId": run.workflow_id,
        "spaceId": run.space_id,
        "status": str(status),
        "isTestRun": run.is_test,
        "startedAt": iso_millis(started),
    }
    if finished is not None and status is not _CANCELLED:
        if status is _FAILED and recovered(timeline):
            out["finishedAt"] = iso_millis(finished + RECOVERY_LAG_US)
        else:
            out["finishedAt"] = iso_millis(finished)
            out["executionTimeMs"] = ms(finished) - ms(started)
    out["topologicalIndex"] = plan.topological_index
    out["globalExecutionIndex"] = step.position
    out["stepExecutionIndex"] = plan.iteration
    if with_io:
        out["input"] = plan.input
        out["output"] = step.output
    out["error"] = None if step.error is None else error(step.error)
    out["state"] = _state(step) if plan.kind in _STATEFUL else None
    out["scopeStack"] = scope_stack(plan.scope) if plan.scope else []
    if step.hitl is not None and plan.kind in HITL_TYPES:
        out["hitl"] = {
            "respondedBy": step.hitl.responded_by,
            "respondedAt": iso_millis(step.hitl.responded_us),
            "channel": step.hitl.channel,
        }
    if plan.extra:
        usage = plan.extra.get("usage")
        if usage is not None and finished is not None and status is _COMPLETED:
            out["usage"] = dict(usage)
    return out


def _cancelled_before_start(timeline: RunTimeline, step: StepRun, step_id: str) -> dict[str, Json]:
    """What ``createStep`` makes of the cancel's upsert: status, ids, indices and scope."""
    run = timeline.plan
    return {
        "id": step_id,
        "stepId": step.plan.step_key,
        "stepType": step.plan.kind,
        "scopeStack": scope_stack(step.plan.scope),
        "status": str(Status.CANCELLED),
        "globalExecutionIndex": step.position,
        "stepExecutionIndex": step.plan.iteration,
        "workflowRunId": run.run_id,
        "workflowId": run.workflow_id,
        "spaceId": run.space_id,
    }


_STATEFUL = frozenset({"wait", "foreach"})
"""Step types whose document carries a ``state`` (``_state``); every other has ``state: null``."""


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


def run_times(timeline: RunTimeline) -> dict[str, Json]:
    """``startedAt``, ``finishedAt`` and ``duration`` as the stored document has them: nothing
    for a run that never began; ``duration: null`` while running; no ``duration`` after task
    recovery."""
    if not timeline.run_started:
        return {}
    started = timeline.plan.started_us
    finished = timeline.finished_us
    out: dict[str, Json] = {"startedAt": iso_millis(started)}
    if finished is None:
        out["duration"] = None
        return out
    out["finishedAt"] = iso_millis(finished)
    if not recovered(timeline):
        out["duration"] = ms(finished) - ms(started)
    return out


def created_us(timeline: RunTimeline) -> int:
    """When the run's document was created (``createdAt``)."""
    run = timeline.plan
    return run.created_us if run.created_us is not None else run.started_us


def list_item(timeline: RunTimeline) -> dict[str, Json]:
    """``WorkflowExecutionListItemDto``."""
    run = timeline.plan
    out: dict[str, Json] = {
        "spaceId": run.space_id,
        "id": run.run_id,
        "status": str(timeline.status),
        "error": error(timeline.error),
        "isTestRun": run.is_test,
    }
    out.update(run_times(timeline))
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
    out: dict[str, Json] = {
        "id": run.run_id,
        "spaceId": run.space_id,
        "status": str(timeline.status),
        "isTestRun": run.is_test,
    }
    out.update(run_times(timeline))
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
    out["createdAt"] = iso_millis(created_us(timeline))
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
