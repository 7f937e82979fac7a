"""Where runs and steps sit in each response, what their fields are called, and the vendor rules.

The semantic and consistency checks are written once, against ``Entity`` views; this module
maps each API's payloads onto them. Every rule names whether it is *normative* (the vendor
documents it) or *inferred* (stepspec's reading of examples or field names, reported as a
warning unless ``--strict``), with the reason beside it.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, Literal

Kind = Literal["run", "run_item", "step"]
DurationRule = Literal["ms", "floor_seconds"]


@dataclass(frozen=True)
class Fields:
    """Field names of one kind of entity in one API, and its duration rule."""

    start: str
    end: str
    duration: str
    rule: DurationRule
    duration_inferred: bool
    """Kibana documents ``executionTimeMs = finishedAt - startedAt``; the rest is inferred."""
    status: str = "status"
    error: str = "error"
    ident: str = "id"


@dataclass(frozen=True)
class Entity:
    """A run or step found in a response body."""

    kind: Kind
    path: str
    """JSON path of the object in the body."""
    value: dict[str, Any]
    fields: Fields
    parent: Entity | None = None
    """The run a step was embedded in, when it was."""


FIELDS: dict[tuple[str, Kind], Fields] = {
    ("kibana", "step"): Fields("startedAt", "finishedAt", "executionTimeMs", "ms", False),
    ("kibana", "run"): Fields("startedAt", "finishedAt", "duration", "ms", True),
    ("kibana", "run_item"): Fields("startedAt", "finishedAt", "duration", "ms", True),
    ("arcee", "step"): Fields("start_time", "end_time", "elapsed_time", "floor_seconds", True),
    ("arcee", "run"): Fields("start_time", "end_time", "elapsed_time", "floor_seconds", True),
    ("arcee", "run_item"): Fields("start_time", "end_time", "elapsed_time", "floor_seconds", True),
    ("trigify", "step"): Fields(
        "started_at", "ended_at", "duration_ms", "ms", True, ident="step_id"
    ),
    ("trigify", "run"): Fields("started_at", "ended_at", "duration_ms", "ms", True, ident="run_id"),
    ("trigify", "run_item"): Fields(
        "started_at", "completed_at", "duration", "ms", True, ident="run_id"
    ),
}

TERMINAL: dict[str, frozenset[str]] = {
    "kibana": frozenset({"completed", "failed", "cancelled", "timed_out", "skipped"}),
    # Arcee documents no cancel operation and no status list; `cancelled` is not assumed
    # (specs/arcee/status.json lists pending, running, completed, failed).
    "arcee": frozenset({"completed", "failed"}),
    "trigify": frozenset({"completed", "failed", "skipped"}),
}
NOT_STARTED = frozenset({"pending", "queued", "skipped"})
"""Statuses of a step that never ran: terminal or not, it need not have an end time."""
RECOVERY_ERRORS = frozenset({"TaskRecoveryError", "TaskAttemptsExhaustedError"})
"""Kibana error types of runs failed by Task Manager's recovery: it stamps the run's
``finishedAt`` first, then searches the unfinished steps and stamps them later
(``workflows_execution_engine/server/lib/task_recovery.ts``, ``markNonTerminalStepsFailed``)."""


def end_time_optional(api: str, entity: Entity, status: str) -> bool:
    """Whether an entity in terminal ``status`` may lack an end time.

    A step that never ran (``NOT_STARTED``) never gets one. Kibana never writes ``finishedAt``
    on a cancelled step (``cancel_workflow_if_requested.ts`` upserts only the status), nor on a
    run cancelled while still pending (``cancel_workflow.ts`` moves ``PENDING`` straight to
    ``CANCELLED``, so it has no ``startedAt`` either).
    """
    if status in NOT_STARTED:
        return True
    if api == "kibana" and status == "cancelled":
        return entity.kind == "step" or not has_value(entity, entity.fields.start)
    return False


def recovered(entity: Entity) -> bool:
    """Whether a Kibana step or its run was failed by task recovery (see ``RECOVERY_ERRORS``)."""
    for node in (entity, entity.parent):
        error = node.value.get("error") if node is not None else None
        if isinstance(error, dict) and error.get("type") in RECOVERY_ERRORS:
            return True
    return False


# Rule strength: True = inferred (warning unless --strict). Keys: (rule, api).
INFERRED: dict[tuple[str, str], bool] = {
    # Trigify documents the top-level `error` as "the error if the run failed".
    ("failed_has_error", "kibana"): True,
    ("failed_has_error", "arcee"): True,
    ("failed_has_error", "trigify"): False,
    # A finished run or step has a finish time: Kibana's types require finishedAt on
    # executions and Trigify documents end times as null only while running.
    ("terminal_has_end", "kibana"): False,
    ("terminal_has_end", "arcee"): True,
    ("terminal_has_end", "trigify"): False,
    # Kibana: "absent while running" is [inferred]; Trigify documents null while running.
    ("running_has_no_end", "kibana"): True,
    ("running_has_no_end", "arcee"): True,
    ("running_has_no_end", "trigify"): False,
    # Steps apart from runs: Trigify documents a step's `ended_at` as `string | null` and says
    # "null while running" only of runs, so for its steps the rule is a reading of the run-level
    # documentation (a `failed` step may lack it altogether: `timed_out_without_end`).
    ("step_terminal_has_end", "kibana"): False,
    ("step_terminal_has_end", "arcee"): True,
    ("step_terminal_has_end", "trigify"): True,
}

# operationId -> (path to the object or list, kind, where embedded steps sit)
LAYOUT: dict[str, dict[str, tuple[tuple[str, ...], Kind, bool, tuple[str, ...] | None]]] = {
    "kibana": {
        "getStepExecution": ((), "step", False, None),
        "getExecution": ((), "run", False, ("stepExecutions",)),
        "getExecutionSteps": (("results",), "step", True, None),
        "getWorkflowExecutions": (("results",), "run_item", True, None),
        "getWorkflowStepExecutions": (("results",), "step", True, None),
    },
    "arcee": {
        "executionHistory": ((), "run_item", True, None),
        "getRun": ((), "run", False, None),
        "getRunSteps": ((), "step", True, None),
    },
    "trigify": {
        "listWorkflowExecutions": (("data", "executions"), "run_item", True, None),
        "getWorkflowExecution": (("data",), "run", False, ("steps",)),
    },
}


def entities(api: str, operation_id: str, body: Any) -> list[Entity]:
    """The runs and steps in ``body`` (the response of ``operation_id``)."""
    layout = LAYOUT.get(api, {}).get(operation_id.removesuffix("InSpace"))
    if layout is None:
        return []
    keys, kind, is_list, embedded = layout
    node, path = body, "$"
    for key in keys:
        if not isinstance(node, dict):
            return []
        node, path = node.get(key), f"{path}.{key}"
    if kind == "run" and isinstance(node, list) and len(node) == 1:  # Arcee's one-run list
        node, path = node[0], f"{path}[0]"
    found: list[Entity] = []
    if is_list:
        for index, item in enumerate(node if isinstance(node, list) else []):
            if isinstance(item, dict):
                found.append(Entity(kind, f"{path}[{index}]", item, FIELDS[(api, kind)]))
        return found
    if not isinstance(node, dict):
        return []
    top = Entity(kind, path, node, FIELDS[(api, kind)])
    found.append(top)
    if embedded is not None:
        inner: Any = node
        inner_path = path
        for key in embedded:
            inner = inner.get(key) if isinstance(inner, dict) else None
            inner_path = f"{inner_path}.{key}"
        for index, item in enumerate(inner if isinstance(inner, list) else []):
            if isinstance(item, dict):
                found.append(
                    Entity("step", f"{inner_path}[{index}]", item, FIELDS[(api, "step")], top)
                )
    return found


def steps_of(entities_: list[Entity]) -> Iterator[list[Entity]]:
    """Groups of steps that form one run's ordered list (embedded, or a whole steps list)."""
    embedded = [e for e in entities_ if e.kind == "step" and e.parent is not None]
    if embedded:
        yield embedded
    listed = [e for e in entities_ if e.kind == "step" and e.parent is None]
    if len(listed) > 1:
        yield listed


def timestamp(value: Any) -> dt.datetime | None:
    """An ISO 8601 timestamp with a zone, or None if ``value`` is not one."""
    if not isinstance(value, str) or "T" not in value:
        return None
    try:
        parsed = dt.datetime.fromisoformat(value)
    except ValueError:
        return None
    return parsed if parsed.tzinfo is not None else None


def expected_duration(rule: DurationRule, start: dt.datetime, end: dt.datetime) -> int:
    """The duration a vendor reports for ``start``..``end`` (ms, or whole seconds rounded down)."""
    micros = (end - start) // dt.timedelta(microseconds=1)
    if rule == "ms":
        return round(micros / 1000)
    return micros // 1_000_000


def entity_key(entity: Entity) -> str | None:
    """The identity of a run or step across polls: its id, plus the loop ``iteration`` if any.

    Trigify's loop steps repeat one ``step_id`` with ``iteration``/``totalItems`` (Trigify's
    ``trigify/skills`` loop workflows; Clive's execution log, "Workflow with Batch Loop"), so
    its id alone would make iteration 2 look like iteration 1 changing.
    """
    ident = entity.value.get(entity.fields.ident)
    if not isinstance(ident, str | int) or isinstance(ident, bool):
        return None
    iteration = entity.value.get("iteration")
    if entity.kind == "step" and isinstance(iteration, int) and not isinstance(iteration, bool):
        return f"{ident}#{iteration}"
    return str(ident)


def timed_out_without_end(api: str, entity: Entity, status: str) -> bool:
    """Whether a Trigify step is an action that timed out: ``failed`` and never given an end.

    Trigify's engine leaves ``endedAt`` unset on a step whose action timed out (Clive's
    debugging guide, a Trigify engineer's: "Action timed out or step has no endedAt with FAILED
    status"); the public API maps it to ``ended_at: null`` (EXEC-DETAIL: ``string | null``).
    """
    return (
        api == "trigify"
        and entity.kind == "step"
        and status == "failed"
        and not has_value(entity, entity.fields.end)
    )


def end_rule_inferred(api: str, kind: Kind) -> bool:
    """Whether "a terminal run or step has an end time" is only inferred for ``kind``."""
    if kind == "step":
        return INFERRED[("step_terminal_has_end", api)]
    return INFERRED[("terminal_has_end", api)]


def has_value(entity: Entity, name: str) -> bool:
    """Whether the field is present and not null/empty."""
    value = entity.value.get(name)
    return value is not None and value != "" and value != {}
