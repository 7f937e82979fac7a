"""What the Trigify endpoints answer, independent of Flask.

Trigify answers always carry per-request rate-limit headers, so the app's response cache (which
replays headers) cannot hold them. Instead the rendered *bodies* of the frozen world are kept
here in LRU caches bounded by bytes (``mock_server._budget``), and the headers are added per
request. The docs' example workflow ``wf_abc123`` is listed first and its execution
``run_x7k9m2`` is served from its fixture.

Test runs (``POST /v1/workflows/{id}/test``) and auto runs (``auto_runs``) are live runs: stored
as facts in the shared ``LiveStore`` (workflow, start, the request's ``overrides``, enabled
``action_mocks`` and scenario), rebuilt and observed at the clock on every read, so they progress
between polls. A workflow's execution list shows its live runs first (they started after the
frozen world's "now"), newest first; a page that holds any is rendered per request.
"""

from __future__ import annotations

import dataclasses
import random
from dataclasses import dataclass
from functools import cache
from typing import TYPE_CHECKING, Any

import orjson

from mock_server._budget import (
    BODY_BYTES,
    PLAN_STEPS,
    WORKFLOW_CACHE,
    CostLru,
    body_cache,
    steps_cost,
)
from mock_server._ids import IdCodec
from mock_server._timeline import observe
from mock_server.live import Scenario, start_live_run
from mock_server.trigify._actions import catalogue_payload
from mock_server.trigify._definition import Workflow, from_definition
from mock_server.trigify._documented import DOCUMENTED_RUN_ID, DOCUMENTED_WORKFLOW_ID, documented
from mock_server.trigify._naming import base36, parse_base36
from mock_server.trigify._render import execution_payload, list_item, workflow_payload
from mock_server.trigify._world import PlannedExecution, TrigifyWorld

if TYPE_CHECKING:
    from mock_server._context import MockContext

Json = Any
_PUBLISHED = "PUBLISHED"
API = "trigify"


@dataclass(frozen=True, slots=True)
class WorkflowKey:
    """A workflow found by id: a world index, or the documented example (index None)."""

    workflow_id: str
    index: int | None


class TrigifyService:
    """The Trigify world of one app, with cached bodies."""

    def __init__(self, ctx: MockContext) -> None:
        config = ctx.config
        size = max(64, min(config.cache_size, WORKFLOW_CACHE))
        self.world = TrigifyWorld(
            ctx.seed,
            config.workflows_per_api,
            config.runs_per_workflow,
            ctx.world_now_us,
            ctx.vocab,
            cache_size=size,
        )
        # Bounded by bytes, not entries: a page of 100 executions is not a 2 KB execution.
        # Pages (~100 KB) get BODY_BYTES each, single objects a quarter (mock_server._budget).
        self.workflow_body = body_cache(self._workflow_body, BODY_BYTES // 4)
        self.executions_body = body_cache(self._executions_body, BODY_BYTES)
        self.execution_body = body_cache(self._execution_body, BODY_BYTES // 4)
        self.workflows_body = body_cache(self._workflows_body, BODY_BYTES)
        self.ctx = ctx
        self._live_ids = IdCodec(ctx.seed, "trigify.live", (40,))
        self._live_plan: CostLru[PlannedExecution] = CostLru(
            self._plan_live, PLAN_STEPS, lambda planned: steps_cost(len(planned.plan.steps))
        )

    def find_workflow(self, workflow_id: str) -> WorkflowKey | None:
        """The workflow called ``workflow_id``, or None (a 404)."""
        if workflow_id == DOCUMENTED_WORKFLOW_ID:
            return WorkflowKey(workflow_id, None)
        index = self.world.ids.workflow_index(workflow_id)
        if index is None or index >= self.world.workflows:
            return None
        return WorkflowKey(workflow_id, index)

    def workflow_data(self, key: WorkflowKey) -> dict[str, Json]:
        """The workflow object."""
        if key.index is None:
            return dict(documented().workflow)
        world = self.world
        return workflow_payload(
            world.workflow(key.index), key.workflow_id, world.state(key.index), world.ids
        )

    def _workflow_body(self, key: WorkflowKey) -> bytes:
        return orjson.dumps(
            {
                "message": "Workflow retrieved successfully",
                "success": True,
                "data": self.workflow_data(key),
            }
        )

    def _workflows_body(self, limit: int, offset: int, status: str | None) -> bytes:
        """``GET /v1/workflows``: the documented workflow first, then the world's."""
        world = self.world
        extra = 1 if status in (None, _PUBLISHED) else 0
        total = world.count(status) + extra
        items = []
        for position in range(offset, min(offset + limit, total)):
            if position < extra:
                items.append(self.workflow_data(WorkflowKey(DOCUMENTED_WORKFLOW_ID, None)))
            else:
                index = world.nth(status, position - extra)
                key = WorkflowKey(world.ids.workflow_id(index), index)
                items.append(self.workflow_data(key))
        data = {"items": items, "has_more": offset + len(items) < total, "total": total}
        return orjson.dumps(
            {"message": "Workflows retrieved successfully", "success": True, "data": data}
        )

    # -- test runs (live) ------------------------------------------------------------------

    def runnable(self, key: WorkflowKey) -> Workflow:
        """The definition a test run of ``key`` follows (the docs' example: from its fixture)."""
        if key.index is None:
            return _documented_workflow()
        return self.world.workflow(key.index)

    def start_test(
        self,
        key: WorkflowKey,
        overrides: dict[str, Json],
        mocks: dict[str, Json],
        chosen: Scenario | None = None,
    ) -> str:
        """Store a test run of ``key`` starting now; returns its ``test_run_id``."""
        return self._start(key, self.ctx.clock(), overrides, mocks, chosen, test=True)

    def auto_start(self, rng: random.Random, started_us: int, chosen: Scenario) -> None:
        """Start an auto run (``mock_server.live._auto``): a triggered run of an enabled
        workflow (drawn from ``rng``; the next enabled one when the drawn one cannot run)."""
        count = self.world.workflows
        drawn = rng.randrange(count)
        for index in (i % count for i in range(drawn, drawn + count)):
            if self.world.state(index).enabled:
                key = WorkflowKey(self.world.ids.workflow_id(index), index)
                self._start(key, started_us, {}, {}, chosen, test=False)
                return

    def _start(
        self,
        key: WorkflowKey,
        started_us: int,
        overrides: dict[str, Json],
        mocks: dict[str, Json],
        chosen: Scenario | None,
        *,
        test: bool,
    ) -> str:
        spec: dict[str, Json] = {"test": test, "overrides": overrides, "mocks": mocks}
        if chosen is not None:
            spec["scenario"] = chosen.name
        live = start_live_run(
            self.ctx,
            API,
            key.workflow_id,
            started_us,
            spec,
            lambda seq: "run_" + base36(self._live_ids.encode(seq)),
        )
        return live.run_id

    def _is_live_id(self, run_id: str) -> bool:
        token = parse_base36(run_id[4:]) if run_id.startswith("run_") else None
        return token is not None and self._live_ids.decode(token) is not None

    def _plan_live(self, workflow_id: str, run_id: str) -> PlannedExecution:
        key, live = self.find_workflow(workflow_id), self.ctx.store.get_run(run_id)
        assert key is not None  # only called for stored runs of known workflows
        assert live is not None
        planned = self.world.live_planned(self.runnable(key), workflow_id, live)
        # --time-scale: a shorter plan read at the real clock, so timestamps stay real instants
        return dataclasses.replace(planned, plan=self.ctx.live_plan(planned.plan))

    def _live_views(self, key: WorkflowKey) -> list[tuple[PlannedExecution, Any]]:
        views = []
        for live in self.ctx.store.runs_for_workflow(API, key.workflow_id):
            planned = self._live_plan(key.workflow_id, live.run_id)
            views.append((planned, observe(planned.plan, self.ctx.live_now_us(live.started_us))))
        return views

    def executions_answer(self, key: WorkflowKey, page: int, page_size: int) -> bytes:
        """``GET /v1/workflows/{id}/executions``: test runs first, then the seeded ones."""
        live = self._live_views(key)
        if not live:
            return self.executions_body(key, page, page_size)
        seeded = 1 if key.index is None else self.world.run_count(key.index)
        total = len(live) + seeded
        first = min((page - 1) * page_size, total)
        items = []
        for position in range(first, min(first + page_size, total)):
            if position < len(live):
                items.append(list_item(*live[position]))
            elif key.index is None:
                items.append(documented().list_item)
            else:
                items.append(list_item(*self.world.timeline(key.index, position - len(live))))
        return self._page(items, page, page_size, total)

    def execution_answer(self, key: WorkflowKey, run_id: str) -> tuple[bytes | None, bool]:
        """``GET /v1/workflows/{id}/executions/{runId}`` and whether the answer is immutable."""
        if not self._is_live_id(run_id):
            return self.execution_body(key, run_id), True
        live = self.ctx.store.get_run(run_id)
        if live is None or live.api != API or live.workflow_id != key.workflow_id:
            return None, False
        planned = self._live_plan(key.workflow_id, run_id)
        timeline = observe(planned.plan, self.ctx.live_now_us(live.started_us))
        data = execution_payload(planned, timeline, self.world.ids)
        return orjson.dumps({"success": True, "data": data}), False

    # -- the frozen world ------------------------------------------------------------------

    @staticmethod
    def _page(items: list[Json], page: int, page_size: int, total: int) -> bytes:
        pagination = {
            "page": page,
            "page_size": page_size,
            "total_count": total,
            "total_pages": -(-total // page_size),
        }
        return orjson.dumps(
            {"success": True, "data": {"executions": items, "pagination": pagination}}
        )

    def _executions_body(self, key: WorkflowKey, page: int, page_size: int) -> bytes:
        """``GET /v1/workflows/{id}/executions``: newest first, page-number pagination."""
        if key.index is None:
            items_all = [documented().list_item]
            total = 1
            first = (page - 1) * page_size
            items = items_all[first : first + page_size]
        else:
            total = self.world.run_count(key.index)
            first = min((page - 1) * page_size, total)
            items = [
                list_item(*self.world.timeline(key.index, run))
                for run in range(first, min(first + page_size, total))
            ]
        return self._page(items, page, page_size, total)

    def _execution_body(self, key: WorkflowKey, run_id: str) -> bytes | None:
        """``GET /v1/workflows/{id}/executions/{runId}``, or None for an unknown run."""
        if key.index is None:
            return documented().execution_body if run_id == DOCUMENTED_RUN_ID else None
        indices = self.world.ids.run_indices(run_id)
        if indices is None or indices[0] != key.index or not self.world.has_run(*indices):
            return None
        planned, timeline = self.world.timeline(*indices)
        data = execution_payload(planned, timeline, self.world.ids)
        return orjson.dumps({"success": True, "data": data})

    @staticmethod
    def actions_body() -> bytes:
        """``GET /v1/workflows/actions``: the action catalogue (shape inferred)."""
        items = catalogue_payload()
        return orjson.dumps(
            {
                "message": "Actions retrieved successfully",
                "success": True,
                "data": {"items": items, "total": len(items)},
            }
        )


@cache
def _documented_workflow() -> Workflow:
    """The docs' example workflow as a runnable definition, with its execution's columns."""
    data = dict(documented().workflow)
    data["columns"] = orjson.loads(documented().execution_body)["data"].get("column_config") or []
    return from_definition(0, data)
