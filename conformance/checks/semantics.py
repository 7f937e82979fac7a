"""Semantic checks: the values of one response agree with each other.

Timestamps are ordered, durations match timestamps by each vendor's rule (Kibana and Trigify
in milliseconds, Arcee in whole seconds rounded down), statuses agree with errors and end
times, and step indexes are ordered. Rule strengths (normative or inferred) are listed in
``_vendors``; inferred ones are warnings unless ``--strict``.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from typing import TYPE_CHECKING

from conformance._context import NOT_JSON
from conformance._operations import ApiProfile
from conformance.checks import _vendors
from conformance.checks._registry import check
from conformance.findings import Finding, short

if TYPE_CHECKING:
    from conformance._context import Context, Exchange
    from conformance._specs import Operation


def _has_entities(profile: ApiProfile, operation: Operation) -> bool:
    return operation.method == "get" and bool(
        _vendors.LAYOUT.get(profile.api, {}).get(operation.operation_id)
    )


def _has_steps(profile: ApiProfile, operation: Operation) -> bool:
    layout = _vendors.LAYOUT.get(profile.api, {}).get(operation.operation_id)
    return layout is not None and (layout[1] == "step" or layout[3] is not None)


def _entities(ctx: Context, exchange: Exchange) -> list[_vendors.Entity]:
    if exchange.json is NOT_JSON:
        return []
    return _vendors.entities(ctx.profile.api, exchange.operation.operation_id, exchange.json)


@check(
    "timestamps_ordered",
    description="A run or step does not end before it starts; embedded steps lie within "
    "their run (inferred).",
    family="semantics",
    source=(
        "Kibana: elastic/kibana:src/platform/plugins/shared/workflows_execution_engine/"
        "server/workflow_context_manager/workflow_execution_runtime_manager.ts@00288e3f "
        "(start, saveState) and elastic/kibana:src/platform/plugins/shared/"
        "workflows_execution_engine/server/workflow_context_manager/"
        "step_execution_runtime.ts@main (startStep, finishStep), elastic/kibana:src/"
        "platform/plugins/shared/workflows_execution_engine/server/lib/task_recovery.ts@03e4a1e8 "
        "(recovery stamps steps after their run); https://docs.trigify.io/"
        "api-reference/workflows/execution; https://docs.arcee.ai/arcee-orchestra/"
        "workflows/api-invocation/workflow-runs-api (ordering inferred)"
    ),
    scope="response",
    statuses="2xx",
    applies=_has_entities,
)
def timestamps_ordered(ctx: Context, exchange: Exchange) -> Iterator[Finding]:
    for entity in _entities(ctx, exchange):
        f = entity.fields
        start = _vendors.timestamp(entity.value.get(f.start))
        end = _vendors.timestamp(entity.value.get(f.end))
        if start is not None and end is not None and end < start:
            yield ctx.finding(
                exchange,
                "ends before it starts",
                f"{entity.path}.{f.end}",
                f"{f.end} >= {f.start} ({entity.value.get(f.start)})",
                short(entity.value.get(f.end)),
                inferred=False,
            )
        parent = entity.parent
        if parent is None or start is None:
            continue
        run_start = _vendors.timestamp(parent.value.get(parent.fields.start))
        run_end = _vendors.timestamp(parent.value.get(parent.fields.end))
        if run_start is not None and start < run_start:
            yield ctx.finding(
                exchange,
                "step starts before its run",
                f"{entity.path}.{f.start}",
                f">= the run's {parent.fields.start} {parent.value.get(parent.fields.start)}",
                short(entity.value.get(f.start)),
                inferred=True,
            )
        if run_end is not None and end is not None and end > run_end:
            if ctx.profile.api == "kibana" and _vendors.recovered(entity):
                continue  # task recovery stamps the run, then its steps (see RECOVERY_ERRORS)
            yield ctx.finding(
                exchange,
                "step ends after its run",
                f"{entity.path}.{f.end}",
                f"<= the run's {parent.fields.end} {parent.value.get(parent.fields.end)}",
                short(entity.value.get(f.end)),
                inferred=True,
            )


@check(
    "durations_agree",
    description="A reported duration equals end minus start by the vendor's rule: Kibana "
    "`executionTimeMs` and `duration` and Trigify `duration_ms`/`duration` in milliseconds, "
    "Arcee `elapsed_time` in whole seconds rounded down (all but Kibana's step rule inferred).",
    family="semantics",
    source=(
        "Kibana: elastic/kibana:src/platform/plugins/shared/workflows_execution_engine/"
        "server/workflow_context_manager/workflow_execution_runtime_manager.ts@00288e3f "
        "(duration = finishedAt - startedAt) and elastic/kibana:src/platform/plugins/"
        "shared/workflows_execution_engine/server/workflow_context_manager/"
        "step_execution_runtime.ts@main (executionTimeMs); https://docs.trigify.io/"
        "api-reference/workflows/execution; https://docs.arcee.ai/arcee-orchestra/"
        "workflows/api-invocation/workflow-runs-api"
    ),
    scope="response",
    statuses="2xx",
    applies=_has_entities,
)
def durations_agree(ctx: Context, exchange: Exchange) -> Iterator[Finding]:
    for entity in _entities(ctx, exchange):
        f = entity.fields
        start = _vendors.timestamp(entity.value.get(f.start))
        end = _vendors.timestamp(entity.value.get(f.end))
        duration = entity.value.get(f.duration)
        if start is None or end is None or end < start:
            continue
        if not isinstance(duration, int | float) or isinstance(duration, bool):
            continue
        expected = _vendors.expected_duration(f.rule, start, end)
        tolerance = 1 if f.rule == "ms" else 0
        if abs(duration - expected) > tolerance:
            unit = "ms" if f.rule == "ms" else "whole seconds, rounded down"
            yield ctx.finding(
                exchange,
                "duration contradicts the timestamps",
                f"{entity.path}.{f.duration}",
                f"{expected} ({f.end} - {f.start} in {unit})",
                short(duration),
                inferred=f.duration_inferred,
            )


@check(
    "status_error_coherent",
    description="A failed run or step carries an error; a completed one carries none "
    "(normative for Trigify runs, inferred elsewhere).",
    family="semantics",
    source=(
        "Kibana: elastic/kibana:src/platform/plugins/shared/workflows_execution_engine/"
        "server/workflow_context_manager/step_execution_runtime.ts@main (failStep writes "
        "error) and elastic/kibana:src/platform/plugins/shared/"
        "workflows_execution_engine/server/lib/task_recovery.ts@03e4a1e8; https://"
        "docs.trigify.io/api-reference/workflows/execution; https://docs.arcee.ai/"
        "arcee-orchestra/workflows/api-invocation/workflow-runs-api (inferred)"
    ),
    scope="response",
    statuses="2xx",
    applies=_has_entities,
)
def status_error_coherent(ctx: Context, exchange: Exchange) -> Iterator[Finding]:
    api = ctx.profile.api
    for entity in _entities(ctx, exchange):
        f = entity.fields
        status = entity.value.get(f.status)
        has_error = _vendors.has_value(entity, f.error)
        if status == "failed" and not has_error:
            inferred = entity.kind == "step" or _vendors.INFERRED[("failed_has_error", api)]
            yield ctx.finding(
                exchange,
                "failed without an error",
                f"{entity.path}.{f.error}",
                "an error describing the failure",
                short(entity.value.get(f.error, "(absent)")),
                inferred=inferred,
            )
        elif status == "completed" and has_error:
            yield ctx.finding(
                exchange,
                "completed with an error",
                f"{entity.path}.{f.error}",
                "no error (null or absent)",
                short(entity.value.get(f.error)),
                inferred=True,
            )


@check(
    "terminal_has_end_time",
    description="A run or step in a terminal state has an end time (not one that never ran; "
    "not a Kibana cancelled step, nor a Kibana run cancelled before it started); one still "
    "running has none (rule strength per vendor, see the report).",
    family="semantics",
    source=(
        "Kibana: elastic/kibana:src/platform/plugins/shared/workflows_execution_engine/"
        "server/workflow_context_manager/workflow_execution_runtime_manager.ts@00288e3f "
        "(saveState), elastic/kibana:src/platform/plugins/shared/"
        "workflows_execution_engine/server/workflow_context_manager/"
        "step_execution_runtime.ts@main (finishStep, failStep), elastic/kibana:src/"
        "platform/plugins/shared/workflows_execution_engine/server/"
        "workflow_execution_loop/cancel_workflow_if_requested.ts@0ad9415f (cancelled "
        "steps get no end time), elastic/kibana:src/platform/plugins/shared/"
        "workflows_execution_engine/server/execution_functions/cancel_workflow.ts@03e4a1e8 "
        "(a pending run is cancelled without ever starting); https://docs.trigify.io/api-reference/workflows/"
        "execution; https://docs.arcee.ai/arcee-orchestra/workflows/api-invocation/"
        "workflow-runs-api"
    ),
    scope="response",
    statuses="2xx",
    applies=_has_entities,
)
def terminal_has_end_time(ctx: Context, exchange: Exchange) -> Iterator[Finding]:
    api = ctx.profile.api
    terminal = _vendors.TERMINAL[api]
    for entity in _entities(ctx, exchange):
        f = entity.fields
        status = entity.value.get(f.status)
        if not isinstance(status, str):
            continue
        if _vendors.timed_out_without_end(api, entity, status):
            continue  # a Trigify action that timed out: failed, no ended_at (see _vendors)
        has_end = _vendors.has_value(entity, f.end)
        if status in terminal and not has_end:
            if _vendors.end_time_optional(api, entity, status):
                continue  # never ran, or a Kibana cancel that writes no end time
            yield ctx.finding(
                exchange,
                "terminal state without an end time",
                f"{entity.path}.{f.end}",
                f"an end time for status {status!r}",
                short(entity.value.get(f.end, "(absent)")),
                inferred=_vendors.end_rule_inferred(api, entity.kind),
            )
        elif status in ("running", "pending", "queued") and has_end:
            yield ctx.finding(
                exchange,
                "end time while still running",
                f"{entity.path}.{f.end}",
                f"no end time for status {status!r}",
                short(entity.value.get(f.end)),
                inferred=_vendors.INFERRED[("running_has_no_end", api)],
            )


@check(
    "indexes_ordered",
    description="A run's steps are listed in execution order: Kibana `globalExecutionIndex` "
    "unique (normative) and ascending, `stepExecutionIndex` counting 0, 1, ... per `stepId`; "
    "elsewhere start times non-decreasing (inferred).",
    family="semantics",
    source=(
        "Kibana: createStep in elastic/kibana:src/platform/plugins/shared/"
        "workflows_execution_engine/server/workflow_context_manager/"
        "workflow_execution_state.ts@main (globalExecutionIndex, stepExecutionIndex); "
        "Arcee and Trigify: step start times (inferred)"
    ),
    scope="response",
    statuses="2xx",
    applies=_has_steps,
)
def indexes_ordered(ctx: Context, exchange: Exchange) -> Iterator[Finding]:
    operation_id = exchange.operation.operation_id.removesuffix("InSpace")
    for steps in _vendors.steps_of(_entities(ctx, exchange)):
        if ctx.profile.api == "kibana":
            yield from _kibana_indexes(
                ctx,
                exchange,
                steps,
                ordered=operation_id != "getWorkflowStepExecutions",
                whole=_whole_step_set(exchange.json, steps),
            )
        elif (steps and steps[0].parent is not None) or operation_id == "getRunSteps":
            yield from _start_order(ctx, exchange, steps)


def _whole_step_set(body: object, steps: list[_vendors.Entity]) -> bool:
    """Whether ``steps`` are all of a run's steps, not a page or a truncated embedding.

    A page of ``GET .../executions/{id}/steps`` is a slice of the run's ``stepExecutionIds``
    (``workflows_management/server/api/lib/get_execution_step_executions.ts``), so a later
    foreach iteration can open a page: "count up from 0" holds only for the whole list.
    """
    if not isinstance(body, dict):
        return False
    if steps and steps[0].parent is not None:  # embedded in the execution
        return not body.get("stepExecutionsTruncatedCount")
    total = body.get("total")
    return isinstance(total, int) and total == len(steps)


def _kibana_indexes(
    ctx: Context, exchange: Exchange, steps: list[_vendors.Entity], *, ordered: bool, whole: bool
) -> Iterator[Finding]:
    by_run: dict[object, list[_vendors.Entity]] = defaultdict(list)
    for step in steps:
        by_run[step.value.get("workflowRunId")].append(step)
    for group in by_run.values():
        seen: dict[object, str] = {}
        previous: int | None = None
        per_step: dict[object, list[object]] = defaultdict(list)
        for step in group:
            index = step.value.get("globalExecutionIndex")
            if index is None:
                continue  # absent: nothing to order (the schema check judges whether it may be)
            if index in seen:
                yield ctx.finding(
                    exchange,
                    "globalExecutionIndex repeated within a run",
                    f"{step.path}.globalExecutionIndex",
                    f"unique (also used at {seen[index]})",
                    short(index),
                    inferred=False,
                )
            seen[index] = step.path
            if ordered and isinstance(index, int) and previous is not None and index < previous:
                yield ctx.finding(
                    exchange,
                    "steps not in execution order",
                    f"{step.path}.globalExecutionIndex",
                    f"> {previous} (the previous step's)",
                    short(index),
                    inferred=True,
                )
            previous = index if isinstance(index, int) else previous
        for step in group:
            if step.value.get("stepExecutionIndex") is not None:
                per_step[step.value.get("stepId")].append(step.value["stepExecutionIndex"])
        if not (ordered and whole):
            continue
        for step_id, indexes in per_step.items():
            if indexes != list(range(len(indexes))):
                yield ctx.finding(
                    exchange,
                    "stepExecutionIndex does not count up from 0 for one stepId",
                    "$",
                    f"{list(range(len(indexes)))} for stepId {step_id!r}",
                    short(indexes),
                    inferred=True,
                )


def _start_order(
    ctx: Context, exchange: Exchange, steps: list[_vendors.Entity]
) -> Iterator[Finding]:
    previous = None
    for step in steps:
        start = _vendors.timestamp(step.value.get(step.fields.start))
        if start is None:
            continue
        if previous is not None and start < previous:
            yield ctx.finding(
                exchange,
                "steps not in start order",
                f"{step.path}.{step.fields.start}",
                f">= {previous.isoformat()} (the previous step's start)",
                short(step.value.get(step.fields.start)),
                inferred=True,
            )
        previous = start
