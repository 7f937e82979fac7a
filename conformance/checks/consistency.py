"""Cross-endpoint consistency: the same run or step, seen through several endpoints, agrees.

- ``path_ids_echoed``: ids in the path come back in the body (Kibana's ``workflowRunId`` equals
  the ``executionId`` asked for, Trigify's ``run_id`` equals ``runId``, ...).
- ``step_consistent`` (Kibana): a step fetched alone equals the same step inside its execution,
  in the execution's steps list and in the workflow's step list, except ``input``/``output``,
  which the lists leave out by design.
- ``run_consistent``: a run in its workflow's run list equals the run fetched alone (Trigify's
  list renames ``ended_at``/``duration_ms`` to ``completed_at``/``duration``).

Only runs and steps finished in *both* answers are compared: a running one may change between
two requests, and Kibana's lists (and ``GET .../step/{id}``) are searches that can lag about a
second behind a read by id (the index refreshes once a second), so a run that has just ended
may still be listed running (``workflows_management/server/api/lib/search_workflow_executions.ts``).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING, Any

from conformance._context import NOT_JSON
from conformance._discovery import LIST_QUERY, items
from conformance._operations import ApiProfile
from conformance.checks import _vendors
from conformance.checks._registry import check
from conformance.findings import Finding, short

if TYPE_CHECKING:
    from conformance._context import Context, Exchange
    from conformance._specs import Operation

# operationId -> [(path in the body, "*" = every item), path parameter it must equal]
ECHOES: dict[str, dict[str, list[tuple[tuple[str, ...], str]]]] = {
    "kibana": {
        "getStepExecution": [(("id",), "stepExecutionId"), (("workflowRunId",), "executionId")],
        "getExecution": [
            (("id",), "executionId"),
            (("stepExecutions", "*", "workflowRunId"), "executionId"),
        ],
        "getExecutionSteps": [(("results", "*", "workflowRunId"), "executionId")],
        "getWorkflowExecutions": [(("results", "*", "workflowId"), "workflowId")],
        "getWorkflowStepExecutions": [(("results", "*", "workflowId"), "workflowId")],
    },
    "arcee": {"getRun": [(("*", "id"), "run_id")]},
    "trigify": {
        "getWorkflow": [(("data", "id"), "id")],
        "getWorkflowExecution": [(("data", "run_id"), "runId"), (("data", "workflow_id"), "id")],
    },
}
OMITTED_IN_LISTS = frozenset({"input", "output"})
"""Fields the step lists leave out by design (documented)."""
RUN_FIELDS: dict[str, tuple[tuple[str, str], ...]] = {
    "kibana": tuple(
        (name, name)
        for name in (
            "id",
            "status",
            "startedAt",
            "finishedAt",
            "duration",
            "error",
            "workflowId",
            "isTestRun",
            "spaceId",
            "executedBy",
            "triggeredBy",
        )
    ),
    "arcee": tuple(
        (name, name)
        for name in ("id", "status", "start_time", "end_time", "elapsed_time", "error", "inputs")
    ),
    "trigify": (
        ("run_id", "run_id"),
        ("status", "status"),
        ("started_at", "started_at"),
        ("completed_at", "ended_at"),
        ("duration", "duration_ms"),
        ("error", "error"),
    ),
}
_MISSING: Any = object()


def walk(node: Any, path: tuple[str, ...], where: str = "$") -> Iterator[tuple[str, Any]]:
    """Values at ``path`` (``"*"`` = every list item; a lone object counts as a 1-item list)."""
    if not path:
        yield where, node
        return
    head, rest = path[0], path[1:]
    if head == "*":
        seq = [node] if isinstance(node, dict) else node if isinstance(node, list) else []
        for index, item in enumerate(seq):
            yield from walk(item, rest, f"{where}[{index}]" if isinstance(node, list) else where)
    elif isinstance(node, dict) and head in node:
        yield from walk(node[head], rest, f"{where}.{head}")


def _echoes(profile: ApiProfile, operation: Operation) -> bool:
    return operation.operation_id in ECHOES.get(profile.api, {})


@check(
    "path_ids_echoed",
    description="Ids in the path are echoed in the body (Kibana `id`/`workflowRunId`/"
    "`workflowId`, Arcee run `id`, Trigify `run_id`/`workflow_id`).",
    family="consistency",
    source=(
        "Kibana: elastic/kibana:src/platform/plugins/shared/workflows_management/server/"
        "api/routes/executions/get_execution.ts@0ac47dce and "
        "get_step_execution.ts@0fd165b6; https://docs.arcee.ai/arcee-orchestra/workflows/"
        "api-invocation/workflow-runs-api; https://docs.trigify.io/api-reference/"
        "workflows/execution"
    ),
    scope="response",
    statuses="2xx",
    applies=_echoes,
)
def path_ids_echoed(ctx: Context, exchange: Exchange) -> Iterator[Finding]:
    if exchange.json is NOT_JSON:
        return
    base = exchange.operation.operation_id.removesuffix("InSpace")
    for path, param in ECHOES.get(ctx.profile.api, {}).get(base, []):
        asked = exchange.params.get(param)
        if asked is None:
            continue
        for where, value in walk(exchange.json, path):
            if value != asked:
                yield ctx.finding(
                    exchange,
                    "body names another id than the path",
                    where,
                    f"{asked!r} (the {param} in the path)",
                    short(value),
                )


def _diff(
    check_name: str,
    operation_id: str,
    reference: Mapping[str, Any],
    other: Mapping[str, Any],
    pairs: tuple[tuple[str, str], ...],
    *,
    where: str,
    what: str,
    exchange: Exchange,
) -> Iterator[Finding]:
    for ref_name, other_name in pairs:
        left, right = reference.get(ref_name, _MISSING), other.get(other_name, _MISSING)
        if left is _MISSING and right is _MISSING:
            continue
        if _normal(left) != _normal(right):
            yield Finding(
                check=check_name,
                title=f"{what} differs between endpoints",
                operation=operation_id,
                path=f"{where}.{other_name}",
                expected=f"{_show(left)} (as fetched alone)",
                found=_show(right),
                request=exchange.result.request,
            )


def _normal(value: Any) -> Any:
    return None if value is _MISSING else value


def _show(value: Any) -> str:
    return "(absent)" if value is _MISSING else short(value)


def _finished(ctx: Context, value: Mapping[str, Any]) -> bool:
    return value.get("status") in _vendors.TERMINAL[ctx.profile.api]


def _kibana_steps(profile: ApiProfile, operation: Operation) -> bool:
    return profile.api == "kibana" and operation.operation_id in (
        "getStepExecution",
        "getExecution",
        "getExecutionSteps",
        "getWorkflowStepExecutions",
    )


@check(
    "step_consistent",
    description="Kibana: a step fetched alone equals the same step in its execution, in the "
    "execution's steps list and in the workflow's step list (minus the documented omission of "
    "`input`/`output`); the steps list has the execution's steps, in order.",
    family="consistency",
    source=(
        "Kibana: elastic/kibana:src/platform/plugins/shared/workflows_management/server/"
        "api/lib/get_execution_step_executions.ts@85546997 (stepExecutionIds order, "
        "input/output left out) and elastic/kibana:src/platform/plugins/shared/"
        "workflows_management/server/api/routes/executions/"
        "get_step_execution.ts@0fd165b6 (the stored document)"
    ),
    applies=_kibana_steps,
)
def step_consistent(ctx: Context) -> Iterator[Finding]:
    profile = ctx.profile
    run_op, steps_op = profile.operation("run"), profile.operation("steps")
    step_op, wide_op = profile.operation("step"), profile.operation("workflow_steps")
    if not (run_op and steps_op and step_op and wide_op):
        return
    params = ctx.params_for(run_op)
    execution = ctx.get(run_op, params) if params else None
    listing = ctx.get(steps_op, params) if params else None
    execution_body = execution.object if execution is not None else None
    listing_body = listing.object if listing is not None else None
    if execution is None or listing is None or execution_body is None or listing_body is None:
        for op in (run_op, steps_op, step_op, wide_op):
            ctx.skip(op.operation_id, "the primary execution or its steps could not be read")
        return
    embedded = _by_id(execution_body, "stepExecutions")
    listed = _by_id(listing_body, "results")
    complete = listing_body.get("total") == len(listed) and (
        "stepExecutionsTruncatedCount" not in execution_body
    )
    if _finished(ctx, execution_body) and complete and list(listed) != list(embedded):
        yield Finding(
            check="step_consistent",
            title="steps list differs from the execution's steps",
            operation=steps_op.operation_id,
            path="$.results",
            expected=short(list(embedded)),
            found=short(list(listed)),
            request=listing.result.request,
        )
    for run, step_id in ctx.ids.steps[:3]:
        alone = ctx.get(step_op, {"executionId": run, "stepExecutionId": step_id})
        step = alone.object if alone is not None else None
        if step is None or not _finished(ctx, step):
            continue
        pairs = tuple((k, k) for k in sorted(set(step) - OMITTED_IN_LISTS))
        for op, source, exchange in (
            (run_op, embedded, execution),
            (steps_op, listed, listing),
        ):
            if step_id not in source:
                yield Finding(
                    check="step_consistent",
                    title="step missing from a list of its execution",
                    operation=op.operation_id,
                    expected=f"step {step_id!r}",
                    found="absent",
                    request=exchange.result.request,
                )
                continue
            where, item = source[step_id]
            if not _finished(ctx, item):
                continue  # still moving in this answer (or not yet refreshed): not comparable
            yield from _diff(
                "step_consistent",
                op.operation_id,
                step,
                item,
                pairs,
                where=where,
                what="step",
                exchange=exchange,
            )
        workflow = step.get("workflowId")
        step_name = step.get("stepId")
        if isinstance(workflow, str) and isinstance(step_name, str):
            wide = ctx.get(wide_op, {"workflowId": workflow}, {"stepId": step_name})
            wide_body = wide.object if wide is not None else None
            if wide is not None and wide_body is not None:
                found = _by_id(wide_body, "results")
                if step_id in found and _finished(ctx, found[step_id][1]):
                    where, item = found[step_id]
                    yield from _diff(
                        "step_consistent",
                        wide_op.operation_id,
                        step,
                        item,
                        pairs,
                        where=where,
                        what="step",
                        exchange=wide,
                    )


def _by_id(body: Mapping[str, Any], key: str) -> dict[Any, tuple[str, Mapping[str, Any]]]:
    found: dict[Any, tuple[str, Mapping[str, Any]]] = {}
    items = body.get(key)
    for index, item in enumerate(items if isinstance(items, list) else []):
        if isinstance(item, dict):
            found.setdefault(item.get("id"), (f"$.{key}[{index}]", item))
    return found


def _run_ops(profile: ApiProfile, operation: Operation) -> bool:
    return operation.operation_id in (profile.roles.get("runs"), profile.roles.get("run"))


@check(
    "run_consistent",
    description="A run in its workflow's run list equals the run fetched alone (Trigify's list "
    "names `completed_at`/`duration` what the detail calls `ended_at`/`duration_ms`).",
    family="consistency",
    source=(
        "Kibana: elastic/kibana:src/platform/plugins/shared/workflows_management/server/"
        "api/lib/search_workflow_executions.ts@05a820c1 (list items copy the stored "
        "execution); https://docs.trigify.io/api-reference/workflows/executions; https://"
        "docs.arcee.ai/arcee-orchestra/workflows/api-invocation/execution-history-api"
    ),
    applies=_run_ops,
)
def run_consistent(ctx: Context) -> Iterator[Finding]:
    profile = ctx.profile
    list_op, run_op = profile.operation("runs"), profile.operation("run")
    if list_op is None or run_op is None:
        return
    compared = 0
    for workflow, run in ctx.ids.runs[:3]:
        if workflow is None:
            continue
        list_params = ctx.params_for(list_op, **_named(profile, list_op, workflow=workflow))
        run_params = ctx.params_for(run_op, **_named(profile, run_op, workflow=workflow, run=run))
        if list_params is None or run_params is None:
            continue
        listing = ctx.get(list_op, list_params, LIST_QUERY.get(profile.api, {}).get("runs", {}))
        detail = ctx.get(run_op, run_params)
        if listing is None or detail is None or not listing.ok or not detail.ok:
            continue
        ident = "run_id" if profile.api == "trigify" else "id"
        listed = {
            i.get(ident): (n, i) for n, i in enumerate(items(profile.api, "runs", listing.json))
        }
        runs = _vendors.entities(profile.api, run_op.operation_id, detail.json)
        if not runs or run not in listed:
            continue
        value = runs[0].value
        index, item = listed[run]
        if not (_finished(ctx, value) and _finished(ctx, item)):
            continue  # a list can lag behind the run it lists: compare finished snapshots only
        compared += 1
        pairs = tuple(
            (detail_name, list_name) for list_name, detail_name in RUN_FIELDS[profile.api]
        )
        yield from _diff(
            "run_consistent",
            list_op.operation_id,
            value,
            item,
            pairs,
            where=f"$[{index}]",
            what="run",
            exchange=listing,
        )
    if not compared:
        for op in (list_op, run_op):
            ctx.skip(op.operation_id, "no finished run could be read both alone and in its list")


def _named(profile: ApiProfile, operation: Operation, **ids: str) -> dict[str, str]:
    from conformance._operations import path_params

    found: dict[str, str] = {}
    for name in path_params(operation):
        kind = profile.id_params.get(name)
        if kind in ids:
            found[name] = ids[kind]
    return found
