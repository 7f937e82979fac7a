"""The seeded Trigify world: workflows (drafts and published), their executions and steps.

Everything is a pure function of ``(seed, indices)``. Every sixth workflow (at an offset drawn
from the seed, never workflow 0) is a ``DRAFT`` and has never run; the others are ``PUBLISHED``
with ``runs_per_workflow`` executions, most of them enabled. Because drafts sit at a fixed
stride, the ``status`` filter of the workflow list pages in O(1) even for a million workflows.

Execution ``r`` of a workflow is the ``r``-th newest (start times strictly decrease with ``r``).
Statuses: execution 0 of some enabled workflows is running (always in workflow 0, with its first
step running and the next one pending), about one in seven failed (always executions 1 and 2 of
workflow 0: one with a string step error, one with an object), the rest completed. The webhook
router skips the branch its condition did not take.
"""

from __future__ import annotations

import random
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from mock_server._budget import PLAN_STEPS, CostLru, steps_cost
from mock_server._rng import rng_for
from mock_server._timeline import ErrorInfo, Outcome, RunPlan, RunTimeline, StepPlan, observe
from mock_server._vocab import Vocabulary
from mock_server.trigify._actions import OutputCall, draw_duration, draw_error, output_for, resolve
from mock_server.trigify._definition import Action, Workflow, build_workflow, trigger_outputs
from mock_server.trigify._naming import TrigifyIds

Json = Any
HEAD_US = 3_600 * 1_000_000
MAX_SPACING_US = 4 * 3_600 * 1_000_000
HISTORY_SPAN_US = 180 * 86_400 * 1_000_000
DRAFT_STRIDE = 6


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
        taken = [workflow.side(action.id) in (None, branch) for action in workflow.actions]
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
        steps = self._steps(workflow, trigger, taken, durations, fail_at, started + lead, gap, rng)
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

    def _steps(
        self,
        workflow: Workflow,
        trigger: Mapping[str, Json],
        taken: list[bool],
        durations: list[int],
        fail_at: int,
        clock: int,
        gap: int,
        rng: random.Random,
    ) -> tuple[StepPlan, ...]:
        context: dict[str, Json] = {"trigger": {"outputs": trigger}}
        steps: list[StepPlan] = []
        failed = False
        for position, action in enumerate(workflow.actions):
            duration = durations[position]
            if failed or not taken[position]:
                outcome = Outcome.COMPLETE if failed else Outcome.SKIP
                steps.append(_step(action, position, duration, {}, None, outcome))
                clock += duration + gap
                continue
            inputs = {key: resolve(value, context) for key, value in action.inputs.items()}
            if position == fail_at:
                code, message, retryable = draw_error(action.kind, rng)
                error = ErrorInfo(code, message, {"retryable": retryable})
                steps.append(_step(action, position, duration, inputs, None, Outcome.FAIL, error))
                failed = True
                continue
            branch = trigger.get("body", {}).get("intent", "high") == "high"
            call = OutputCall(rng, self.vocab, inputs, trigger, clock + duration, branch)
            output = output_for(action.recipe, call)
            context[action.id] = output
            steps.append(_step(action, position, duration, inputs, output))
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
) -> StepPlan:
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
    )
