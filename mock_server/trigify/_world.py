"""The seeded Trigify world: workflows (drafts and published), their executions and steps.

Everything is a pure function of ``(seed, indices)``. Every sixth workflow (at an offset drawn
from the seed, never workflow 0) is a ``DRAFT`` and has never run; the others are ``PUBLISHED``
with ``runs_per_workflow`` executions, most of them enabled. Because drafts sit at a fixed
stride, the ``status`` filter of the workflow list pages in O(1) even for a million workflows.

Execution ``r`` of a workflow is the ``r``-th newest (start times strictly decrease with ``r``).
Statuses: execution 0 of some enabled workflows is running (always in workflow 0, with its first
step running and the next one pending), about one in seven failed (always executions 1 and 2 of
workflow 0: one with a string step error, one with an object), the rest completed. The webhook
router skips the branch its condition did not take. About a third of the failures outside
workflow 0 are timeouts: the action never reports an end (Trigify shows it ``failed`` without
``ended_at``, "Action timed out") and the execution ends ``failed`` when the engine gives up. A
loop body runs once per item of its ``builtin:loop`` (a step per iteration, same ``step_id``).

Runs started with ``POST /v1/workflows/{id}/test`` or by the mock itself (auto runs) are live
(``live_planned``): the same plan from the request's ``overrides`` (the trigger payload), at the
clock; an action named in ``test_config.action_mocks`` with ``enabled`` does not run: it returns
the mock's ``output`` at once. A run that follows a failing scenario (``mock_server.live``) fails
the way Trigify runs most often do: its first action that is neither mocked nor control flow
times out.
"""

from __future__ import annotations

import random
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from mock_server._budget import PLAN_STEPS, CostLru, steps_cost
from mock_server._rng import rng_for
from mock_server._timeline import ErrorInfo, Outcome, RunPlan, RunTimeline, StepPlan, observe
from mock_server._vocab import Vocabulary
from mock_server.live import scenario
from mock_server.trigify._actions import OutputCall, draw_duration, draw_error, output_for, resolve
from mock_server.trigify._definition import Action, Workflow, build_workflow, trigger_outputs
from mock_server.trigify._naming import TrigifyIds

if TYPE_CHECKING:
    from mock_server.live import LiveRun

Json = Any
HEAD_US = 3_600 * 1_000_000
MAX_SPACING_US = 4 * 3_600 * 1_000_000
HISTORY_SPAN_US = 180 * 86_400 * 1_000_000
DRAFT_STRIDE = 6
TIMEOUT_SHARE = 0.35
"""Share of failures (outside workflow 0) that are timeouts."""
TIMED_OUT = "Action timed out"
TIMEOUT_US = 300 * 1_000_000
"""How long an action runs before the engine gives up on it."""
MOCKED_US = 20_000
"""How long an action mocked by ``test_config.action_mocks`` takes."""


@dataclass(frozen=True, slots=True)
class WorkflowState:
    """What the world decides about a workflow besides its definition."""

    published: bool
    enabled: bool
    created_us: int
    updated_us: int


@dataclass(frozen=True, slots=True)
class PlannedExecution:
    """An execution plan plus what only Trigify renders."""

    plan: RunPlan
    workflow: Workflow
    started_us: int
    """When the execution (not its first step) started."""
    error_as_object: bool
    """Whether a failing step reports its error as an object (else as a string)."""


class TrigifyWorld:
    """Workflows and executions of one seed; everything on demand, behind bounded caches."""

    def __init__(
        self,
        seed: int,
        workflows: int,
        runs_per_workflow: int,
        world_now_us: int,
        vocab: Vocabulary,
        cache_size: int = 1024,
    ) -> None:
        self.seed = seed
        self.workflows = workflows
        self.runs = runs_per_workflow
        self.now_us = world_now_us
        self.vocab = vocab
        self.ids = TrigifyIds(seed)
        self.draft_slot = 1 + seed % (DRAFT_STRIDE - 1)
        self.spacing_us = min(MAX_SPACING_US, HISTORY_SPAN_US // runs_per_workflow)
        self.workflow = lru_cache(maxsize=cache_size)(self._workflow)
        self.state = lru_cache(maxsize=cache_size)(self._state)
        self.workflow_id = lru_cache(maxsize=cache_size)(self.ids.workflow_id)
        self.planned: CostLru[PlannedExecution] = CostLru(
            self._planned, PLAN_STEPS, lambda planned: steps_cost(len(planned.plan.steps))
        )

    # -- workflows and the status filter ---------------------------------------------------

    def is_draft(self, index: int) -> bool:
        """Whether workflow ``index`` is a ``DRAFT``."""
        return index % DRAFT_STRIDE == self.draft_slot

    def count(self, status: str | None) -> int:
        """How many workflows have ``status`` (None: all)."""
        drafts = max(0, (self.workflows - self.draft_slot + DRAFT_STRIDE - 1) // DRAFT_STRIDE)
        if status is None:
            return self.workflows
        return drafts if status == "DRAFT" else self.workflows - drafts

    def nth(self, status: str | None, position: int) -> int:
        """The index of the ``position``-th workflow with ``status`` (None: any)."""
        if status is None:
            return position
        if status == "DRAFT":
            return self.draft_slot + DRAFT_STRIDE * position
        block, offset = divmod(position, DRAFT_STRIDE - 1)
        return DRAFT_STRIDE * block + offset + (offset >= self.draft_slot)

    def _workflow(self, index: int) -> Workflow:
        rng = rng_for(self.seed, "trigify", "workflow", index)
        return build_workflow(index, rng, self.vocab, self.is_draft(index))

    def _state(self, index: int) -> WorkflowState:
        """Status, enabled flag and dates of workflow ``index``."""
        rng = rng_for(self.seed, "trigify", "workflow-state", index)
        published = not self.is_draft(index)
        enabled = published and (index == 0 or rng.random() < 0.85)
        oldest = self.now_us - HEAD_US - (self.run_count(index) + 1) * self.spacing_us
        created = oldest - int((1 + rng.random() * 45) * 86_400_000_000)
        updated = created + int(rng.random() * (oldest - created))
        return WorkflowState(published, enabled, created, updated)

    # -- executions ------------------------------------------------------------------------

    def run_count(self, index: int) -> int:
        """How many executions workflow ``index`` has (drafts never ran)."""
        return 0 if self.is_draft(index) else self.runs

    def has_run(self, index: int, run: int) -> bool:
        """Whether execution ``run`` of workflow ``index`` exists."""
        return index < self.workflows and run < self.run_count(index)

    def timeline(self, index: int, run: int) -> tuple[PlannedExecution, RunTimeline]:
        """Execution ``run`` of workflow ``index`` as seen at the world's "now"."""
        planned = self.planned(index, run)
        return planned, observe(planned.plan, self.now_us)

    def _target(self, index: int, run: int, enabled: bool, draw: float) -> str:
        if run == 0 and enabled and (index == 0 or draw < 0.35):
            return "running"
        if (index == 0 and run in (1, 2)) or (run > 0 and draw < 0.15):
            return "failed"
        return "completed"

    def _planned(self, index: int, run: int) -> PlannedExecution:
        rng = rng_for(self.seed, "trigify", "run", index, run)
        workflow = self.workflow(index)
        target = self._target(index, run, self.state(index).enabled, rng.random())
        jitter = int(rng.random() * self.spacing_us)
        started = self.now_us - HEAD_US - run * self.spacing_us - jitter
        trigger = trigger_outputs(workflow.trigger_kind, rng, self.vocab, started)
        branch = trigger.get("body", {}).get("intent", "high") == "high"
        taken = workflow.taken(branch)
        durations = [
            draw_duration(action.kind, rng) if on else 0
            for action, on in zip(workflow.actions, taken, strict=True)
        ]
        gap, lead = 5_000 + int(rng.random() * 20_000), 50_000 + int(rng.random() * 100_000)
        real = [i for i, on in enumerate(taken) if on]
        fail_at = -1
        if target == "failed":
            fail_at = real[int(rng.random() * len(real))]
        if target == "running":
            at = real[0] if index == 0 else real[int(rng.random() * len(real))]
            elapsed = sum(durations[:at]) + at * gap + lead
            started = self.now_us - elapsed - int(durations[at] * (0.1 + 0.8 * rng.random()))
        as_object = rng.random() < 0.5
        if index == 0 and run in (1, 2):
            as_object = run == 2
        times_out = fail_at >= 0 and index != 0 and rng.random() < TIMEOUT_SHARE
        steps = self._steps(
            workflow, trigger, taken, durations, (fail_at, times_out), started + lead, gap, rng
        )
        plan = RunPlan(
            run_id=self.ids.run_id(index, run),
            workflow_id=self.workflow_id(index),
            workflow_name=workflow.name,
            started_us=started + lead,
            steps=steps,
            gap_us=gap,
            inputs=trigger,
            triggered_by=workflow.trigger_kind,
        )
        return PlannedExecution(plan, workflow, started, as_object)

    def live_planned(self, workflow: Workflow, workflow_id: str, live: LiveRun) -> PlannedExecution:
        """The plan of a live run: it completes (mocked actions at once) unless its scenario
        fails; then its first real action times out."""
        rng = rng_for(self.seed, "trigify", "live", live.seq)
        overrides = live.spec.get("overrides")
        trigger = (
            dict(overrides)
            if isinstance(overrides, Mapping) and overrides
            else trigger_outputs(workflow.trigger_kind, rng, self.vocab, live.started_us)
        )
        mocks: Mapping[str, Json] = live.spec.get("mocks") or {}
        branch = trigger.get("body", {}).get("intent", "high") == "high"
        taken = workflow.taken(branch)
        chosen = scenario(str(live.spec["scenario"])) if "scenario" in live.spec else None
        fail_at = -1
        if chosen is not None and chosen.outcome == "failed":
            real = [
                i
                for i, action in enumerate(workflow.actions)
                if taken[i] and action.id not in mocks and not action.kind.startswith("builtin:")
            ]
            fail_at = real[0] if real else -1
        durations = [
            (MOCKED_US if action.id in mocks else draw_duration(action.kind, rng)) if on else 0
            for action, on in zip(workflow.actions, taken, strict=True)
        ]
        gap, lead = 5_000 + int(rng.random() * 20_000), 50_000 + int(rng.random() * 100_000)
        started = live.started_us
        steps = self._steps(
            workflow, trigger, taken, durations, (fail_at, True), started + lead, gap, rng, mocks
        )
        plan = RunPlan(
            run_id=live.run_id,
            workflow_id=workflow_id,
            workflow_name=workflow.name,
            started_us=started + lead,
            steps=steps,
            gap_us=gap,
            inputs=trigger,
            is_test=bool(live.spec.get("test", True)),
            triggered_by=workflow.trigger_kind,
        )
        return PlannedExecution(plan, workflow, started, False)

    def _steps(
        self,
        workflow: Workflow,
        trigger: Mapping[str, Json],
        taken: list[bool],
        durations: list[int],
        failure: tuple[int, bool],
        clock: int,
        gap: int,
        rng: random.Random,
        mocks: Mapping[str, Json] | None = None,
    ) -> tuple[StepPlan, ...]:
        """The steps of one execution; ``failure`` is (action position that fails or -1,
        whether it times out); a loop body gets one step per item of its loop."""
        fail_at, times_out = failure
        context: dict[str, Json] = {"trigger": {"outputs": trigger}}
        steps: list[StepPlan] = []
        failed = False
        branch = trigger.get("body", {}).get("intent", "high") == "high"
        for position, action in enumerate(workflow.actions):
            duration = durations[position]
            if failed or not taken[position]:
                outcome = Outcome.COMPLETE if failed else Outcome.SKIP
                steps.append(_step(action, position, duration, {}, None, outcome))
                clock += duration + gap
                continue
            loop = workflow.loops.get(action.id)
            items: list[Json] = [None]
            if loop is not None:
                items = list(context.get(loop, {}).get("result", {}).get("collection") or [])
            fail_item = int(rng.random() * len(items)) if position == fail_at and items else -1
            for iteration, item in enumerate(items, start=1):
                if loop is not None:
                    context[loop] = {**context[loop], "item": item}
                inputs = {key: resolve(value, context) for key, value in action.inputs.items()}
                tag = (iteration, len(items)) if loop is not None else None
                if position == fail_at and iteration - 1 == max(fail_item, 0):
                    code, message, retryable = draw_error(action.kind, rng)
                    outcome = Outcome.FAIL
                    if times_out:
                        code, message, retryable, outcome = (
                            "TIMEOUT",
                            TIMED_OUT,
                            True,
                            Outcome.TIME_OUT,
                        )
                    error = ErrorInfo(code, message, {"retryable": retryable})
                    steps.append(
                        _step(action, position, duration, inputs, None, outcome, error, tag)
                    )
                    failed = True
                    break
                if mocks is not None and action.id in mocks:
                    output = mocks[action.id]
                else:
                    call = OutputCall(rng, self.vocab, inputs, trigger, clock + duration, branch)
                    output = output_for(action.recipe, call)
                context[action.id] = output
                steps.append(_step(action, position, duration, inputs, output, tag=tag))
                clock += duration + gap
        return tuple(steps)


def _step(
    action: Action,
    position: int,
    duration_us: int,
    inputs: Mapping[str, Json],
    output: Json,
    outcome: Outcome = Outcome.COMPLETE,
    error: ErrorInfo | None = None,
    tag: tuple[int, int] | None = None,
) -> StepPlan:
    """One step; ``tag`` is (iteration, total items) for a loop body's step."""
    return StepPlan(
        step_key=action.id,
        name=action.name,
        kind=action.kind,
        topological_index=position,
        duration_us=duration_us,
        input=inputs,
        output=output,
        outcome=outcome,
        error=error,
        iteration=0 if tag is None else tag[0],
        extra={} if tag is None else {"totalItems": tag[1]},
    )
