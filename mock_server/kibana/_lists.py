"""The Kibana list endpoints: workflows, executions of a workflow, its step executions.

Order and paging follow Kibana: executions newest first (live runs, then the seeded runs by
index, whose start times decrease with the index), step executions ``startedAt`` descending,
1-based ``page`` (a number: see ``_list_query.window``). Filters of the executions list
(``statuses``, ``executionTypes``, ``executedBy``) only need the runs' cheap headers; the 9.5
parameters (date bounds, ``concurrencyGroupKey``, ``collapse``, ``sortField``/``sortOrder``,
see ``_list_query``) are applied to the rendered list items. Workflows filter by ``enabled``,
``createdBy``, ``tags`` and ``managed`` (default ``unmanaged``: items flagged ``managed`` are left
out) and sort by ``sortField``/``sortOrder`` when asked. Like Elasticsearch's default
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

from mock_server._stamp import iso_millis
from mock_server.kibana import _documented as documented
from mock_server.kibana import _render as render
from mock_server.kibana._list_query import (
    Bounds,
    ExecutionSearch,
    field_us,
    listed_values,
    window,
)
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
        """``{results, page, size, total[, searchAfter]}`` of one workflow's executions.

        Raises ``BadQuery`` for a date bound Elasticsearch could not parse."""
        page, size = query.get("page", 1), query.get("size", 100)
        search = ExecutionSearch.read(query, self.source.ctx.clock())
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
        start, stop = window(page, size)
        if ref.index < 0:
            rows = [
                v
                for v in self._static_views(ref)
                if keep_status(str(v.status)) and keep(False, documented.AUTHOR)
            ]
            items = [v.list_item() for v in live + rows]
            if search is not None:
                return _searched(items, search, page, size)
            return _page(items[start:stop], page, size, len(items))
        if search is not None:
            items = [v.list_item() for v in live]
            for run in range(min(self.world.runs_of(ref.index), SEARCH_WINDOW)):
                head = self.world.header(ref.index, run)
                if keep(head.is_test, head.executed_by) and keep_status(
                    str(self.source.header_status(head))
                ):
                    items.append(self.source.static_view(ref.index, run).list_item())
            return _searched(items, search, page, size)
        if not filtered:
            total = len(live) + self.world.runs_of(ref.index)
            picked: list[dict[str, Json]] = [v.list_item() for v in live[start:stop]]
            first = max(0, start - len(live))
            for run in range(first, min(self.world.runs_of(ref.index), stop - len(live))):
                picked.append(self.source.static_view(ref.index, run).list_item())
            return _page(picked, page, size, total)
        matched: list[int] = []
        for run in range(min(self.world.runs_of(ref.index), SEARCH_WINDOW)):
            head = self.world.header(ref.index, run)
            if keep(head.is_test, head.executed_by) and keep_status(
                str(self.source.header_status(head))
            ):
                matched.append(run)
        items = [v.list_item() for v in live]
        total = len(items) + len(matched)
        chosen = items[start:stop]
        first = max(0, start - len(items))
        for run in matched[first : max(first, stop - len(items))]:
            chosen.append(self.source.static_view(ref.index, run).list_item())
        return _page(chosen, page, size, total)

    def no_executions(self, query: Mapping[str, Json]) -> dict[str, Json]:
        """The executions list of a workflow that does not exist here: empty (Kibana searches
        by workflow id). Raises ``BadQuery`` for a date bound Elasticsearch could not parse."""
        ExecutionSearch.read(query, self.source.ctx.clock())
        return _page([], query.get("page", 1), query.get("size", 100), 0)

    # Step executions of a workflow -------------------------------------------------------

    def no_step_executions(self, query: Mapping[str, Json]) -> dict[str, Json]:
        """The step executions of a workflow that does not exist here: empty, echoed as the
        search echoes. Raises ``BadQuery`` for a date bound Elasticsearch could not parse."""
        Bounds.read(query, "startedAt", "started", self.source.ctx.clock())
        if "page" not in query and "size" not in query:
            return {"results": [], "total": 0}
        return {
            "results": [],
            "total": 0,
            "page": query.get("page", 1),
            "size": query.get("size", 100),
        }

    def _step_stream(self, ref: WorkflowRef, step_id: str | None) -> Iterator[dict[str, Json]]:
        yield from self._live_steps(ref, step_id)
        for view in self._static_views(ref):
            for step in reversed(view.steps()):
                if step_id is None or step["stepId"] == step_id:
                    yield step

    def _live_steps(self, ref: WorkflowRef, step_id: str | None) -> list[dict[str, Json]]:
        live = self.source.live_views(ref.workflow_id, ref.space_id)
        live_steps = [
            s for view in live for s in view.steps() if step_id is None or s["stepId"] == step_id
        ]
        # startedAt descending, steps that never started last (Elasticsearch's missing: _last).
        live_steps.sort(key=lambda s: s["globalExecutionIndex"], reverse=True)
        live_steps.sort(key=lambda s: field_us(s, "startedAt") or 0, reverse=True)
        live_steps.sort(key=lambda s: field_us(s, "startedAt") is None)
        return live_steps

    def _unfiltered_window(
        self, ref: WorkflowRef, first: int, stop: int, limit: int
    ) -> tuple[list[dict[str, Json]], int]:
        """What the loop of ``step_executions`` finds when nothing filters the stream: the steps
        at positions ``[first, stop)`` below ``limit``, and ``min(steps, limit)``. A seeded run
        outside the page is counted from its plan, not rendered (a window holds 10,000 steps)."""
        live = self._live_steps(ref, None)
        chosen = live[max(first, 0) : min(stop, limit)]
        total = min(len(live), limit)
        if total >= limit:
            return chosen, total
        for view in self._static_views(ref):
            count = view.step_count()
            if total < stop and total + count > first:
                for offset, step in enumerate(reversed(view.steps())):
                    if first <= total + offset < min(stop, limit):
                        chosen.append(step)
            total += count
            if total >= limit:
                return chosen, limit
        return chosen, total

    def step_executions(self, ref: WorkflowRef, query: Mapping[str, Json]) -> dict[str, Json]:
        """``{results, total[, page, size]}``: paged (and echoed) only if page or size was sent.

        Raises ``BadQuery`` for a date bound Elasticsearch could not parse."""
        paged = "page" in query or "size" in query
        page = query.get("page", 1)
        size = query.get("size", 100 if paged else UNPAGED_STEP_SIZE)
        keep_input = bool(query.get("includeInput", False))
        keep_output = bool(query.get("includeOutput", False))
        step_id = query.get("stepId")
        started = Bounds.read(query, "startedAt", "started", self.source.ctx.clock())
        # Count the whole search window but keep only the page: a window holds up to
        # SEARCH_WINDOW steps, and holding them all would grow the worker for nothing.
        first, stop = window(page, size) if paged else (0, int(size))
        limit = SEARCH_WINDOW if paged else int(size)
        chosen: list[dict[str, Json]] = []
        total = 0
        if step_id is None and started.after is None and started.before is None:
            chosen, total = self._unfiltered_window(ref, first, stop, limit)
        else:
            for step in self._step_stream(ref, step_id):
                if not started.admits(step):
                    continue
                if first <= total < stop:
                    chosen.append(step)
                total += 1
                if total >= limit:
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
        page, size = query.get("page", 1), query.get("size", 100)
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
        items = [i for i in items if _workflow_matches(i, query)]
        items = _sorted_workflows(items, query)
        start, stop = window(page, size)
        return {
            "page": page,
            "size": size,
            "total": len(items),
            "results": items[start:stop],
        }


def _haystack(item: Mapping[str, Json]) -> str:
    return " ".join(
        [str(item.get("name", "")), str(item.get("description", "")), *item.get("tags", [])]
    ).lower()


def _workflow_matches(item: Mapping[str, Json], query: Mapping[str, Json]) -> bool:
    """The ``enabled``, ``createdBy``, ``tags`` and ``managed`` filters of ``GET /api/workflows``
    (terms filters: a workflow matches when its value, or one of its tags, is among the sent ones;
    ``managed`` is tri-state, ``unmanaged`` by default, as ``buildWorkflowFilters`` reads it)."""
    enabled = listed_values(query, "enabled")
    if enabled is not None and item.get("enabled") not in enabled:
        return False
    creators = listed_values(query, "createdBy")
    if creators is not None and item.get("createdBy") not in creators:
        return False
    tags = listed_values(query, "tags")
    if tags is not None and not set(tags) & set(item.get("tags") or ()):
        return False
    managed = query.get("managed", "unmanaged")
    if managed == "all":
        return True
    return bool((item.get("managed") is True) == (managed == "managed"))


def _sorted_workflows(
    items: list[dict[str, Json]], query: Mapping[str, Json]
) -> list[dict[str, Json]]:
    """Items sorted by ``sortField`` (``name`` or ``enabled``), ascending unless ``sortOrder`` is
    ``desc``; without ``sortField`` the order stays most recently updated first. The sort is
    stable, so equal keys keep that order."""
    field = query.get("sortField")
    if field not in ("name", "enabled"):
        return items
    descending = query.get("sortOrder") == "desc"
    if field == "name":
        return sorted(items, key=lambda i: str(i.get("name") or ""), reverse=descending)
    return sorted(items, key=lambda i: bool(i.get("enabled")), reverse=descending)


def _searched(
    newest_first: list[dict[str, Json]], search: ExecutionSearch, page: float, size: float
) -> dict[str, Json]:
    """A page of the items that match ``search``, sorted and collapsed; ``total`` counts every
    match (Kibana searches with ``track_total_hits``)."""
    matched = [item for item in newest_first if search.admits(item)]
    arranged = search.arrange(matched)
    start, stop = window(page, size)
    return _page(arranged[start:stop], page, size, len(matched))


def _page(results: list[dict[str, Json]], page: float, size: float, total: int) -> dict[str, Json]:
    body: dict[str, Json] = {"results": results, "page": page, "size": size, "total": total}
    if results and len(results) >= size:
        last = results[-1]
        body["searchAfter"] = [(field_us(last, "startedAt") or 0) // 1000, last["id"]]
    return body
