"""What the Arcee endpoints answer, independent of Flask: lookups, history pages, live runs.

Three kinds of run live side by side: runs of the seeded world (frozen at the world's "now";
their answers never change, so they may be cached), runs started with ``POST .../execute`` (kept
in the shared ``LiveStore`` and observed at the clock, so they progress between polls) and the
docs' example run (served from its fixture). A workflow's history lists its live runs first
(they started after the frozen world's "now"), newest first, then its seeded runs, newest first.
A live run may follow a scenario (``mock_server.live._scenarios``): a failing one fails at a node
of the scenario's ``arcee.fail_kind``, and the run ends ``failed``.
"""

from __future__ import annotations

import random
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from mock_server._budget import PLAN_STEPS, WORKFLOW_CACHE, CostLru, steps_cost
from mock_server._ids import IdCodec
from mock_server._timeline import RunTimeline, Status, StepRun, observe
from mock_server.arcee._documented import (
    DOCUMENTED_CREATED_US,
    DOCUMENTED_RUN_ID,
    DOCUMENTED_TENANT,
    DOCUMENTED_WORKFLOW_ID,
    documented_run,
    documented_workflow,
)
from mock_server.arcee._graph import Workflow
from mock_server.arcee._naming import uuid_text, uuid_token
from mock_server.arcee._render import Tenant, run_payload, step_payload, workflow_payload
from mock_server.arcee._world import ArceeWorld, PlannedRun
from mock_server.live import Scenario, start_live_run

if TYPE_CHECKING:
    from mock_server._context import MockContext

Json = Any
API = "arcee"


@dataclass(frozen=True, slots=True)
class WorkflowRef:
    """A workflow found by its id, with what rendering it needs."""

    workflow: Workflow
    workflow_id: str
    tenant: Tenant
    created_us: int
    updated_us: int


@dataclass(frozen=True, slots=True)
class RunView:
    """A run as seen now: its timeline (None for the documented run) and whether it can change."""

    run_id: str
    planned: PlannedRun | None
    timeline: RunTimeline | None
    now_us: int
    tenant: Tenant
    frozen: bool


class ArceeService:
    """The Arcee world of one app, plus its live runs."""

    def __init__(self, ctx: MockContext) -> None:
        config = ctx.config
        self.ctx = ctx
        self.world = ArceeWorld(
            ctx.seed,
            config.workflows_per_api,
            config.runs_per_workflow,
            ctx.world_now_us,
            ctx.vocab,
            cache_size=max(64, min(config.cache_size, WORKFLOW_CACHE)),
        )
        self.find_workflow = lru_cache(maxsize=WORKFLOW_CACHE)(self._find_workflow)
        """The workflow called ``workflow_id``, or None (a 404); memoised per id, as every
        request about a workflow or its runs starts by finding it."""
        ids = self.world.ids
        self.tenant = Tenant(ids.user_id, ids.organization_id, ids.colleague_id)
        self._live_ids = IdCodec(ctx.seed, "arcee.live", (40,))
        self._filler = ids.filler_key
        self._live_plan: CostLru[PlannedRun] = CostLru(
            self._plan_live, PLAN_STEPS, lambda planned: steps_cost(len(planned.plan.steps))
        )

    # -- workflows -------------------------------------------------------------------------

    def _find_workflow(self, workflow_id: str) -> WorkflowRef | None:
        if workflow_id == DOCUMENTED_WORKFLOW_ID:
            return WorkflowRef(
                documented_workflow(),
                workflow_id,
                DOCUMENTED_TENANT,
                DOCUMENTED_CREATED_US,
                DOCUMENTED_CREATED_US,
            )
        index = self.world.ids.workflow_index(workflow_id)
        if index is None or not self.world.has_workflow(index):
            return None
        created, updated = self.world.created_us(index)
        return WorkflowRef(self.world.workflow(index), workflow_id, self.tenant, created, updated)

    def workflow_ids(self) -> list[str]:
        """Every workflow id, in listing order (the docs' example workflow first)."""
        ids = self.world.ids
        return [DOCUMENTED_WORKFLOW_ID] + [
            ids.workflow_id(i) for i in self.world.workflow_indices()
        ]

    def workflows_payload(self) -> list[dict[str, Json]]:
        """The body of ``GET /workflows``."""
        payloads = []
        for workflow_id in self.workflow_ids():
            ref = self.find_workflow(workflow_id)
            assert ref is not None  # every listed id resolves
            payloads.append(
                workflow_payload(
                    ref.workflow,
                    ref.workflow_id,
                    ref.tenant,
                    ref.created_us,
                    ref.updated_us,
                    self._filler,
                )
            )
        return payloads

    # -- runs ------------------------------------------------------------------------------

    def find_run(self, ref: WorkflowRef, run_id: str) -> RunView | None:
        """Run ``run_id`` of the workflow ``ref``, or None (unknown, or another workflow's)."""
        if ref.workflow_id == DOCUMENTED_WORKFLOW_ID and run_id == DOCUMENTED_RUN_ID:
            return RunView(run_id, None, None, self.ctx.world_now_us, ref.tenant, frozen=True)
        indices = self.world.ids.run_indices(run_id)
        if indices is not None:
            workflow, run = indices
            if ref.workflow.index != workflow or not self.world.has_run(workflow, run):
                return None
            planned, timeline = self.world.timeline(workflow, run)
            return RunView(run_id, planned, timeline, self.world.now_us, ref.tenant, frozen=True)
        token = uuid_token(run_id, self._filler)
        if token is None or self._live_ids.decode(token) is None:
            return None
        return self._live_view(ref, run_id)

    def _live_view(self, ref: WorkflowRef, run_id: str) -> RunView | None:
        live = self.ctx.store.get_run(run_id)
        if live is None or live.api != API or live.workflow_id != ref.workflow_id:
            return None
        planned = self._live_plan(ref.workflow_id, run_id)
        now = self.ctx.live_now_us(live.started_us)
        timeline = observe(planned.plan, now)
        return RunView(run_id, planned, timeline, now, ref.tenant, frozen=False)

    def _plan_live(self, workflow_id: str, run_id: str) -> PlannedRun:
        ref, live = self.find_workflow(workflow_id), self.ctx.store.get_run(run_id)
        assert ref is not None  # only called for stored runs of known workflows
        assert live is not None
        return self.world.live_planned(ref.workflow, ref.workflow_id, live, self.ctx.live_span_us)

    def execute(
        self, ref: WorkflowRef, inputs: dict[str, Json], chosen: Scenario | None = None
    ) -> str:
        """Start a live run of ``ref`` with ``inputs`` (following ``chosen``, if given)."""
        return self.start(ref, self.ctx.clock(), inputs, chosen)

    def start(
        self,
        ref: WorkflowRef,
        started_us: int,
        inputs: Mapping[str, Json],
        chosen: Scenario | None = None,
    ) -> str:
        """Store a live run of ``ref`` that started at ``started_us``; returns its run id."""
        spec: dict[str, Json] = {"inputs": dict(inputs)}
        if chosen is not None:
            spec["scenario"] = chosen.name
        live = start_live_run(
            self.ctx,
            API,
            ref.workflow_id,
            started_us,
            spec,
            lambda seq: uuid_text(self._live_ids.encode(seq), self._filler),
        )
        return live.run_id

    def auto_start(self, rng: random.Random, started_us: int, chosen: Scenario) -> None:
        """Start an auto run (``mock_server.live._auto``): a workflow and inputs from ``rng``."""
        count = self.world.workflows
        drawn = rng.randrange(count)
        for index in (i % count for i in range(drawn, drawn + count)):
            ref = self.find_workflow(self.world.ids.workflow_id(index))
            assert ref is not None  # every index below ``workflows`` is a workflow
            if ref.workflow.status == "active":  # an inactive workflow never runs: the next one
                self.start(ref, started_us, self.world.draw_inputs(ref.workflow, rng), chosen)
                return

    def history(self, ref: WorkflowRef, limit: int, offset: int) -> list[dict[str, Json]]:
        """One page of the workflow's runs, newest first (live runs, then seeded runs)."""
        live = [run.run_id for run in self.ctx.store.runs_for_workflow(API, ref.workflow_id)]
        if ref.workflow_id == DOCUMENTED_WORKFLOW_ID:
            seeded_ids: list[str] | range = [DOCUMENTED_RUN_ID]
            seeded_count = 1
        else:
            seeded_count = self.world.run_count(ref.workflow.index)
            seeded_ids = range(seeded_count)
        page: list[dict[str, Json]] = []
        for position in range(offset, min(offset + limit, len(live) + seeded_count)):
            if position < len(live):
                view = self._live_view(ref, live[position])
            else:
                seeded = seeded_ids[position - len(live)]
                run_id = (
                    seeded
                    if isinstance(seeded, str)
                    else self.world.ids.run_id(ref.workflow.index, seeded)
                )
                view = self.find_run(ref, run_id)
            if view is not None:
                page.append(self.run_body(view, ref, detail=False))
        return page

    def run_body(self, view: RunView, ref: WorkflowRef, *, detail: bool) -> dict[str, Json]:
        """The run object of ``view`` (history item or single-run element)."""
        if view.timeline is None or view.planned is None:
            return documented_run().run_payload(detail=detail)
        return run_payload(
            view.timeline,
            view.planned.values,
            ref.workflow.selected_output,
            view.now_us,
            detail=detail,
        )

    def steps_body(self, view: RunView) -> list[dict[str, Json]] | bytes:
        """The steps of ``view``: the verbatim fixture bytes for the docs' run, else a list."""
        if view.timeline is None:
            return documented_run().steps_body
        ids = self.world.ids
        shown = visible_steps(view.timeline)
        return [
            step_payload(step, ids.step_id(view.run_id, step.position), view.run_id,
                         view.tenant, view.now_us)
            for step in shown
        ]  # fmt: skip


def visible_steps(timeline: RunTimeline) -> list[StepRun]:
    """The steps Arcee lists: every node that started, plus, while the run is between two
    nodes, the next node as ``pending`` (so a running run always shows what it is doing)."""
    shown = [step for step in timeline.steps if step.started]
    if timeline.status is Status.RUNNING and all(s.finished_us is not None for s in shown):
        waiting = next((s for s in timeline.steps if not s.started), None)
        if waiting is not None:
            since = max((s.finished_us or 0 for s in shown), default=timeline.plan.started_us)
            shown.append(StepRun(waiting.plan, waiting.position, Status.PENDING, since,
                                 None, None, None, None))  # fmt: skip
    return shown
