"""Not-found checks: an id the server never issued gives 404 (with the envelope, which the
``error_envelope`` check judges on the same response).

The probe replaces the innermost id of the path (the step of a step URL, the run of a run URL)
and keeps the real outer ids, so the server must look the id up rather than fail on its parent.
For Kibana a real step asked for under another real execution must be a 404 too (documented:
the lookup filters on ``workflowRunId``). Kibana's workflow-scoped lists are searches, not
lookups: an unknown workflow id gives 200 with an empty list, never a 404
(``workflows_management/server/api/routes/executions/get_workflow_executions.ts`` and
``get_workflow_step_executions.ts``: ``api.getWorkflow`` returns null, the managed-workflow
guard lets null through and the search finds nothing).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

from conformance._operations import ApiProfile, path_params
from conformance.checks._registry import check
from conformance.findings import Finding, Severity

if TYPE_CHECKING:
    from conformance._context import Context, Exchange
    from conformance._specs import Operation

UNKNOWN_ID = "stepspec-unknown-id-0000"
KIBANA_SEARCHES = frozenset({"getWorkflowExecutions", "getWorkflowStepExecutions"})
EMPTY_SEARCH_SOURCE = (
    "elastic/kibana:src/platform/plugins/shared/workflows_management/server/api/routes/"
    "executions/get_workflow_executions.ts@00c7693b (api.getWorkflow returns null, "
    "assertCanReadManagedWorkflowExecution lets it through, the search finds nothing)"
)
"""Kibana operations whose unknown workflow id is an empty list (see the module docstring)."""


def _has_ids(profile: ApiProfile, operation: Operation) -> bool:
    return operation.method == "get" and bool(path_params(operation))


def _finding(
    ctx: Context,
    operation: Operation,
    exchange: Exchange,
    title: str,
    what: str,
    *,
    inferred: bool,
) -> Finding:
    served = exchange.status is not None and 200 <= exchange.status < 300
    return Finding(
        check="unknown_id_404",
        title=f"{title}: answered {'2xx' if served else 'other than 404'}",
        operation=operation.operation_id,
        expected="404 Not Found",
        found=str(exchange.status),
        severity=Severity.WARNING if inferred else Severity.ERROR,
        inferred=inferred,
        detail=what + (" (a 404 here is inferred from the vendor's docs)" if inferred else ""),
        request=exchange.result.request,
    )


@check(
    "unknown_id_404",
    description="An id the server never issued (the innermost id of the path) gives 404; for "
    "Kibana also a real step asked for under another execution, and an unknown workflow id on "
    "the workflow-scoped lists gives 200 with an empty list.",
    family="not_found",
    source=(
        "the documented 404 responses in specs/<api>/openapi.yaml (Kibana: "
        "response.notFound() in elastic/kibana:src/platform/plugins/shared/"
        "workflows_management/server/api/routes/executions/get_execution.ts@0ac47dce; "
        "an unknown workflow id lists nothing: elastic/kibana:src/platform/plugins/shared/"
        "workflows_management/server/api/routes/executions/get_workflow_executions.ts@00c7693b)"
    ),
    scope="operation",
    applies=_has_ids,
)
def unknown_id_404(ctx: Context, operation: Operation) -> Iterator[Finding]:
    names = path_params(operation)
    innermost = names[-1]
    params = ctx.params_for(operation, **{innermost: UNKNOWN_ID})
    if params is None:
        ctx.skip(operation.operation_id, "discovery found no ids for the outer path parameters")
        return
    exchange = ctx.get(operation, params)
    if exchange is None or exchange.status is None or exchange.result.error is not None:
        ctx.skip(
            operation.operation_id,
            ctx.unavailable(operation.operation_id)
            or "no complete response (see response_complete)",
        )
        return
    base = operation.operation_id.removesuffix("InSpace")
    if ctx.profile.api == "kibana" and base in KIBANA_SEARCHES:
        yield from _empty_search(ctx, operation, exchange, innermost)
        return
    # Kibana documents no behaviour for an unknown workflow id (api-notes, open question 15).
    inferred = ctx.profile.not_found_inferred or (
        ctx.profile.api == "kibana" and ctx.profile.id_params.get(innermost) == "workflow"
    )
    if exchange.status != 404:
        yield _finding(
            ctx,
            operation,
            exchange,
            "unknown id",
            f"{innermost}={UNKNOWN_ID!r} was never issued",
            inferred=inferred,
        )
    if ctx.profile.api == "kibana" and operation.operation_id == "getStepExecution":
        yield from _step_under_other_run(ctx, operation)


def _empty_search(
    ctx: Context, operation: Operation, exchange: Exchange, name: str
) -> Iterator[Finding]:
    """Kibana: a workflow-scoped list of a workflow that does not exist is 200 and empty."""
    body = exchange.object
    results = body.get("results") if body is not None else None
    if exchange.status == 200 and results == [] and body is not None and body.get("total") == 0:
        return
    found = str(exchange.status)
    if exchange.status == 200:
        count = len(results) if isinstance(results, list) else "no"
        found = f"200 with {count} results, total {body.get('total') if body else None!r}"
    yield Finding(
        check="unknown_id_404",
        title="unknown workflow id: not an empty list",
        operation=operation.operation_id,
        expected="200 with an empty list (results [] and total 0): Kibana searches by workflow id",
        found=found,
        detail=f"{name}={UNKNOWN_ID!r} was never issued",
        request=exchange.result.request,
        source=EMPTY_SEARCH_SOURCE,
    )


def _step_under_other_run(ctx: Context, operation: Operation) -> Iterator[Finding]:
    if not ctx.ids.steps:
        return
    run, step = ctx.ids.steps[0]
    others = [other for _, other in ctx.ids.runs if other != run]
    if not others:
        return
    exchange = ctx.get(operation, {"executionId": others[0], "stepExecutionId": step})
    if exchange is None or exchange.result.error is not None or exchange.status in (None, 404):
        return
    yield _finding(
        ctx,
        operation,
        exchange,
        "step of another execution",
        f"step {step!r} belongs to execution {run!r}, not {others[0]!r}",
        inferred=False,
    )
