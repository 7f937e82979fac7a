"""Finding a Kibana run by id, wherever it lives, as one ``RunView``.

``RunSource.find(execution_id, space_id)`` tries, in order:

1. the vendor's documented execution (``exec-a1b2c3d4-e5f6-7890``, space ``default``);
2. the seeded world: the id decodes (O(1)) to ``(workflow, run)``; the run is observed at the
   world's fixed "now", or, if a client resumed or cancelled it, on a clock anchored at that
   action (a *thawed* run, read with its events from the live store);
3. the live store: runs started by ``POST .../run`` or ``POST /api/workflows/test`` (or by the
   mock itself, see ``mock_server.live._auto``), rebuilt from their stored facts (with their
   scenario, if one was picked) and observed at the clock (scaled by ``time_scale``). Such a run
   is ``pending`` without ``startedAt`` until a seeded pickup delay has passed (``pickup_us``),
   as Kibana stores a new run until Task Manager starts it.

A run of another space is not found (Kibana filters by space). ``RunView.cacheable`` is true only
for answers that can never change (terminal runs of the frozen world), which lets views mark
them for the response cache.
"""

from __future__ import annotations

import random
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from mock_server._budget import PLAN_STEPS, CostLru, steps_cost
from mock_server._context import MockContext
from mock_server._rng import entity_seed
from mock_server._timeline import TERMINAL, RunEvents, RunTimeline, Status, observe
from mock_server.kibana import _documented as documented
from mock_server.kibana import _render as render
from mock_server.kibana._naming import LIVE, STATIC, step_execution_id
from mock_server.kibana._templates import DOCUMENTED, Template, parse_workflow_yaml
from mock_server.kibana._world import KibanaWorld, RunHeader, Workflow
from mock_server.live import Scenario, scenario

Json = Any
API = "kibana"
MS = 1000
PICKUP_MS = (300, 1200)
"""Range of the seeded delay between ``POST .../run`` and Task Manager starting the run."""


@dataclass
class RunView:
    """One execution as a client sees it now (generated, live or documented)."""

    execution_id: str
    space_id: str
    workflow_id: str
    status: Status
    started_us: int
    cacheable: bool
    timeline: RunTimeline | None
    """None for the documented run (served from fixtures)."""
    definition: Mapping[str, Json]
    yaml: str
    static: bool = True
    ephemeral: bool = False
    _full: list[dict[str, Json]] | None = field(default=None, repr=False)
    _ids: tuple[str, ...] | None = field(default=None, repr=False)
    _positions: dict[str, int] | None = field(default=None, repr=False)

    @property
    def step_ids(self) -> tuple[str, ...]:
        """The step execution id of every planned step, by position (Kibana's SHA-256 ids)."""
        if self._ids is None:
            steps = self.timeline.plan.steps if self.timeline is not None else ()
            self._ids = tuple(
                step_execution_id(self.execution_id, step.step_key, step.scope) for step in steps
            )
        return self._ids

    def position_of(self, step_id: str) -> int | None:
        """The plan position of the step execution ``step_id`` (first one, as Kibana upserts)."""
        if self._positions is None:
            positions: dict[str, int] = {}
            for position, known in enumerate(self.step_ids):
                positions.setdefault(known, position)
            self._positions = positions
        return self._positions.get(step_id)

    def steps(self) -> list[dict[str, Json]]:
        """Every step execution, with ``input``/``output``, in execution order."""
        if self._full is None:
            if self.timeline is None:
                self._full = [dict(step) for step in documented.steps()]
            else:
                self._full = [
                    render.step_execution(self.timeline, step, self.step_ids[step.position])
                    for step in render.shown_steps(self.timeline)
                ]
        return self._full

    def step_count(self) -> int:
        """``len(self.steps())``, without rendering them."""
        if self._full is not None:
            return len(self._full)
        if self.timeline is None:
            return len(documented.steps())
        return len(render.shown_steps(self.timeline))

    def step(self, step_id: str) -> dict[str, Json] | None:
        """The step execution ``step_id``, or None."""
        if self.timeline is None:
            return next((dict(s) for s in documented.steps() if s["id"] == step_id), None)
        position = self.position_of(step_id)
        if position is None:
            return None
        found = self.timeline.steps[position]
        # By identity: ``in`` would compare step records field by field (plans, inputs and
        # outputs) with every shown step before it, 7 % of a cold request's CPU (py-spy).
        if not any(shown is found for shown in render.shown_steps(self.timeline)):
            return None
        return render.step_execution(self.timeline, found, step_id)

    def list_item(self) -> dict[str, Json]:
        """The run as an item of ``GET .../workflow/{id}/executions``."""
        if self.timeline is None:
            return documented.list_item()
        return render.list_item(self.timeline)

    def detail(self, *, include_input: bool, include_output: bool) -> dict[str, Json]:
        """The execution detail document."""
        embedded = [
            render.strip_io(step, keep_input=include_input, keep_output=include_output)
            for step in self.steps()
        ]
        if self.timeline is None:
            return documented.execution(embedded)
        return render.execution(
            self.timeline,
            embedded,
            definition=self.definition,
            yaml=self.yaml,
            ephemeral=self.ephemeral,
        )


class RunSource:
    """Resolve execution ids to ``RunView``s (see the module docstring)."""

    def __init__(self, ctx: MockContext, world: KibanaWorld) -> None:
        self.ctx = ctx
        self.world = world
        self._live_plans: CostLru[tuple[Any, Template, Mapping[str, Json], bool] | None] = CostLru(
            self._live_plan, PLAN_STEPS, _live_cost
        )
        self._decode = lru_cache(maxsize=256)(world.ids.execution)
        self._frozen: CostLru[RunView] = CostLru(self._observe_static, PLAN_STEPS, _view_cost)

    # Lookup ------------------------------------------------------------------------------

    def find(self, execution_id: str, space_id: str) -> RunView | None:
        """The run ``execution_id`` as seen from ``space_id``, or None."""
        if execution_id == documented.EXECUTION_ID:
            return self._documented() if space_id == "default" else None
        decoded = self._decode(execution_id)
        if decoded is None:
            return None
        kind, a, b = decoded
        if kind == STATIC:
            if not self.world.has_workflow(a) or b >= self.world.runs_of(a):
                return None
            workflow = self.world.workflow(a)
            if workflow.space_id != space_id:
                return None
            return self.static_view(a, b)
        if kind == LIVE:
            return self._live(execution_id, space_id)
        return None

    def _documented(self) -> RunView:
        return RunView(
            execution_id=documented.EXECUTION_ID,
            space_id="default",
            workflow_id=documented.WORKFLOW_ID,
            status=Status.COMPLETED,
            started_us=0,
            cacheable=True,
            timeline=None,
            definition=documented.workflow_definition(),
            yaml=documented.workflow_yaml(),
        )

    def static_view(self, workflow_index: int, run: int) -> RunView:
        """A run of the seeded world (frozen, or thawed by a client's action)."""
        if self.world.header(workflow_index, run).fate in TERMINAL:
            return self._frozen(workflow_index, run)  # never changes: cached
        return self._observe_static(workflow_index, run)

    def _observe_static(self, workflow_index: int, run: int) -> RunView:
        workflow = self.world.workflow(workflow_index)
        head = self.world.header(workflow_index, run)
        now, frozen = self.world.world_now_us, head.fate in TERMINAL
        # A frozen run's whole view is cached (``self._frozen``): caching its plan too is waste.
        plans = self.world.build_plan if frozen else self.world.plan
        plan, events = plans(workflow_index, run)
        if not frozen:
            anchor = self.ctx.store.get_anchor(plan.run_id)
            if anchor is not None:
                now = self._anchored_now(anchor.world_us, anchor.real_us)
                stored = self.ctx.store.events(plan.run_id)
                decision = _decision(stored)
                if decision is not None:
                    plan, events = self.world.plan(workflow_index, run, decision)
                events = RunEvents(
                    responses={**events.responses, **stored.responses},
                    cancelled_us=stored.cancelled_us
                    if stored.cancelled_us is not None
                    else events.cancelled_us,
                )
        timeline = observe(plan, now, events)
        return RunView(
            execution_id=plan.run_id,
            space_id=workflow.space_id,
            workflow_id=workflow.id,
            status=timeline.status,
            started_us=plan.started_us,
            cacheable=frozen,
            timeline=timeline,
            definition=workflow.definition,
            yaml=workflow.yaml,
        )

    def _anchored_now(self, world_us: int, real_us: int) -> int:
        elapsed = max(0, self.ctx.clock() - real_us)
        return world_us + int(elapsed * self.ctx.config.time_scale)

    def world_time_of(self, view: RunView) -> int:
        """ "Now" on the clock ``view`` is observed at (for recording a client's action)."""
        if not view.static:
            return self.ctx.live_now_us(view.started_us)
        anchor = self.ctx.store.get_anchor(view.execution_id)
        if anchor is None:
            return self.world.world_now_us
        return self._anchored_now(anchor.world_us, anchor.real_us)

    def thaw(self, view: RunView) -> None:
        """Anchor a static run at the world's "now" so it can move on (first call wins)."""
        if view.static:
            self.ctx.store.anchor(view.execution_id, self.world.world_now_us, self.ctx.clock())

    # Live runs ---------------------------------------------------------------------------

    def _live_plan(
        self, execution_id: str, approved: bool | None
    ) -> tuple[Any, Template, Mapping[str, Json], bool] | None:
        stored = self.ctx.store.get_run(execution_id)
        if stored is None or stored.api != API:
            return None
        spec = stored.spec
        chosen = scenario(str(spec["scenario"])) if "scenario" in spec else None
        workflow, template, parsed = self._workflow_for_live(spec, chosen)
        pickup = self.pickup_us(stored.seq)
        head = RunHeader(
            workflow=int(spec.get("workflow_index", -1)),
            run=stored.seq,
            fate=Status.RUNNING,
            is_test=bool(spec.get("is_test", False)),
            executed_by=str(spec.get("executed_by", "elastic")),
            triggered_by="manual",
            started_us=stored.started_us + pickup,
        )
        rng = random.Random(entity_seed(self.world.seed, API, "live", stored.seq))
        plan, _ = self.world.build(
            workflow,
            execution_id,
            head,
            rng,
            inputs=spec.get("inputs") or {},
            live=True,
            approved=approved,
            scenario=chosen,
            created_us=stored.started_us,
        )
        plan = self.ctx.live_plan(plan)  # --time-scale: a shorter plan, real timestamps
        return plan, template, parsed, bool(spec.get("ephemeral", False))

    def pickup_us(self, seq: int) -> int:
        """How long live run ``seq`` stays ``pending`` before Task Manager picks it up: a
        seeded 300..1200 ms of the run's own clock (``time_scale`` shortens it in real time),
        whole milliseconds, so a client that polls right after ``POST .../run`` sees it."""
        rng = random.Random(entity_seed(self.world.seed, API, "pickup", seq))
        delay_ms = rng.randint(PICKUP_MS[0], PICKUP_MS[1])
        return max(MS, int(delay_ms * MS / self.ctx.config.time_scale) // MS * MS)

    def _workflow_for_live(
        self, spec: Mapping[str, Json], chosen: Scenario | None
    ) -> tuple[Workflow, Template, Mapping[str, Json]]:
        index = int(spec.get("workflow_index", -1))
        space = str(spec.get("space_id", "default"))
        if chosen is not None:  # the run keeps its workflow's id and follows the scenario
            text = _yaml_of(chosen.workflow)
            template, parsed = parse_workflow_yaml(text)
            workflow = _replace_workflow(
                self.world.workflow(0), template, str(spec["workflow_id"]), space, parsed, text
            )
            return workflow, template, parsed
        if "yaml" in spec:
            template, parsed = parse_workflow_yaml(str(spec["yaml"]))
            base = self.world.workflow(0)
            workflow = _replace_workflow(
                base, template, str(spec["workflow_id"]), space, parsed, str(spec["yaml"])
            )
            return workflow, template, parsed
        if index < 0:
            parsed = dict(documented.workflow_definition())
            workflow = _replace_workflow(
                self.world.workflow(0),
                DOCUMENTED,
                documented.WORKFLOW_ID,
                "default",
                parsed,
                documented.workflow_yaml(),
            )
            return workflow, DOCUMENTED, parsed
        workflow = self.world.workflow(index)
        return workflow, workflow.template, workflow.definition

    def _live(self, execution_id: str, space_id: str) -> RunView | None:
        if self.ctx.store.get_run(execution_id) is None:
            return None  # never stored, or expired (plans stay cached a while: ask the store)
        events = self.ctx.store.events(execution_id)
        found = self._live_plans(execution_id, _decision(events))
        if found is None:
            return None
        plan, _template, parsed, ephemeral = found
        if plan.space_id != space_id:
            return None
        timeline = observe(plan, self.ctx.live_now_us(plan.started_us), events)
        return RunView(
            execution_id=execution_id,
            space_id=plan.space_id,
            workflow_id=plan.workflow_id,
            status=timeline.status,
            started_us=plan.started_us,
            cacheable=False,
            timeline=timeline,
            definition=parsed,
            yaml=_yaml_of(parsed),
            static=False,
            ephemeral=ephemeral,
        )

    def live_views(self, workflow_id: str, space_id: str) -> list[RunView]:
        """Live runs of one workflow, newest first."""
        views = []
        for stored in self.ctx.store.runs_for_workflow(API, workflow_id):
            view = self._live(stored.run_id, space_id)
            if view is not None:
                views.append(view)
        return views

    def header_status(self, head: RunHeader) -> Status:
        """A static run's status now (its fate, unless a client thawed it)."""
        if head.fate in TERMINAL:
            return head.fate
        return self.static_view(head.workflow, head.run).status


def _view_cost(view: RunView) -> int:
    """A frozen view keeps its timeline, step ids (and their index) and (once asked) its rendered
    steps: four objects per step."""
    return steps_cost(4 * (0 if view.timeline is None else len(view.timeline.steps)))


def _live_cost(found: tuple[Any, Template, Mapping[str, Json], bool] | None) -> int:
    return steps_cost(0 if found is None else len(found[0].steps))


def _decision(events: RunEvents) -> bool | None:
    """The human decision of a run's first answered wait-for-input step, if any."""
    for position in sorted(events.responses):
        payload = events.responses[position].input
        for key in ("approved", "acknowledged"):
            if isinstance(payload.get(key), bool):
                return bool(payload[key])
        return True
    return None


def _replace_workflow(
    base: Workflow,
    template: Template,
    workflow_id: str,
    space: str,
    parsed: Mapping[str, Json],
    yaml: str,
) -> Workflow:
    from dataclasses import replace

    return replace(
        base,
        index=-1,
        id=workflow_id,
        template=template,
        name=str(parsed.get("name", "")),
        space_id=space,
        definition=parsed,
        yaml=yaml,
    )


def _yaml_of(parsed: Mapping[str, Json]) -> str:
    from mock_server.kibana._templates import yaml_text

    return yaml_text(parsed)


__all__ = ["RunSource", "RunView"]
