"""Lifecycle checks (``--allow-writes``): start a run, follow it, judge how it progresses and ends.

One run serves the three checks of this module: ``run_starts`` starts it (a workflow without a
human-in-the-loop step, so it can finish on its own) and reads it back; the kit then polls it
until it ends (``_polling``), and ``run_progress_monotonic`` and ``run_final_coherent`` judge
what the polls showed. Kibana's resume and cancel checks live in ``lifecycle_kibana``.

Trigify starts a *test* run (``POST /v1/workflows/{id}/test``) with every action mocked through
``test_config.action_mocks``; the report notes that on a real Trigify an unmocked test run executes
real actions and costs credits. An API listed in ``NO_START`` would have every case of these
checks reported as not tested ("not applicable"), never as passed. Without ``--allow-writes`` the
checks send nothing and report why.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING

from conformance._operations import ApiProfile, Role
from conformance.checks import _vendors, semantics
from conformance.checks._lifecycle_vendors import LIFECYCLES, NO_START
from conformance.checks._polling import RunWatch
from conformance.checks._registry import check
from conformance.checks._starting import Started, start_operation, start_run, workflows
from conformance.findings import Finding, short

if TYPE_CHECKING:
    from conformance._context import Context
    from conformance._specs import Operation
    from conformance.checks._polling import Observation

RESOLVE_POLLS = 3
"""Reads of a just-started run that may answer 404 before the run counts as missing (a server
may index a new run asynchronously)."""
ACTIVE = frozenset(
    {"pending", "queued", "running", "waiting", "waiting_for_input", "waiting_for_child"}
)
"""Statuses of a step that has not finished."""
NO_WRITES = (
    "--allow-writes was not given: the lifecycle checks start runs, so they send nothing without it"
)
_PROGRESS_KEY = "lifecycle.progress"
SEMANTIC_RULES = (
    semantics.timestamps_ordered,
    semantics.durations_agree,
    semantics.status_error_coherent,
    semantics.terminal_has_end_time,
)
"""The semantic checks a finished run must pass at every poll that shows it finished."""


def _starts(profile: ApiProfile, operation: Operation) -> bool:
    lifecycle = LIFECYCLES.get(profile.api)
    if lifecycle is None:
        return operation.operation_id == profile.roles.get("run")
    return operation.operation_id in (lifecycle.start, profile.roles.get("run"))


def _polled(profile: ApiProfile, operation: Operation) -> bool:
    return operation.operation_id in (profile.roles.get("run"), profile.roles.get("steps"))


def _polled_run(profile: ApiProfile, operation: Operation) -> bool:
    return operation.operation_id == profile.roles.get("run")


@dataclass
class ProgressRun:
    """The run the progress checks share, and what became of it."""

    started: Started | None = None
    watch: RunWatch | None = None
    resolve_findings: list[Finding] = field(default_factory=list)
    ended: bool = False
    skip: str | None = None
    """Why nothing (or nothing more) could be judged."""


def not_applicable(ctx: Context) -> str | None:
    """Why lifecycle checks cannot run here (no writes allowed, or no start endpoint)."""
    if not ctx.config.allow_writes:
        return NO_WRITES
    return NO_START.get(ctx.profile.api)


def skip_all(ctx: Context, reason: str, *operation_ids: str | None) -> None:
    """Report the current check's cases on ``operation_ids`` as not tested, with ``reason``."""
    for operation_id in operation_ids:
        if operation_id:
            ctx.skip(operation_id, reason)


def progress_run(ctx: Context) -> ProgressRun:
    """Start one run and follow it to its end (once per kit run; see the module docstring)."""
    found: ProgressRun | None = ctx.memo.get(_PROGRESS_KEY)
    if found is not None:
        return found
    found = ProgressRun()
    ctx.memo[_PROGRESS_KEY] = found
    reason = not_applicable(ctx)
    if reason is not None:
        found.skip = reason
        return found
    chosen = workflows(ctx, hitl=False)
    if not chosen:
        found.skip = (
            "no startable workflow without a human-in-the-loop step was found in the workflow "
            "list (Kibana: enabled and valid; Arcee: status 'active'; pass --workflow-id to "
            "name one)"
        )
        return found
    found.started = start_run(ctx, chosen[0], "run_starts")
    if found.started.run_id is None:
        found.skip = found.started.problem or "no run was started"
        return found
    watch = RunWatch(
        ctx,
        workflow_id=chosen[0].workflow_id,
        run_id=found.started.run_id,
        check="run_progress_monotonic",
    )
    found.watch = watch
    first = watch.until(lambda o: o.run_exchange.status != 404, max_polls=RESOLVE_POLLS)
    found.resolve_findings = list(_resolve_findings(ctx, found.started, first or watch.latest))
    if first is None or first.run is None:
        found.skip = "the started run could not be read back (see run_starts)"
        return found
    terminal = _vendors.TERMINAL[ctx.profile.api]
    if watch.until(lambda o: o.status in terminal) is None:
        found.skip = watch.describe_stop()
        return found
    watch.confirm()
    found.ended = True
    return found


def _resolve_findings(
    ctx: Context, started: Started, seen: Observation | None
) -> Iterator[Finding]:
    if seen is None or started.run_id is None:
        return
    exchange = seen.run_exchange
    if not exchange.ok:
        yield exchange.finding(
            "run_starts",
            "the started run cannot be read",
            "$",
            f"200 with the run {started.run_id!r} (the id the start response returned)",
            exchange.describe(),
        )
        return
    run = seen.run
    if run is None:
        return
    ident = run.value.get(run.fields.ident)
    if ident != started.run_id:
        yield exchange.finding(
            "run_starts",
            "the started run reads back with another id",
            f"{run.path}.{run.fields.ident}",
            repr(started.run_id),
            short(ident),
        )
    owner = run.value.get("workflowId")
    if ctx.profile.api == "kibana" and owner != started.candidate.workflow_id:
        yield exchange.finding(
            "run_starts",
            "the started run belongs to another workflow",
            f"{run.path}.workflowId",
            repr(started.candidate.workflow_id),
            short(owner),
        )


def _operation_ids(ctx: Context, *roles: Role) -> list[str]:
    return [operation for role in roles if (operation := ctx.profile.roles.get(role)) is not None]


@check(
    "run_starts",
    description="Starts a run of a workflow without a human-in-the-loop step in the documented "
    "request shape (Kibana `POST .../workflow/{id}/run`, under --space too; Arcee `POST "
    ".../execute`; Trigify `POST .../test` with every action mocked, since a real test run "
    "executes real actions and costs credits); the answer has the documented shape and its run "
    "id reads back as that run (Kibana: of that workflow).",
    family="lifecycle",
    source=(
        "Kibana: elastic/kibana:src/platform/plugins/shared/workflows_management/server/"
        "api/routes/executions/run_workflow.ts@e1be17f6 and RunWorkflowResponseSchema in "
        "elastic/kibana:src/platform/packages/shared/kbn-workflows/types/v1.ts@000a517d; "
        "https://docs.arcee.ai/arcee-orchestra/workflows/api-invocation/"
        "workflow-execution-api"
    ),
    applies=_starts,
    writes=True,
)
def run_starts(ctx: Context) -> Iterator[Finding]:
    start = start_operation(ctx.profile.api)
    operations = [start.operation_id if start else None, *_operation_ids(ctx, "run")]
    shared = progress_run(ctx)
    if shared.started is None or shared.started.exchange is None:
        skip_all(ctx, shared.skip or "no run was started", *operations)
        return
    for operation_id in operations:
        if operation_id:
            ctx.exercised(operation_id)
    yield from shared.started.findings
    yield from shared.resolve_findings


@check(
    "run_progress_monotonic",
    description="While the started run is polled to its end (--lifecycle-timeout, adaptive "
    "interval): a terminal status never changes, a finished run or step keeps its end time and "
    "duration, start times never move (normative); statuses never go back to pending, "
    "durations never decrease, listed steps never disappear (inferred).",
    family="lifecycle",
    source=(
        "Kibana: status transitions in elastic/kibana:src/platform/plugins/shared/"
        "workflows_execution_engine/server/workflow_context_manager/"
        "workflow_execution_runtime_manager.ts@00288e3f and elastic/kibana:src/platform/"
        "plugins/shared/workflows_execution_engine/server/workflow_context_manager/"
        "step_execution_runtime.ts@main; https://docs.trigify.io/api-reference/workflows/"
        "execution; https://docs.arcee.ai/arcee-orchestra/workflows/api-invocation/"
        "workflow-runs-api (inferred where not documented)"
    ),
    applies=_polled,
    writes=True,
)
def run_progress_monotonic(ctx: Context) -> Iterator[Finding]:
    shared = progress_run(ctx)
    operations = _operation_ids(ctx, "run", "steps")
    if shared.watch is None or not any(o.run for o in shared.watch.observations):
        skip_all(ctx, shared.skip or "the started run could not be polled", *operations)
        return
    for operation_id in operations:
        ctx.exercised(operation_id)
    if len(shared.watch.observations) < 2:
        skip_all(ctx, "the started run was read only once: nothing to compare", *operations)
    yield from shared.watch.rules.findings


@check(
    "run_final_coherent",
    description="The started run reaches a terminal status within --lifecycle-timeout and, at "
    "every poll that shows it finished: has an end time, durations agree with timestamps by "
    "the vendor's rule, status and error agree (the semantics checks' rules); no step is left "
    "pending, running or waiting (inferred).",
    family="lifecycle",
    source=(
        "the semantics checks' sources at every poll of the started run: Kibana elastic/"
        "kibana:src/platform/plugins/shared/workflows_execution_engine/server/"
        "workflow_context_manager/workflow_execution_runtime_manager.ts@00288e3f and "
        "elastic/kibana:src/platform/plugins/shared/workflows_execution_engine/server/"
        "workflow_context_manager/step_execution_runtime.ts@main; https://"
        "docs.trigify.io/api-reference/workflows/execution; https://docs.arcee.ai/"
        "arcee-orchestra/workflows/api-invocation/workflow-runs-api"
    ),
    applies=_polled_run,
    writes=True,
)
def run_final_coherent(ctx: Context) -> Iterator[Finding]:
    shared = progress_run(ctx)
    operations = _operation_ids(ctx, "run")
    if shared.watch is None or not shared.ended:
        skip_all(ctx, shared.skip or "the started run did not end", *operations)
        return
    for operation_id in operations:
        ctx.exercised(operation_id)
    yield from finished_run_findings(ctx, shared.watch, "run_final_coherent")


def finished_run_findings(ctx: Context, watch: RunWatch, name: str) -> Iterator[Finding]:
    """The semantic rules and "no step left active" at every poll that shows the run finished."""
    terminal = _vendors.TERMINAL[ctx.profile.api]
    for observation in watch.observations:
        if observation.status not in terminal:
            continue
        for exchange in (observation.run_exchange, observation.steps_exchange):
            if exchange is None or not exchange.ok:
                continue
            for rule in SEMANTIC_RULES:
                for finding in rule(ctx, exchange):
                    yield replace(finding, check=name)
        for step in observation.steps:
            status = step.value.get(step.fields.status)
            if status in ACTIVE:
                source = observation.steps_exchange or observation.run_exchange
                yield source.finding(
                    name,
                    "a step is still active in a finished run",
                    f"{step.path}.{step.fields.status}",
                    f"a terminal status (the run is {observation.status!r})",
                    short(status),
                    inferred=True,
                )
