"""Vendor-neutral runs: a plan, observed at a moment, gives a coherent timeline.

A ``RunPlan`` says what a run *will* do: its steps in execution order, how long each takes and
how each ends (complete, fail, wait for a human, time out, be skipped). ``observe(plan, now)``
turns it into a ``RunTimeline``: what a client sees at ``now``. Static runs of the seeded world
are plans observed at the world's fixed "now"; live runs are plans observed at the real clock,
with the events a client caused (resume, cancel). Vendors only render timelines, so end >= start,
statuses that agree with their steps, and durations that match timestamps hold everywhere by
construction.

All times are integer microseconds since the Unix epoch.

Time scale. ``compress(plan, k)`` is the plan played ``k`` times as fast: every duration, gap,
timeout and planned answer is divided by ``k``. Live runs are compressed and observed at the real
clock, so ``--time-scale 10`` makes a run take a tenth of the wall time while every timestamp
stays a real instant (never later than the server's ``Date``) and durations still equal
``finished - started``. (Observing an uncompressed plan at a clock running ``k`` times as fast
would put finish times and answers up to minutes into the future.)

Plans and timelines are built per step of every run, so their four classes (``StepPlan``,
``StepRun``, ``RunPlan``, ``RunTimeline``) are plain slotted dataclasses, not frozen ones: on
Python 3.11 a frozen dataclass sets each field through ``object.__setattr__``, which made
building them 10-15x slower. They are still values: caches hand the same objects to every
reader, so code must never change one (``dataclasses.replace`` makes a changed copy).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from enum import StrEnum
from typing import Any

from mock_server._stamp import iso_millis

Json = Any
"""Any JSON value (dicts, lists, strings, numbers, booleans, None)."""


class Status(StrEnum):
    """Neutral run/step status; the names follow Kibana's ``ExecutionStatus`` (the richest)."""

    PENDING = "pending"
    QUEUED = "queued"
    RUNNING = "running"
    WAITING = "waiting"
    WAITING_FOR_INPUT = "waiting_for_input"
    WAITING_FOR_CHILD = "waiting_for_child"
    COMPLETED = "completed"
    FAILED = "failed"
    CANCELLED = "cancelled"
    TIMED_OUT = "timed_out"
    SKIPPED = "skipped"


TERMINAL = frozenset(
    {Status.COMPLETED, Status.FAILED, Status.CANCELLED, Status.TIMED_OUT, Status.SKIPPED}
)
_ENDS_RUN = frozenset({Status.FAILED, Status.TIMED_OUT})
"""A step that ends so ends its run."""


class Outcome(StrEnum):
    """How a planned step ends."""

    COMPLETE = "complete"
    FAIL = "fail"
    TIME_OUT = "time_out"
    SKIP = "skip"
    WAIT_FOR_INPUT = "wait_for_input"


_COMPLETE, _COMPLETED = Outcome.COMPLETE, Status.COMPLETED
"""As module globals for ``observe``'s per-step path: on Python 3.11 reading an enum member off
its class costs several times a global lookup."""


@dataclass(frozen=True, slots=True)
class ErrorInfo:
    """A step or run error: Kibana's ``SerializedError`` shape, the richest of the three."""

    type: str
    message: str
    details: Mapping[str, Json] | None = None


@dataclass(frozen=True, slots=True)
class HitlResponse:
    """A human's answer to a wait-for-input step."""

    responded_by: str
    responded_us: int
    channel: str
    input: Mapping[str, Json]


@dataclass(frozen=True, slots=True)
class ScopeEntry:
    """One nested scope a step runs in (a foreach iteration, a retry attempt)."""

    node_id: str
    node_type: str
    scope_id: str | None = None


@dataclass(frozen=True, slots=True)
class ScopeFrame:
    """Kibana ``StackFrame``: the enclosing step and the scopes it opened."""

    step_id: str
    nested_scopes: tuple[ScopeEntry, ...]


@dataclass(slots=True)
class StepPlan:
    """What one step execution will do."""

    step_key: str
    """The workflow's name for the step.

    Kibana ``stepId``, Arcee ``node_id``, Trigify ``step_id``.
    """
    name: str | None
    kind: str
    """Step type (Kibana ``stepType``, Arcee node type, Trigify ``operation``)."""
    topological_index: int
    duration_us: int
    input: Json
    output: Json
    outcome: Outcome = Outcome.COMPLETE
    error: ErrorInfo | None = None
    iteration: int = 0
    scope: tuple[ScopeFrame, ...] = ()
    active_status: Status = Status.RUNNING
    """Status while in progress: RUNNING, or WAITING (timer), or WAITING_FOR_CHILD."""
    planned_response: HitlResponse | None = None
    """For WAIT_FOR_INPUT: the answer that will come (None: wait until resumed)."""
    hitl_timeout_us: int | None = None
    """For WAIT_FOR_INPUT: how long to wait before the system answers with channel "timeout"."""
    extra: Mapping[str, Json] = field(default_factory=dict)
    """Vendor-specific facts the renderer needs and the timeline ignores (e.g. token usage)."""


@dataclass(slots=True)
class RunPlan:
    """What one run will do."""

    run_id: str
    workflow_id: str
    workflow_name: str
    started_us: int
    steps: tuple[StepPlan, ...]
    gap_us: int = 5_000
    inputs: Mapping[str, Json] = field(default_factory=dict)
    is_test: bool = False
    triggered_by: str = "manual"
    executed_by: str = "elastic"
    space_id: str = "default"
    held_status: Status | None = None
    """Set for runs that never start (QUEUED, PENDING) or are skipped as a whole (SKIPPED)."""
    resume_lag_us: int = 1_000_000
    """How long after a human's answer the engine resumes the waiting step (see ``observe``)."""
    created_us: int | None = None
    """When the run was requested, if it then waited to be picked up (Kibana's Task Manager):
    from ``created_us`` until ``started_us`` it is PENDING and has not started; a cancel in that
    window ends it CANCELLED without ever starting."""


@dataclass(frozen=True, slots=True)
class RunEvents:
    """What clients did to a live run."""

    responses: Mapping[int, HitlResponse] = field(default_factory=dict)
    """Answers to wait-for-input steps, keyed by the step's position in the plan."""
    cancelled_us: int | None = None


@dataclass(slots=True)
class StepRun:
    """One step execution as seen at a moment."""

    plan: StepPlan
    position: int
    """Position in the run's execution order (Kibana ``globalExecutionIndex``)."""
    status: Status
    started_us: int | None
    finished_us: int | None
    output: Json
    error: ErrorInfo | None
    hitl: HitlResponse | None

    @property
    def started(self) -> bool:
        """Whether the step has begun (vendors that list only started steps filter on it)."""
        return self.started_us is not None


@dataclass(slots=True)
class RunTimeline:
    """One run as seen at a moment."""

    plan: RunPlan
    status: Status
    finished_us: int | None
    steps: tuple[StepRun, ...]
    error: ErrorInfo | None
    run_started: bool = True
    """False for a run that never began (held, waiting to be picked up, cancelled before)."""

    @property
    def started_steps(self) -> tuple[StepRun, ...]:
        """The steps that have begun, in execution order."""
        return tuple(step for step in self.steps if step.started)


NO_EVENTS = RunEvents()
# A HITL answer is recorded at once; the step completes when the engine resumes,
# ``plan.resume_lag_us`` later (the documented "responded but not yet resumed" state is visible
# in between).


def scaled_us(us: int, scale: float) -> int:
    """A span of ``us`` played ``scale`` times as fast (a non-zero span stays non-zero)."""
    if scale == 1.0 or us <= 0:
        return us
    return max(1, round(us / scale))


def compress(plan: RunPlan, scale: float) -> RunPlan:
    """``plan`` played ``scale`` times as fast, from the same start (see the module docstring)."""
    if scale == 1.0:
        return plan
    start = plan.started_us

    def answer(response: HitlResponse | None) -> HitlResponse | None:
        if response is None:
            return None
        return replace(
            response, responded_us=start + scaled_us(response.responded_us - start, scale)
        )

    steps = tuple(
        replace(
            step,
            duration_us=scaled_us(step.duration_us, scale),
            planned_response=answer(step.planned_response),
            hitl_timeout_us=None
            if step.hitl_timeout_us is None
            else scaled_us(step.hitl_timeout_us, scale),
        )
        for step in plan.steps
    )
    return replace(
        plan,
        steps=steps,
        gap_us=scaled_us(plan.gap_us, scale),
        resume_lag_us=scaled_us(plan.resume_lag_us, scale),
    )


def observe(plan: RunPlan, now_us: int, events: RunEvents = NO_EVENTS) -> RunTimeline:
    """Return what ``plan`` looks like at ``now_us`` given the clients' ``events``."""
    if plan.held_status is not None:
        return _held(plan, now_us, events)
    stop = events.cancelled_us
    if plan.created_us is not None and (
        now_us < plan.started_us or (stop is not None and stop < plan.started_us)
    ):
        idle = tuple(_not_started(step, position) for position, step in enumerate(plan.steps))
        if stop is not None and stop <= now_us and stop < plan.started_us:
            return RunTimeline(plan, Status.CANCELLED, stop, idle, None, run_started=False)
        return RunTimeline(plan, Status.PENDING, None, idle, None, run_started=False)
    steps: list[StepRun] = []
    run_status: Status | None = None
    finished: int | None = None
    run_error: ErrorInfo | None = None
    clock = plan.started_us
    for position, step in enumerate(plan.steps):
        if run_status is not None:
            steps.append(_not_started(step, position))
            continue
        if stop is not None and stop <= min(clock, now_us):
            steps.append(_not_started(step, position))
            run_status, finished = Status.CANCELLED, stop
            continue
        if now_us < clock:
            steps.append(_not_started(step, position))
            run_status = Status.RUNNING
            continue
        end, status, output, error, hitl = _settle(
            step, position, clock, events, plan.resume_lag_us
        )
        if stop is not None and stop <= now_us and (end is None or stop < end):
            steps.append(StepRun(step, position, Status.CANCELLED, clock, stop, None, None, None))
            run_status, finished = Status.CANCELLED, stop
            continue
        if end is None or end > now_us:
            live = (
                Status.WAITING_FOR_INPUT
                if step.outcome is Outcome.WAIT_FOR_INPUT
                else step.active_status
            )
            seen_hitl = hitl if hitl is not None and hitl.responded_us <= now_us else None
            steps.append(StepRun(step, position, live, clock, None, None, None, seen_hitl))
            run_status = live
            continue
        steps.append(StepRun(step, position, status, clock, end, output, error, hitl))
        if status in _ENDS_RUN:
            run_status, finished, run_error = status, end, error
        clock = end + plan.gap_us
    if run_status is None:
        run_status = Status.COMPLETED
        ends = [s.finished_us for s in steps if s.finished_us is not None]
        finished = max(ends) if ends else plan.started_us
    return RunTimeline(plan, run_status, finished, tuple(steps), run_error)


def _held(plan: RunPlan, now_us: int, events: RunEvents) -> RunTimeline:
    steps = tuple(_not_started(step, position) for position, step in enumerate(plan.steps))
    stop = events.cancelled_us
    if plan.held_status not in TERMINAL and stop is not None and stop <= now_us:
        # cancelled while held
        return RunTimeline(plan, Status.CANCELLED, stop, steps, None, run_started=False)
    finished = plan.started_us if plan.held_status in TERMINAL else None
    status = plan.held_status or Status.PENDING
    return RunTimeline(plan, status, finished, steps, None, run_started=False)


def _not_started(step: StepPlan, position: int) -> StepRun:
    return StepRun(step, position, Status.PENDING, None, None, None, None, None)


def _settle(
    step: StepPlan, position: int, start: int, events: RunEvents, resume_lag_us: int
) -> tuple[int | None, Status, Json, ErrorInfo | None, HitlResponse | None]:
    """When and how a started step ends: (end or None if it waits forever, status, ...)."""
    if step.outcome is _COMPLETE:  # most steps: checked first, with a module-level name
        return start + step.duration_us, _COMPLETED, step.output, None, None
    if step.outcome is Outcome.SKIP:
        return start, Status.SKIPPED, None, None, None
    if step.outcome is Outcome.FAIL:
        return start + step.duration_us, Status.FAILED, None, step.error, None
    if step.outcome is Outcome.TIME_OUT:
        return start + step.duration_us, Status.TIMED_OUT, None, step.error, None
    if step.outcome is Outcome.WAIT_FOR_INPUT:
        response = events.responses.get(position) or step.planned_response
        if response is None and step.hitl_timeout_us is not None:
            at = start + step.hitl_timeout_us
            response = HitlResponse("system", at, "timeout", {})
        if response is None:
            return None, Status.WAITING_FOR_INPUT, None, None, None
        output = {
            "input": dict(response.input),
            "resumedBy": response.responded_by,
            "resumedAt": iso_millis(response.responded_us),
        }
        return response.responded_us + resume_lag_us, Status.COMPLETED, output, None, response
    return start + step.duration_us, Status.COMPLETED, step.output, None, None


def waiting_position(timeline: RunTimeline) -> int | None:
    """Position of the step that waits for a human right now, if any."""
    for step in timeline.steps:
        if step.status is Status.WAITING_FOR_INPUT:
            return step.position
    return None


def with_response(events: RunEvents, position: int, response: HitlResponse) -> RunEvents:
    """Return ``events`` plus a human's answer to the step at ``position``."""
    return replace(events, responses={**events.responses, position: response})


def parse_iso(text: str) -> int:
    """Microseconds since the epoch for an ISO 8601 timestamp (``Z`` or offset)."""
    moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    return int(moment.timestamp()) * 1_000_000 + moment.microsecond
