"""Kibana lifecycle checks (``--allow-writes``): resume a run that waits for a human, cancel a run.

Both start a run of a workflow whose definition holds a human-in-the-loop step (``waitForInput``
or ``waitForApproval``, found in the definitions the workflow list carries, so any Kibana with
such a workflow will do) and poll it until it waits for input. Then:

- ``run_resumes``: ``POST .../resume`` with ``{input}`` answers the documented
  ``{success: true, executionId, message}``; the waiting step's ``hitl`` envelope is filled at
  once (``respondedBy``, ``respondedAt``, ``channel``); the step then completes, so the run
  moves on, and a resume after that is a 409 with Kibana's documented message. A second resume
  sent at once may be accepted: Kibana only records the input and schedules the resume task,
  and the run keeps ``waiting_for_input`` until that task runs (the last answer wins;
  ``workflows_management_api.ts`` ``resumeWorkflowExecution``, engine ``plugin.ts``
  ``internalResumeWorkflowExecution``), so it must be a 200 or that same 409.
- ``run_cancels``: ``POST .../cancel`` answers 200; the run ends ``cancelled``, with an end time
  and the semantic rules of a finished run, and no step is left active (inferred). Without a
  human-in-the-loop workflow, a run of another workflow is cancelled right after it starts; if
  it ends some other way first, the case is reported as not tested (the race is no finding).

Their polls are held to the same monotonic-progress rules as the started run's (``_polling``).
"""

from __future__ import annotations

import re
from collections.abc import Generator, Iterator
from typing import TYPE_CHECKING, Any

from conformance import _operations, _specs
from conformance.checks import _vendors
from conformance.checks._lifecycle_vendors import LIFECYCLES, WAITING, Candidate, resume_input
from conformance.checks._polling import RunWatch
from conformance.checks._registry import check
from conformance.checks._starting import start_run, workflows
from conformance.checks.lifecycle import (
    RESOLVE_POLLS,
    finished_run_findings,
    not_applicable,
)
from conformance.findings import Finding, schema_findings, short

if TYPE_CHECKING:
    from conformance._context import Context
    from conformance._operations import ApiProfile
    from conformance._specs import Operation
    from conformance.checks._polling import Observation

CONFLICT = re.compile(
    r'Workflow execution "(?P<id>.*)" is in status "(?P<status>.*)" but expected '
    r'"waiting_for_input"\.'
)
"""Kibana's documented 409 message (``WorkflowExecutionInvalidStatusError``)."""
HITL_FIELDS = ("respondedBy", "respondedAt", "channel")
RESUME_CHANNEL = "kibana_execution_view"
"""The channel the resume route records (documented; a docs example says ``kibana-ui``)."""
NO_HITL_WORKFLOW = (
    "no startable workflow with a human-in-the-loop step (waitForInput, waitForApproval) was "
    "found in the workflow list's definitions (pass --workflow-id to name one)"
)


def _is(operation_id: str) -> Any:
    def applies(profile: ApiProfile, operation: Operation) -> bool:
        return profile.api == "kibana" and operation.operation_id == operation_id

    return applies


def _unreadable(observation: Observation) -> bool:
    return not observation.run_exchange.ok and observation.index >= RESOLVE_POLLS


def _wait_for_input(ctx: Context, name: str, candidate: Candidate) -> RunWatch | str:
    """Start ``candidate`` and poll until it waits for input; a reason string if it does not."""
    started = start_run(ctx, candidate, name)
    if started.run_id is None:
        return f"{started.problem or 'no run was started'} (see run_starts)"
    watch = RunWatch(ctx, workflow_id=candidate.workflow_id, run_id=started.run_id, check=name)
    terminal = _vendors.TERMINAL["kibana"]
    seen = watch.until(lambda o: o.status == WAITING or o.status in terminal or _unreadable(o))
    if seen is None:
        return watch.describe_stop()
    if not seen.run_exchange.ok:
        return f"the started run cannot be read ({seen.run_exchange.describe()}; see run_starts)"
    if seen.status != WAITING:
        return f"the run ended {seen.status!r} before it waited for input"
    return watch


@check(
    "run_resumes",
    description="Kibana: starts a workflow with a waitForInput/waitForApproval step (found by "
    "its definition), waits for `waiting_for_input`, resumes it with `{input}`: the answer is "
    "`{success: true, executionId, message}`, the step's `hitl` envelope is filled at once "
    "(`respondedBy`, `respondedAt`, `channel`), an immediate second resume is a 200 or the "
    "documented 409, the step completes, and a resume after the run moved on is the documented "
    "409. No such workflow: not tested.",
    family="lifecycle",
    source=(
        "Kibana: elastic/kibana:src/platform/plugins/shared/workflows_management/server/"
        "api/routes/executions/resume_execution.ts@58facf2f (200 'Workflow resume "
        "scheduled'), the hitl envelope of kbn-workflows types/v1.ts@000a517d, elastic/"
        "kibana:src/platform/plugins/shared/workflows_management/server/services/"
        "workflow_execution_query_service.ts@main (the waiting step it claims; claimed "
        "steps are skipped, so a resume before the resume task runs is accepted too)"
    ),
    applies=_is("resumeExecution"),
    writes=True,
)
def run_resumes(ctx: Context) -> Iterator[Finding]:
    if ctx.profile.api != "kibana":
        return  # no resume endpoint: no case to report
    operation = _specs.operation("kibana", "resumeExecution")
    reason = not_applicable(ctx)
    chosen = workflows(ctx, hitl=True) if reason is None else []
    if reason is None and not chosen:
        reason = NO_HITL_WORKFLOW
    watch = _wait_for_input(ctx, "run_resumes", chosen[0]) if reason is None else reason
    if isinstance(watch, str):
        ctx.skip(operation.operation_id, watch)
        return
    yield from _resume(ctx, watch, chosen[0], operation)
    yield from watch.rules.findings


def _resume(
    ctx: Context, watch: RunWatch, candidate: Candidate, operation: Operation
) -> Iterator[Finding]:
    seen = watch.latest
    assert seen is not None  # _wait_for_input polled at least once
    step = next((s for s in seen.steps if s.value.get("status") == WAITING), None)
    if step is None:
        yield (seen.steps_exchange or seen.run_exchange).finding(
            "run_resumes",
            "the run waits for input but none of its steps does",
            "$",
            "a step with status 'waiting_for_input' (documented: both wait)",
            short([s.value.get("status") for s in seen.steps]),
        )
        return
    params = {"executionId": watch.run_id}
    body = {"input": resume_input(candidate.definition, step.value.get("stepId"))}
    headers = LIFECYCLES["kibana"].write_headers
    with ctx.lifecycle_budget():
        first = ctx.post(operation, params, body, headers=headers)
    if first is None:
        ctx.skip(operation.operation_id, watch.describe_stop())
        return
    if first.status != 200 or first.object is None:
        yield first.finding(
            "run_resumes",
            "resuming a waiting run was refused",
            "$",
            f"200 {{success, executionId, message}} (request body {short(body)})",
            f"{first.describe()}: {short(first.body[:200])}",
        )
        return
    schema_id = _operations.response_schema(operation, 200)
    if schema_id is not None:
        yield from schema_findings(
            first.object,
            schema_id,
            check="run_resumes",
            operation=operation.operation_id,
            request=first.result.request,
        )
    if first.object.get("executionId") != watch.run_id:
        yield first.finding(
            "run_resumes",
            "resume answered for another execution",
            "$.executionId",
            repr(watch.run_id),
            short(first.object.get("executionId")),
        )
    step_id = str(step.value.get("id"))
    yield from _hitl_filled(ctx, watch.run_id, step_id)
    with ctx.lifecycle_budget():
        second = ctx.post(operation, params, body, headers=headers)
    if second is not None and second.status != 200:
        yield from _refused(
            second,
            watch.run_id,
            "a second resume was neither accepted nor refused with 409",
            "200 (the run still waits for input) or 409 Conflict",
        )
    moved = yield from _moved_on(watch, step_id)
    if moved:
        with ctx.lifecycle_budget():
            late = ctx.post(operation, params, body, headers=headers)
        if late is not None:
            yield from _refused(
                late,
                watch.run_id,
                "a resume after the run moved on was not refused",
                "409 Conflict (the run no longer waits for input)",
            )


def _hitl_filled(ctx: Context, run_id: str, step_id: str) -> Iterator[Finding]:
    operation = ctx.profile.operation("step")
    if operation is None:
        return
    with ctx.lifecycle_budget():
        exchange = ctx.get(
            operation, {"executionId": run_id, "stepExecutionId": step_id}, fresh=True
        )
    if exchange is None or exchange.object is None:
        return
    ctx.exercised(operation.operation_id)
    hitl = exchange.object.get("hitl")
    hitl = hitl if isinstance(hitl, dict) else {}
    for name in HITL_FIELDS:
        if not hitl.get(name):
            yield exchange.finding(
                "run_resumes",
                "the hitl envelope is not filled after a resume",
                f"$.hitl.{name}",
                f"{name} set as soon as the resume is accepted (documented)",
                short(hitl.get(name, "(absent)")),
            )
    channel = hitl.get("channel")
    if channel and channel != RESUME_CHANNEL:
        yield exchange.finding(
            "run_resumes",
            "the hitl channel is not the resume route's",
            "$.hitl.channel",
            repr(RESUME_CHANNEL),
            short(channel),
            inferred=True,
        )


def _refused(exchange: Any, run_id: str, title: str, expected: str) -> Iterator[Finding]:
    """A 409 must carry Kibana's ``WorkflowExecutionInvalidStatusError`` message."""
    if exchange.status != 409:
        yield exchange.finding(
            "run_resumes",
            title,
            "$",
            expected,
            f"{exchange.describe()}: {short(exchange.body[:200])}",
        )
        return
    body = exchange.json if isinstance(exchange.json, dict) else {}
    message = body.get("message")
    matched = CONFLICT.fullmatch(message) if isinstance(message, str) else None
    if matched is None or matched.group("id") != run_id:
        yield exchange.finding(
            "run_resumes",
            "409 without Kibana's documented message",
            "$.message",
            f'Workflow execution "{run_id}" is in status "<status>" but expected '
            '"waiting_for_input".',
            short(message),
        )


def _moved_on(watch: RunWatch, step_id: str) -> Generator[Finding, None, bool]:
    """Poll until the resumed step ends; findings if it did not complete. Returns whether the
    run was seen to move on (the step, or the run, ended)."""
    terminal = _vendors.TERMINAL["kibana"]

    def resumed(observation: Observation) -> bool:
        step = observation.step(step_id)
        return observation.status in terminal or (
            step is not None and step.value.get("status") in terminal
        )

    end = watch.until(resumed)
    latest = watch.latest
    if latest is None or (end is None and not watch.timed_out):
        return False
    step = latest.step(step_id)
    status = step.value.get("status") if step is not None else None
    if status != "completed":
        yield (latest.steps_exchange or latest.run_exchange).finding(
            "run_resumes",
            "the resumed step did not complete",
            step.path + ".status" if step is not None else "$",
            "'completed' (documented: after resume the step is completed and the run moves on)",
            short(status if step is not None else "(step not listed)"),
        )
    return end is not None


@check(
    "run_cancels",
    description="Kibana: starts a run (preferably one that waits for input, so it is still "
    "going), cancels it: 200, the run ends `cancelled` with an end time and coherent values, "
    "no step left pending, running or waiting (inferred).",
    family="lifecycle",
    source=(
        "Kibana: elastic/kibana:src/platform/plugins/shared/workflows_management/server/"
        "api/routes/executions/cancel_execution.ts@88538b50 and elastic/kibana:src/"
        "platform/plugins/shared/workflows_execution_engine/server/execution_functions/"
        "cancel_workflow.ts@03e4a1e8"
    ),
    applies=_is("cancelExecution"),
    writes=True,
)
def run_cancels(ctx: Context) -> Iterator[Finding]:
    if ctx.profile.api != "kibana":
        return  # no cancel endpoint: no case to report
    operation = _specs.operation("kibana", "cancelExecution")
    reason = not_applicable(ctx)
    if reason is not None:
        ctx.skip(operation.operation_id, reason)
        return
    waits = bool(workflows(ctx, hitl=True))
    chosen = workflows(ctx, hitl=waits)
    if not chosen:
        ctx.skip(operation.operation_id, "no startable workflow was found in the workflow list")
        return
    watch = _running(ctx, chosen[0], waits)
    if isinstance(watch, str):
        ctx.skip(operation.operation_id, watch)
        return
    yield from _cancel(ctx, watch, operation, waits)
    yield from watch.rules.findings


def _running(ctx: Context, candidate: Candidate, waits: bool) -> RunWatch | str:
    if waits:
        return _wait_for_input(ctx, "run_cancels", candidate)
    started = start_run(ctx, candidate, "run_cancels")
    if started.run_id is None:
        return f"{started.problem or 'no run was started'} (see run_starts)"
    watch = RunWatch(
        ctx, workflow_id=candidate.workflow_id, run_id=started.run_id, check="run_cancels"
    )
    seen = watch.until(lambda o: o.run_exchange.ok or _unreadable(o))
    if seen is None or not seen.run_exchange.ok:
        return "the started run cannot be read (see run_starts)"
    if seen.status in _vendors.TERMINAL["kibana"]:
        return f"the run ended {seen.status!r} before it could be cancelled"
    return watch


def _cancel(ctx: Context, watch: RunWatch, operation: Operation, waits: bool) -> Iterator[Finding]:
    with ctx.lifecycle_budget():
        cancel = ctx.post(
            operation, {"executionId": watch.run_id}, headers=LIFECYCLES["kibana"].write_headers
        )
    if cancel is None:
        ctx.skip(operation.operation_id, watch.describe_stop())
        return
    if cancel.status != 200:
        yield cancel.finding(
            "run_cancels",
            "cancelling a running run was refused",
            "$",
            "200 with an empty body",
            f"{cancel.describe()}: {short(cancel.body[:200])}",
        )
        return
    terminal = _vendors.TERMINAL["kibana"]
    end = watch.until(lambda o: o.status in terminal)
    if end is None:
        if watch.timed_out:
            yield cancel.finding(
                "run_cancels",
                "the cancelled run did not end",
                "$",
                "status 'cancelled' within --lifecycle-timeout (cancellation is asynchronous)",
                f"still {watch.latest.status if watch.latest else None!r}",
            )
        else:
            ctx.skip(operation.operation_id, watch.describe_stop())
        return
    watch.confirm()
    if end.status != "cancelled":
        if not waits:
            ctx.skip(
                operation.operation_id,
                f"the run ended {end.status!r} before the cancel took effect (no workflow that "
                "waits for input was found, so the race could not be avoided)",
            )
            return
        yield end.run_exchange.finding(
            "run_cancels",
            "the cancelled run ended with another status",
            f"{end.run.path}.status" if end.run is not None else "$",
            "'cancelled' (the run was waiting for input when it was cancelled)",
            short(end.status),
        )
    yield from finished_run_findings(ctx, watch, "run_cancels")
