"""The seeded Arcee world: which workflows exist, which runs they had, and what each run did.

Workflow ``w`` and run ``r`` of it are pure functions of ``(seed, w, r)``: nothing is stored but
bounded LRU caches. Run 0 is the newest; start times strictly decrease with ``r`` (run ``r``
starts between ``HEAD + r*spacing`` and ``HEAD + (r+1)*spacing`` before the world's "now"), so
"newest first" is index order and ``limit``/``offset`` are slices of ``range(runs)``. A run is a
``RunPlan`` (what it does) observed at ``world_now_us``; a run meant to be *running* starts just
far enough in the past that the observation lands inside one of its steps.

Statuses: run 0 of some workflows is running (always in workflow 0), about one run in seven has
a failing node (always run 1 of workflow 0), the rest completed. Besides the
``workflows_per_api`` generated workflows there is one bulk workflow of 1,000 nodes with three
runs (running, failed, completed) for load tests.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from functools import lru_cache
from typing import Any

from mock_server._budget import PLAN_STEPS, CostLru, steps_cost
from mock_server._rng import rng_for
from mock_server._timeline import ErrorInfo, Outcome, RunPlan, RunTimeline, StepPlan, observe
from mock_server._vocab import Vocabulary, pick
from mock_server.arcee import _text
from mock_server.arcee._graph import Workflow, build_bulk_workflow, build_workflow
from mock_server.arcee._naming import BULK_WORKFLOW, ArceeIds
from mock_server.arcee._nodes import NodeCall, draw_duration, run_node
from mock_server.live import LiveRun, scenario

Json = Any
HEAD_US = 3_600 * 1_000_000
"""The newest finished run started at least this long before the world's "now"."""
MAX_SPACING_US = 6 * 3_600 * 1_000_000
HISTORY_SPAN_US = 180 * 86_400 * 1_000_000
"""All runs of a workflow fit in this span (so huge worlds stay after 1970)."""
BULK_RUNS = 3


class Target(StrEnum):
    """How a planned run ends (as seen at the world's "now")."""

    COMPLETED = "completed"
    FAILED = "failed"
    RUNNING = "running"


Route = tuple[list[str], bool, list[int], int]
"""(node ids in execution order, conditional side taken, duration of each node, gap) in µs."""


@dataclass(frozen=True, slots=True)
class PlannedRun:
    """A run plan plus the facts rendering needs that the neutral plan does not carry."""

    plan: RunPlan
    workflow: Workflow
    values: Mapping[str, Json]
    """Each executed node's value (what ``all_outputs`` shows), by node id."""


def _planned_cost(planned: PlannedRun) -> int:
    """A plan step plus its node's value."""
    return steps_cost(len(planned.plan.steps) + len(planned.values))


class ArceeWorld:
    """Workflows and runs of one seed; cheap to build, everything else on demand."""

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
        self.ids = ArceeIds(seed)
        self.entity_id = pick(rng_for(seed, "arcee", "entity"), vocab.usernames)
        self.spacing_us = min(MAX_SPACING_US, HISTORY_SPAN_US // runs_per_workflow)
        self.workflow = lru_cache(maxsize=cache_size)(self._workflow)
        self.workflow_id = lru_cache(maxsize=cache_size)(self.ids.workflow_id)
        self.planned: CostLru[PlannedRun] = CostLru(self._planned, PLAN_STEPS, _planned_cost)

    # -- workflows -------------------------------------------------------------------------

    def workflow_indices(self) -> tuple[int, ...]:
        """Every workflow of the world, in listing order (the bulk workflow last)."""
        return (*range(self.workflows), BULK_WORKFLOW)

    def has_workflow(self, index: int) -> bool:
        """Whether ``index`` names a workflow of this world."""
        return index < self.workflows or index == BULK_WORKFLOW

    def _workflow(self, index: int) -> Workflow:
        rng = rng_for(self.seed, "arcee", "workflow", index)
        if index == BULK_WORKFLOW:
            return build_bulk_workflow(index, rng, self.vocab)
        return build_workflow(index, rng, self.vocab)

    def created_us(self, index: int) -> tuple[int, int]:
        """When workflow ``index`` was created and last updated (before its oldest run)."""
        rng = rng_for(self.seed, "arcee", "workflow-dates", index)
        oldest = self.now_us - HEAD_US - (self.run_count(index) + 1) * self.spacing_us
        created = oldest - int((1 + rng.random() * 60) * 86_400 * 1_000_000)
        return created, created + int(rng.random() * (oldest - created))

    # -- runs ------------------------------------------------------------------------------

    def run_count(self, index: int) -> int:
        """How many runs workflow ``index`` has had."""
        return BULK_RUNS if index == BULK_WORKFLOW else self.runs

    def has_run(self, index: int, run: int) -> bool:
        """Whether run ``run`` of workflow ``index`` exists."""
        return self.has_workflow(index) and run < self.run_count(index)

    def target(self, index: int, run: int, rng: random.Random) -> Target:
        """How run ``run`` of workflow ``index`` ends; draws once from ``rng`` either way."""
        draw = rng.random()
        if index == BULK_WORKFLOW:
            return (Target.RUNNING, Target.FAILED, Target.COMPLETED)[run]
        if run == 0 and (index == 0 or draw < 0.35):
            return Target.RUNNING
        if (index, run) == (0, 1) or (run > 0 and draw < 0.15):
            return Target.FAILED
        return Target.COMPLETED

    def timeline(self, index: int, run: int) -> tuple[PlannedRun, RunTimeline]:
        """Run ``run`` of workflow ``index`` as seen at the world's "now"."""
        planned = self.planned(index, run)
        return planned, observe(planned.plan, self.now_us)

    def _planned(self, index: int, run: int) -> PlannedRun:
        rng = rng_for(self.seed, "arcee", "run", index, run)
        workflow = self.workflow(index)
        target = self.target(index, run, rng)
        inputs = self.draw_inputs(workflow, rng)
        path, branch = self.draw_path(workflow, rng)
        durations = [draw_duration(workflow.node(node_id).kind, rng) for node_id in path]
        gap = 10_000 + int(rng.random() * 30_000)
        fail_at = len(path)
        if target is Target.FAILED:
            fail_at = int(rng.random() * len(path))
            if index == BULK_WORKFLOW:
                fail_at = len(path) * 4 // 5
            path, durations = path[: fail_at + 1], durations[: fail_at + 1]
        jitter = int(rng.random() * self.spacing_us)
        started = self.now_us - HEAD_US - run * self.spacing_us - jitter
        if target is Target.RUNNING:
            at = len(path) // 2 if index == BULK_WORKFLOW else int(rng.random() * len(path))
            elapsed = sum(durations[:at]) + at * gap
            started = self.now_us - elapsed - int(durations[at] * (0.1 + 0.8 * rng.random()))
        run_id = self.ids.run_id(index, run)
        return self.plan(
            workflow,
            self.workflow_id(index),
            run_id,
            inputs,
            (path, branch, durations, gap),
            started,
            fail_at,
            rng,
        )

    def live_planned(
        self,
        workflow: Workflow,
        workflow_id: str,
        live: LiveRun,
        span: Callable[[int], int] = int,
    ) -> PlannedRun:
        """The plan of a run started over HTTP (inputs are the request body). It completes,
        unless its scenario fails: then the first node of the scenario's ``arcee.fail_kind``
        on the path fails (the last node, if the path has none of that kind). ``span`` maps
        each drawn duration and gap (``--time-scale`` shortens them before the nodes run, so
        the timestamps inside node outputs are real instants too)."""
        rng = rng_for(self.seed, "arcee", "live", live.seq)
        inputs = dict(live.spec.get("inputs") or {})
        path, branch = self.draw_path(workflow, rng)
        durations = [span(draw_duration(workflow.node(node_id).kind, rng)) for node_id in path]
        gap = span(10_000 + int(rng.random() * 30_000))
        route = (path, branch, durations, gap)
        fail_at = len(path)
        chosen = scenario(str(live.spec["scenario"])) if "scenario" in live.spec else None
        if chosen is not None and chosen.outcome == "failed":
            kinds = [workflow.node(node_id).kind.value for node_id in path]
            wanted = chosen.arcee_fail_kind
            fail_at = kinds.index(wanted) if wanted in kinds else len(path) - 1
            path, durations = path[: fail_at + 1], durations[: fail_at + 1]
            route = (path, branch, durations, gap)
        return self.plan(
            workflow, workflow_id, live.run_id, inputs, route, live.started_us, fail_at, rng
        )

    def draw_inputs(self, workflow: Workflow, rng: random.Random) -> dict[str, Json]:
        """Values for the workflow's input variables."""
        values: dict[str, Json] = {}
        for name in workflow.input_names:
            if name == "ticket_text":
                values[name] = pick(rng, self.vocab.paragraphs)
            elif name == "email_subject":
                values[name] = f"Your question about {workflow.subject}"
            elif name == "batch_id":
                values[name] = f"batch-{rng.getrandbits(24):06x}"
            elif name == "topic":
                values[name] = workflow.subject
            else:
                values[name] = _text.prompt(rng, self.vocab, workflow.subject)
        return values

    def draw_path(self, workflow: Workflow, rng: random.Random) -> tuple[list[str], bool]:
        """The node ids a run executes (START and END excluded) and which side a conditional
        takes (True: its first edge)."""
        branch = rng.random() < 0.5
        if workflow.index == BULK_WORKFLOW:
            return [node.node_id for node in workflow.nodes], branch
        return list(workflow.path(branch)), branch

    def plan(
        self,
        workflow: Workflow,
        workflow_id: str,
        run_id: str,
        inputs: Mapping[str, Json],
        route: Route,
        started_us: int,
        fail_at: int,
        rng: random.Random,
    ) -> PlannedRun:
        """The plan of a run of ``workflow`` along ``route`` (static and live runs alike); the
        node at ``fail_at`` fails and ends the run."""
        path, branch, durations, gap_us = route
        variables: dict[str, Json] = dict(inputs)
        values: dict[str, Json] = {}
        steps: list[StepPlan] = []
        clock = started_us
        previous: str | None = None
        for position, node_id in enumerate(path):
            node = workflow.node(node_id)
            duration = durations[position]
            input_data = dict(inputs)
            if previous is not None and values.get(previous) is not None:
                input_data[previous] = values[previous]
            call = NodeCall(
                node=node,
                rng=rng,
                vocab=self.vocab,
                subject=workflow.subject,
                variables=variables,
                base_inputs={"run_id": run_id, "input_data": input_data},
                start_us=clock,
                duration_us=duration,
                fail=position == fail_at,
                entity_id=self.entity_id,
                branch=branch,
            )
            result = run_node(call)
            error = result.error
            steps.append(
                StepPlan(
                    step_key=node_id,
                    name=node.label,
                    kind=node.kind._value_,  # the plain string (``.value`` is a slow property)
                    topological_index=position,
                    duration_us=duration,
                    input=result.inputs,
                    output=result.outputs,
                    outcome=Outcome.COMPLETE if error is None else Outcome.FAIL,
                    error=ErrorInfo("NodeError", error) if error else None,
                )
            )
            if error is not None:
                break
            values[node_id] = variables[node_id] = result.value
            previous = node_id
            clock += duration + gap_us
        plan = RunPlan(
            run_id=run_id,
            workflow_id=workflow_id,
            workflow_name=workflow.name,
            started_us=started_us,
            steps=tuple(steps),
            gap_us=gap_us,
            inputs=dict(inputs),
        )
        return PlannedRun(plan, workflow, values)
