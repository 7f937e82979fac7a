"""The Kibana list endpoints: workflows, executions of a workflow, its step executions.

Order and paging follow Kibana: executions newest first (live runs, then the seeded runs by
index, whose start times decrease with the index), step executions ``startedAt`` descending,
1-based ``page``. Filters of the executions list (``statuses``, ``executionTypes``,
``executedBy``) only need the runs' cheap headers. Like Elasticsearch's default
``max_result_window``, a filtered scan and the step-executions search look at most at the newest
``SEARCH_WINDOW`` hits: within it, totals equal the items of all pages, without duplicates.

Because a seeded run always ends before the next newer one starts (see ``_world``), the step
executions of a workflow sorted by ``startedAt`` descending are simply the runs in index order,
each with its steps in reverse execution order.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from mock_server._timeline import iso_millis, parse_iso
from mock_server.kibana import _documented as documented
from mock_server.kibana import render
from mock_server.kibana._runs import RunSource, RunView
from mock_server.kibana._world import KibanaWorld

Json = Any
SEARCH_WINDOW = 10_000
UNPAGED_STEP_SIZE = 1000


@dataclass(frozen=True)
class WorkflowRef:
    """A workflow that exists in the asked space: seeded (``index`` >= 0) or documented (-1)."""

    index: int
    workflow_id: str
    space_id: str


class Lists:
    """Pages over one world and its live runs."""

    def __init__(self, world: KibanaWorld, source: RunSource) -> None:
        self.world = world
        self.source = source

    def workflow(self, workflow_id: str, space_id: str) -> WorkflowRef | None:
        """The workflow ``workflow_id`` if it lives in ``space_id``."""
        if workflow_id == documented.WORKFLOW_ID:
            return WorkflowRef(-1, workflow_id, "default") if space_id == "default" else None
        index = self.world.ids.workflow_index(workflow_id)
        if index is None or not self.world.has_workflow(index):
            return None
        if self.world.workflow(index).space_id != space_id:
            return None
        return WorkflowRef(index, workflow_id, space_id)

    # Executions of a workflow ------------------------------------------------------------

    def _static_views(self, ref: WorkflowRef) -> Iterator[RunView]:
        if ref.index < 0:
            found = self.source.find(documented.EXECUTION_ID, "default")
            if found is not None:
                yield found
            return
        for run in range(self.world.runs_of(ref.index)):
            yield self.source.static_view(ref.index, run)

    def executions(self, ref: WorkflowRef, query: Mapping[str, Json]) -> dict[str, Json]:
        """``{results, page, size, total[, searchAfter]}`` of one workflow's executions."""
        page, size = int(query.get("page", 1)), int(query.get("size", 100))
        statuses = set(query.get("statuses") or ())
        types = set(query.get("executionTypes") or ())
        users = set(query.get("executedBy") or ())
        live = self.source.live_views(ref.workflow_id, ref.space_id)

        def keep_status(status: str) -> bool:
            return not statuses or status in statuses

        def keep(is_test: bool, executed_by: str) -> bool:
            kind = "test" if is_test else "production"
            return (not types or kind in types) and (not users or executed_by in users)

        live = [
            v
            for v in live
            if v.timeline is not None
            and keep_status(str(v.status))
            and keep(v.timeline.plan.is_test, v.timeline.plan.executed_by)
        ]
        filtered = bool(statuses or types or users)
        start, stop = (page - 1) * size, page * size
        if ref.index < 0:
            rows = [
                v
                for v in self._static_views(ref)
                if keep_status(str(v.status)) and keep(False, documented.AUTHOR)
            ]
            views = live + rows
            return _page(views[start:stop], page, size, len(views))
        if not filtered:
            total = len(live) + self.world.runs_of(ref.index)
            picked: list[RunView] = live[start:stop]
            first = max(0, start - len(live))
            for run in range(first, min(self.world.runs_of(ref.index), stop - len(live))):
                picked.append(self.source.static_view(ref.index, run))
            return _page(picked, page, size, total)
        matched: list[int] = []
        for run in range(min(self.world.runs_of(ref.index), SEARCH_WINDOW)):
            head = self.world.header(ref.index, run)
            if keep(head.is_test, head.executed_by) and keep_status(
                str(self.source.header_status(head))
            ):
                matched.append(run)
        total = len(live) + len(matched)
        chosen = live[start:stop]
        first = max(0, start - len(live))
        for run in matched[first : max(first, stop - len(live))]:
            chosen.append(self.source.static_view(ref.index, run))
        return _page(chosen, page, size, total)

    @staticmethod
    def no_executions(query: Mapping[str, Json]) -> dict[str, Json]:
        """The executions list of a workflow that does not exist here: empty."""
        page, size = int(query.get("page", 1)), int(query.get("size", 100))
        return _page([], page, size, 0)

    # Step executions of a workflow -------------------------------------------------------

    @staticmethod
    def no_step_executions(query: Mapping[str, Json]) -> dict[str, Json]:
        """The step executions of a workflow that does not exist here: empty (echoes as the
        search does)."""
        if "page" not in query and "size" not in query:
            return {"results": [], "total": 0}
        page, size = int(query.get("page", 1)), int(query.get("size", 100))
        return {"results": [], "total": 0, "page": page, "size": size}

    def _step_stream(self, ref: WorkflowRef, step_id: str | None) -> Iterator[dict[str, Json]]:
        live = self.source.live_views(ref.workflow_id, ref.space_id)
        live_steps = [
            s for view in live for s in view.steps() if step_id is None or s["stepId"] == step_id
        ]
        live_steps.sort(key=lambda s: (_started(s) or 0, s["globalExecutionIndex"]), reverse=True)
        yield from live_steps
        for view in self._static_views(ref):
            for step in reversed(view.steps()):
                if step_id is None or step["stepId"] == step_id:
                    yield step

    def step_executions(self, ref: WorkflowRef, query: Mapping[str, Json]) -> dict[str, Json]:
        """``{results, total[, page, size]}``: paged (and echoed) only if page or size was sent."""
        paged = "page" in query or "size" in query
        page = int(query.get("page", 1))
        size = int(query.get("size", 100 if paged else UNPAGED_STEP_SIZE))
        keep_input = bool(query.get("includeInput", False))
        keep_output = bool(query.get("includeOutput", False))
        step_id = query.get("stepId")
        after = _bound(query.get("startedAfter"))
        before = _bound(query.get("startedBefore"))
        # Count the whole search window but keep only the page: a window holds up to
        # SEARCH_WINDOW steps, and holding them all would grow the worker for nothing.
        first, stop = ((page - 1) * size, page * size) if paged else (0, size)
        window = SEARCH_WINDOW if paged else size
        chosen: list[dict[str, Json]] = []
        total = 0
        for step in self._step_stream(ref, step_id):
            started = _started(step)
            if (after is not None or before is not None) and started is None:
                continue  # a range query never matches a document without the field
            if (after is not None and started is not None and started <= after) or (
                before is not None and started is not None and started >= before
            ):
                continue
            if first <= total < stop:
                chosen.append(step)
            total += 1
            if total >= window:
                break
        results = [
            render.strip_io(s, keep_input=keep_input, keep_output=keep_output) for s in chosen
        ]
        if not paged:
            return {"results": results, "total": len(results)}
        return {"results": results, "total": total, "page": page, "size": size}

    # Workflows ---------------------------------------------------------------------------

    def workflows(self, space_id: str, query: Mapping[str, Json]) -> dict[str, Json]:
        """``{page, size, total, results}`` of the space's saved workflows."""
        page, size = int(query.get("page", 1)), int(query.get("size", 100))
        text = str(query.get("query", "")).strip().lower()
        items: list[dict[str, Json]] = []
        if space_id == "default":
            items.append(
                render.workflow_item(
                    documented.WORKFLOW_ID,
                    documented.workflow_definition(),
                    documented.workflow_yaml(),
                    created=documented.CREATED_AT,
                    created_by=documented.AUTHOR,
                    updated=documented.CREATED_AT,
                    updated_by=documented.AUTHOR,
                )
            )
        for index in self.world.workflows_in(space_id):
            wf = self.world.workflow(index)
            items.append(
                render.workflow_item(
                    wf.id,
                    wf.definition,
                    wf.yaml,
                    created=iso_millis(wf.created_us),
                    created_by=wf.created_by,
                    updated=iso_millis(wf.updated_us),
                    updated_by=wf.updated_by,
                )
            )
        if text:
            items = [i for i in items if text in _haystack(i)]
        start = (page - 1) * size
        return {
            "page": page,
            "size": size,
            "total": len(items),
            "results": items[start : start + size],
        }


def _haystack(item: Mapping[str, Json]) -> str:
    return " ".join(
        [str(item.get("name", "")), str(item.get("description", "")), *item.get("tags", [])]
    ).lower()


def _started(step: Mapping[str, Json]) -> int | None:
    """A step's ``startedAt`` in µs; None for a step cancelled before it started."""
    value = step.get("startedAt")
    return parse_iso(value) if isinstance(value, str) else None


def _bound(value: Json) -> int | None:
    """An ISO date (or ``now``-free date-math prefix) as µs; None when absent or unparseable."""
    if not isinstance(value, str) or not value:
        return None
    try:
        return parse_iso(value)
    except ValueError:
        return None


def _page(views: list[RunView], page: int, size: int, total: int) -> dict[str, Json]:
    results = [view.list_item() for view in views]
    body: dict[str, Json] = {"results": results, "page": page, "size": size, "total": total}
    if results and len(results) == size:
        last = views[-1]
        body["searchAfter"] = [last.sort_us // 1000, last.execution_id]
    return body
