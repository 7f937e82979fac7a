"""What the Trigify endpoints answer, independent of Flask.

Trigify answers always carry per-request rate-limit headers, so the app's response cache (which
replays headers) cannot hold them. Instead the rendered *bodies* of the frozen world are kept
here in LRU caches bounded by bytes (``mock_server._budget``), and the headers are added per
request. The docs' example workflow ``wf_abc123`` is listed first and its execution
``run_x7k9m2`` is served from its fixture.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import orjson

from mock_server._budget import BODY_BYTES, WORKFLOW_CACHE, CostLru, bytes_cost
from mock_server.trigify._actions import catalogue_payload
from mock_server.trigify._documented import DOCUMENTED_RUN_ID, DOCUMENTED_WORKFLOW_ID, documented
from mock_server.trigify._render import execution_payload, list_item, workflow_payload
from mock_server.trigify._world import TrigifyWorld

if TYPE_CHECKING:
    from mock_server._context import MockContext

Json = Any
_PUBLISHED = "PUBLISHED"


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
        self.workflow_body = CostLru(self._workflow_body, BODY_BYTES // 4, bytes_cost)
        self.executions_body = CostLru(self._executions_body, BODY_BYTES, bytes_cost)
        self.execution_body = CostLru(self._execution_body, BODY_BYTES, bytes_cost)
        self.workflows_body = CostLru(self._workflows_body, BODY_BYTES // 4, bytes_cost)

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
        pagination = {
            "page": page,
            "page_size": page_size,
            "total_count": total,
            "total_pages": -(-total // page_size),
        }
        return orjson.dumps(
            {"success": True, "data": {"executions": items, "pagination": pagination}}
        )

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
