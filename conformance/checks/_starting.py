"""Starting runs for the lifecycle checks: choosing a workflow, the start request, its answer.

``workflows(ctx)`` reads the workflow list (the page discovery already fetched, and for Kibana
one larger page when that one lacks the kind of workflow a check needs) and returns the
startable workflows with their definitions. ``start_run`` sends the documented start request
and judges the answer: the documented status, the documented body, a run id in it. Every
request here is charged to the lifecycle pool (see ``Context.lifecycle_budget``). A start that
reached the server adds the API's ``WRITE_NOTES`` entry to the report's notes (what a started run
does on the real service: Trigify test runs execute real actions and cost credits).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from conformance import _operations, _specs
from conformance._discovery import LIST_QUERY
from conformance.checks._lifecycle_vendors import (
    LIFECYCLES,
    WRITE_NOTES,
    Candidate,
    candidates,
    path_values,
    start_body,
)
from conformance.findings import Finding, schema_findings, short

if TYPE_CHECKING:
    from conformance._context import Context, Exchange

_WORKFLOWS_KEY = "lifecycle.workflows"
WIDE_PAGE = {"kibana": {"size": "100"}}
"""The larger workflow page read when the first one has no workflow of the kind needed."""


def workflows(ctx: Context, *, hitl: bool) -> list[Candidate]:
    """Startable workflows with (``hitl=True``) or without a human-in-the-loop step, best first."""
    found = _listed(ctx, ctx.profile.api, LIST_QUERY.get(ctx.profile.api, {}).get("workflows", {}))
    wanted = [c for c in found if c.hitl == hitl]
    wide = WIDE_PAGE.get(ctx.profile.api)
    if not wanted and wide is not None:
        wanted = [c for c in _listed(ctx, ctx.profile.api, wide) if c.hitl == hitl]
    # A wait that times out by itself may end before the kit answers it: prefer those that
    # wait for as long as it takes (after the workflow the user named).
    preferred = ctx.config.workflow_id
    wanted.sort(key=lambda c: (c.workflow_id != preferred, c.wait_times_out))
    return wanted


def _listed(ctx: Context, api: str, query: dict[str, str]) -> list[Candidate]:
    memo: dict[str, list[Candidate]] = ctx.memo.setdefault(_WORKFLOWS_KEY, {})
    key = repr(sorted(query.items()))
    if key not in memo:
        operation = ctx.profile.operation("workflows")
        exchange = None
        if operation is not None:
            with ctx.lifecycle_budget():
                exchange = ctx.get(operation, {}, query)
        memo[key] = (
            candidates(api, exchange.json, ctx.config.workflow_id)
            if exchange is not None and exchange.ok
            else []
        )
    return memo[key]


@dataclass
class Started:
    """A start request and what it gave."""

    candidate: Candidate
    exchange: Exchange | None
    run_id: str | None
    findings: list[Finding] = field(default_factory=list)
    """What is wrong with the start response (reported by ``run_starts``)."""
    problem: str | None = None
    """Why no run could be followed, in words."""


def start_operation(api: str) -> _specs.Operation | None:
    """The operation that starts a run, if the API documents one."""
    lifecycle = LIFECYCLES.get(api)
    return None if lifecycle is None else _specs.operation(api, lifecycle.start)


def start_run(ctx: Context, candidate: Candidate, check: str) -> Started:
    """Start ``candidate`` in the documented request shape and judge the response."""
    api = ctx.profile.api
    lifecycle = LIFECYCLES[api]
    operation = _specs.operation(api, lifecycle.start)
    params = path_values(ctx.profile, operation, workflow=candidate.workflow_id) or {}
    body = start_body(api, candidate)
    with ctx.lifecycle_budget():
        exchange = ctx.post(operation, params, body, headers=lifecycle.write_headers)
    note = WRITE_NOTES.get(api)
    if exchange is not None and note is not None and note not in ctx.ids.notes:
        ctx.ids.notes.append(note)
    if exchange is None:
        reason = ctx.unavailable(operation.operation_id) or "the lifecycle request budget ran out"
        return Started(candidate, None, None, problem=f"no run was started: {reason}")
    started = Started(candidate, exchange, None)
    if exchange.object is None:  # not a 2xx JSON object (an undocumented 2xx is reported apart)
        started.findings.append(
            exchange.finding(
                check,
                "starting a run was refused",
                "$",
                f"2xx with a JSON object holding {lifecycle.started_id!r} (request body "
                f"{short(body)})",
                f"{exchange.describe()}: {short(exchange.body[:200])}",
            )
        )
        started.problem = f"starting workflow {candidate.workflow_id!r} gave {exchange.describe()}"
        return started
    schema_id = _operations.response_schema(operation, exchange.status or 200)
    if schema_id is not None:
        started.findings += schema_findings(
            exchange.object,
            schema_id,
            check=check,
            operation=operation.operation_id,
            request=exchange.result.request,
        )
    holder: Any = exchange.object
    for key in lifecycle.started_in:
        holder = holder.get(key) if isinstance(holder, dict) else None
    holder = holder if isinstance(holder, dict) else {}
    run_id = holder.get(lifecycle.started_id)
    if not isinstance(run_id, str) or not run_id:
        where = ".".join(("$", *lifecycle.started_in, lifecycle.started_id))
        started.findings.append(
            exchange.finding(
                check,
                "start response without a run id",
                where,
                "the id of the run just started (a non-empty string)",
                short(holder.get(lifecycle.started_id, "(absent)")),
            )
        )
        started.problem = "the start response named no run"
        return started
    started.run_id = run_id
    return started
