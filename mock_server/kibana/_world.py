"""The seeded Kibana world: workflows and their runs as pure functions of (seed, indices).

Workflow ``w`` uses template ``w % len(TEMPLATES)`` and lives in a space (the first templates'
worth in ``default``, the rest cycling through ``security``, ``observability``, ``default``).
Run ``r`` of a workflow has a cheap ``RunHeader`` (status fate, test flag, who and what triggered
it, when it started) and, on demand, a full ``RunPlan``.

Start times are strictly decreasing in ``r``: run ``r`` started ``elapsed`` ago, drawn from a
window of its own (``_window``), so the list order "newest first" is the index order and filters
need only headers. The newest runs hold the non-terminal statuses: run 0 shows the template's
``active`` status (waiting_for_input, waiting, waiting_for_child or running), run 1 is running
for even workflows, run 2 pending or queued for odd ones; older runs are completed, failed,
cancelled, timed_out or skipped. Plans are fitted to their start time: a terminal run ends before
the world's "now", and the active step of a non-terminal run spans it.

Some terminal runs take a shape only the server's code shows (``RunHeader.variant``): a run
cancelled while it was still pending (never started), one cancelled between two steps (the next
node gets a bare ``cancelled`` document), one failed by Task Manager's recovery (no
``duration``). Only scheduled workflows have skipped runs, created by the scheduler with
``executedBy: ""``; a skip drawn for another workflow becomes a run cancelled before it started.
"""

from __future__ import annotations

import random
from collections.abc import Mapping
from dataclasses import dataclass, replace
from functools import lru_cache
from typing import Any

from mock_server._budget import PLAN_STEPS, WORKFLOW_CACHE, CostLru, steps_cost
from mock_server._rng import SeedFamily, rng_for
from mock_server._timeline import (
    NO_EVENTS,
    ErrorInfo,
    Outcome,
    RunEvents,
    RunPlan,
    Status,
)
from mock_server._vocab import Vocabulary, pick
from mock_server.kibana._naming import KibanaIds
from mock_server.kibana._plans import GAP_US, HELD, Planner
from mock_server.kibana._render import RECOVERY_ERROR, RECOVERY_MESSAGE
from mock_server.kibana._templates import (
    BULK,
    TEMPLATES,
    Template,
    definition,
    yaml_text,
)
from mock_server.kibana._templates import topological_order as topo_order
from mock_server.live import Scenario

Json = Any
MS = 1000
SECOND = 1000 * MS
MINUTE = 60 * SECOND
HOUR = 60 * MINUTE
DAY = 24 * HOUR
MAX_SPAN_US = 365 * DAY
EXTRA_SPACES = ("security", "observability", "default")
TERMINAL_FATES: tuple[tuple[Status, float], ...] = (
    (Status.COMPLETED, 0.72),
    (Status.FAILED, 0.14),
    (Status.CANCELLED, 0.05),
    (Status.TIMED_OUT, 0.04),
    (Status.SKIPPED, 0.05),
)
BULK_INDEX = (1 << 20) - 1
"""The bulk workflow's index: beyond any configurable world, in the default space."""
CANCEL_VARIANTS = ((BEFORE_START := "before_start", 0.2), (BOUNDARY := "boundary", 0.4))
"""How often a cancelled run was cancelled before it started, or between two steps."""
RECOVERED = "recovered"
RECOVERED_SHARE = 0.2
"""Share of failed runs that Task Manager's recovery failed (the rest failed in a step)."""
BULK_ITEMS = (998, 9998, 1998)
"""Foreach iterations of the bulk workflow's runs (plus 2 steps: 1,000, 10,000, 2,000)."""


@dataclass(frozen=True)
class Workflow:
    """One saved workflow."""

    index: int
    id: str
    template: Template
    name: str
    space_id: str
    created_us: int
    created_by: str
    updated_us: int
    updated_by: str
    spacing_us: int
    """Typical time between two of its runs."""
    users: tuple[str, ...]
    """Who runs it by hand."""
    definition: Mapping[str, Json]
    yaml: str


@dataclass(slots=True)
class RunHeader:
    """The cheap facts of one static run (enough to filter and sort lists); one is built per run
    listed, so it is not frozen (see ``mock_server._timeline``): never change one (cached)."""

    workflow: int
    run: int
    fate: Status
    is_test: bool
    executed_by: str
    triggered_by: str
    started_us: int
    variant: str = ""
    """A server-specific shape of the fate: ``before_start``/``boundary`` (cancelled),
    ``recovered`` (failed)."""


class KibanaWorld:
    """Workflows, run headers and run plans of one seed (bounded caches, nothing else)."""

    def __init__(self, seed: int, workflows: int, runs: int, world_now_us: int, vocab: Vocabulary):
        self.seed = seed
        self.workflow_count = workflows
        self.run_count = runs
        self.world_now_us = world_now_us
        self.vocab = vocab
        self.ids = KibanaIds(seed)
        self._head_seeds = SeedFamily(seed, "kibana", "run-head")
        self._plan_seeds = SeedFamily(seed, "kibana", "run-plan")
        self.child_workflow_id = self.ids.workflow_id(1 % max(workflows, 1))
        """The workflow a ``workflow.execute`` step runs (one for the whole world)."""
        self.planner = Planner(seed, vocab, world_now_us)
        self.workflow = lru_cache(maxsize=WORKFLOW_CACHE)(self._workflow)
        self.header = lru_cache(maxsize=256)(self._header)
        self.plan: CostLru[tuple[RunPlan, RunEvents]] = CostLru(
            self.build_plan, PLAN_STEPS, lambda found: steps_cost(len(found[0].steps))
        )

    # Workflows ---------------------------------------------------------------------------

    def has_workflow(self, index: int) -> bool:
        """Whether workflow ``index`` exists in this world."""
        return 0 <= index < self.workflow_count or index == BULK_INDEX

    def runs_of(self, index: int) -> int:
        """How many seeded runs workflow ``index`` has."""
        return len(BULK_ITEMS) if index == BULK_INDEX else self.run_count

    def _workflow(self, index: int) -> Workflow:
        bulk = index == BULK_INDEX
        template = BULK if bulk else TEMPLATES[index % len(TEMPLATES)]
        rng = rng_for(self.seed, "kibana", "workflow", index)
        if bulk or index < len(TEMPLATES):
            space, name = "default", template.name
        else:
            space = EXTRA_SPACES[(index - len(TEMPLATES)) % len(EXTRA_SPACES)]
            name = f"{template.name} ({pick(rng, self.vocab.companies)})"
        users = (*(pick(rng, self.vocab.usernames) for _ in range(3)), "elastic")
        spacing = int(20 * MINUTE * (18 ** rng.random()))  # 20 min .. 6 h, log-uniform
        spacing = max(8 * SECOND, min(spacing, MAX_SPAN_US // max(self.run_count, 1)))
        spacing = DAY if bulk else spacing - spacing % MS
        created = self.world_now_us - (self.runs_of(index) + 2) * spacing - rng.randint(1, 90) * DAY
        created -= created % MS
        updated = created + rng.randint(1, 30) * HOUR
        parsed = definition(template, name)
        return Workflow(
            index=index,
            id=self.ids.workflow_id(index),
            template=template,
            name=name,
            space_id=space,
            created_us=created,
            created_by=users[0],
            updated_us=updated,
            updated_by=pick(rng, users),
            spacing_us=spacing,
            users=users,
            definition=parsed,
            yaml=yaml_text(parsed),
        )

    def workflows_in(self, space_id: str) -> list[int]:
        """Indices of the workflows of ``space_id`` (an O(W) scan of cheap arithmetic)."""
        found = []
        for index in range(self.workflow_count):
            if index < len(TEMPLATES):
                space = "default"
            else:
                space = EXTRA_SPACES[(index - len(TEMPLATES)) % len(EXTRA_SPACES)]
            if space == space_id:
                found.append(index)
        if space_id == "default":
            found.append(BULK_INDEX)
        return found

    # Run headers -------------------------------------------------------------------------

    def _fate(self, workflow: Workflow, run: int, rng: random.Random) -> Status:
        if workflow.index == BULK_INDEX:
            return Status.COMPLETED
        if run == 0:
            return workflow.template.active
        if run == 1 and workflow.index % 2 == 0:
            return Status.RUNNING
        if run == 2 and workflow.index % 2 == 1:
            return Status.PENDING if workflow.index % 4 == 1 else Status.QUEUED
        draw, total = rng.random(), 0.0
        for fate, weight in TERMINAL_FATES:
            total += weight
            if draw < total:
                return fate
        return Status.COMPLETED

    def _window(self, spacing: int, run: int) -> tuple[int, int]:
        """The range of "how long ago" run ``run`` started; windows never overlap."""
        if run < 3:
            low = max(spacing * run // 4, min(3 * SECOND, spacing // 8))
            return low, spacing * (run + 1) // 4
        return (run - 2) * spacing, (run - 2) * spacing + spacing // 2

    def _header(self, workflow_index: int, run: int) -> RunHeader:
        workflow = self.workflow(workflow_index)
        rng = self._head_seeds.rng(workflow_index, run)
        fate = self._fate(workflow, run, rng)
        low, high = self._window(workflow.spacing_us, run + 3 * (workflow_index == BULK_INDEX))
        elapsed = low + int((high - low) * rng.random())
        started = self.world_now_us - elapsed
        trigger = str(workflow.template.triggers[0]["type"])
        is_test = trigger == "manual" and rng.random() < 0.12
        executed_by = pick(rng, workflow.users) if trigger == "manual" else workflow.created_by
        triggered_by = "manual" if trigger == "manual" or is_test else trigger
        variant, draw = "", rng.random()
        if fate is Status.SKIPPED:
            if trigger == "scheduled":  # checkAndSkipIfExistingScheduledExecution: createdBy ''
                executed_by, is_test = "", False
            else:
                fate, variant = Status.CANCELLED, BEFORE_START
        elif fate is Status.CANCELLED:
            total = 0.0
            for name, share in CANCEL_VARIANTS:
                total += share
                if draw < total:
                    variant = name
                    break
        elif fate is Status.FAILED and draw < RECOVERED_SHARE:
            variant = RECOVERED
        return RunHeader(
            workflow_index,
            run,
            fate,
            is_test,
            executed_by,
            triggered_by,
            started - started % MS,
            variant,
        )

    # Plans -------------------------------------------------------------------------------

    def build_plan(
        self, workflow_index: int, run: int, approved: bool | None = None
    ) -> tuple[RunPlan, RunEvents]:
        """The plan of static run ``run`` (built anew; ``plan`` is the cached form) and its
        client events; ``approved`` as in ``build``."""
        head = self.header(workflow_index, run)
        workflow = self.workflow(workflow_index)
        rng = self._plan_seeds.rng(workflow_index, run)
        run_id = self.ids.execution_id(workflow_index, run)
        return self.build(workflow, run_id, head, rng, approved=approved)

    def build(
        self,
        workflow: Workflow,
        run_id: str,
        head: RunHeader,
        rng: random.Random,
        inputs: Mapping[str, Json] | None = None,
        live: bool = False,
        approved: bool | None = None,
        scenario: Scenario | None = None,
        created_us: int | None = None,
    ) -> tuple[RunPlan, RunEvents]:
        """The plan of a run with these facts (static or live) and its client events.

        ``approved`` overrides the drawn human decision once a client answered the run's
        wait-for-input step, so the branch taken after it follows the actual answer. A live
        run's ``scenario`` fixes its foreach items, failing step and step durations; a wait
        with a timeout that nobody answers is treated as unanswered by the branch after it.
        """
        facts = self._facts(workflow, rng, inputs)
        if scenario is not None:
            facts["hitl_timeout"] = True
            if scenario.items is not None:
                facts["items"] = scenario.items
        if workflow.index == BULK_INDEX and not live:
            facts["items"] = BULK_ITEMS[head.run % len(BULK_ITEMS)]
        if approved is not None:
            facts["approved"], facts["hitl_timeout"] = approved, False
        drafts = self.planner.flatten(workflow.template, rng, facts)
        order = topo_order(workflow.template)
        cancel = None
        if live:
            steps = self.planner.live_steps(
                drafts,
                order,
                head.started_us,
                fail_step=scenario.fail_step if scenario else None,
                durations_ms=scenario.durations_ms if scenario else None,
            )
        else:
            elapsed = self.world_now_us - head.started_us
            if head.run > 0 and head.workflow >= 0:
                # Leave room: this run ends before the next newer one starts.
                newer = self.header(head.workflow, head.run - 1).started_us
                elapsed = min(elapsed, newer - head.started_us)
            fate = Status.PENDING if head.variant == BEFORE_START else head.fate
            steps, cancel = self.planner.fit(
                drafts,
                fate,
                elapsed,
                head.started_us,
                rng,
                facts,
                order,
                boundary=head.variant == BOUNDARY,
            )
            if head.variant == RECOVERED:
                steps = tuple(
                    replace(step, error=ErrorInfo(RECOVERY_ERROR, RECOVERY_MESSAGE))
                    if step.outcome is Outcome.FAIL
                    else step
                    for step in steps
                )
        plan = RunPlan(
            run_id=run_id,
            workflow_id=workflow.id,
            workflow_name=workflow.name,
            started_us=head.started_us,
            steps=steps,
            gap_us=GAP_US,
            inputs=facts["inputs"],
            is_test=head.is_test,
            triggered_by=head.triggered_by,
            executed_by=head.executed_by,
            space_id=workflow.space_id,
            held_status=_held_status(head) if not live else None,
            created_us=created_us,
        )
        return plan, NO_EVENTS if cancel is None else RunEvents(cancelled_us=cancel)

    def _facts(
        self, workflow: Workflow, rng: random.Random, given: Mapping[str, Json] | None
    ) -> dict[str, Json]:
        inputs: dict[str, Json] = {}
        for spec in workflow.template.inputs:
            name = str(spec["name"])
            if given is not None and name in given:
                inputs[name] = given[name]
            elif name == "change":
                inputs[name] = f"Roll out {pick(rng, self.vocab.words)} flag to 100%"
            elif name == "incident":
                inputs[name] = f"INC-{rng.randint(1000, 9999)}"
            elif "default" in spec:
                inputs[name] = spec["default"]
        if given is not None:
            inputs.update({k: v for k, v in given.items() if k not in inputs})
        approved = rng.random() < 0.8
        return {
            "inputs": inputs,
            "message": inputs.get("message", "hello world"),
            "items": rng.randint(1, 4),
            "pause": str(inputs.get("pause", "5m")),
            "approved": approved,
            "hitl_timeout": rng.random() < 0.35,
            "child_workflow_id": self.child_workflow_id,
        }


def _held_status(head: RunHeader) -> Status | None:
    """The status of a seeded run that never started (None for one that did)."""
    if head.fate in HELD or head.variant == BEFORE_START:
        return head.fate
    return None


__all__ = ["HOUR", "MS", "SECOND", "KibanaWorld", "RunHeader", "Workflow"]
