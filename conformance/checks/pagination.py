"""List checks: pagination adds up, and filters are honoured.

``pagination_consistent`` reads a list once in one big page, then in small pages (the first two,
the last and one past the end), and checks that totals, echoed page numbers and sizes agree,
and that the small pages are exactly the slices of the big one: nothing duplicated, nothing lost.
Lists can move (a live server starts runs), so a mismatch is re-read once before it is reported.

``filters_honoured`` asks for a filtered list and checks every item matches the filter, and
that no matching item of the unfiltered list went missing.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from conformance._context import NOT_JSON
from conformance._operations import ApiProfile
from conformance.checks._registry import check
from conformance.checks.consistency import walk
from conformance.findings import Finding, Severity, short

if TYPE_CHECKING:
    from conformance._context import Context, Exchange
    from conformance._specs import Operation


@dataclass(frozen=True)
class Paging:
    """How one list operation pages."""

    style: Literal["page", "offset"]
    items: tuple[str, ...]
    ident: str
    position: str
    """Query parameter of the page number (1-based) or the offset (0-based)."""
    size: str
    """Query parameter of the page length / limit."""
    big: int
    """The page length used to read the whole list at once (at most the documented maximum)."""
    total: tuple[str, ...] | None = None
    page_echo: tuple[str, ...] | None = None
    size_echo: tuple[str, ...] | None = None
    total_pages: tuple[str, ...] | None = None
    has_more: tuple[str, ...] | None = None
    inferred: bool = False
    """True when the total/has-more key names are only inferred (Trigify's workflow list)."""


PAGING: dict[str, dict[str, Paging]] = {
    "kibana": {
        "listWorkflows": Paging(
            "page", ("results",), "id", "page", "size", 100, ("total",), ("page",), ("size",)
        ),
        "getWorkflowExecutions": Paging(
            "page", ("results",), "id", "page", "size", 100, ("total",), ("page",), ("size",)
        ),
        "getExecutionSteps": Paging(
            "page", ("results",), "id", "page", "size", 1000, ("total",), ("page",), ("size",)
        ),
        "getWorkflowStepExecutions": Paging(
            "page", ("results",), "id", "page", "size", 100, ("total",), ("page",), ("size",)
        ),
    },
    "arcee": {
        "executionHistory": Paging("offset", (), "id", "offset", "limit", 100),
    },
    "trigify": {
        "listWorkflowExecutions": Paging(
            "page",
            ("data", "executions"),
            "run_id",
            "page",
            "page_size",
            100,
            ("data", "pagination", "total_count"),
            ("data", "pagination", "page"),
            ("data", "pagination", "page_size"),
            ("data", "pagination", "total_pages"),
        ),
        "listWorkflows": Paging(
            "offset",
            ("data", "items"),
            "id",
            "offset",
            "limit",
            100,
            ("data", "total"),
            has_more=("data", "has_more"),
            inferred=True,
        ),
    },
}
SMALL = 2
"""Length of the small pages."""


def _value(body: Any, path: tuple[str, ...] | None) -> Any:
    if path is None:
        return None
    return next((value for _, value in walk(body, path)), None)


def _items(body: Any, paging: Paging) -> list[Any] | None:
    node = _value(body, paging.items) if paging.items else body
    if not isinstance(node, list):
        return None
    return [item.get(paging.ident) if isinstance(item, dict) else item for item in node]


def _paged(profile: ApiProfile, operation: Operation) -> bool:
    return operation.operation_id in PAGING.get(profile.api, {})


class _Reporter:
    def __init__(self, ctx: Context, operation: Operation, paging: Paging) -> None:
        self.ctx, self.operation, self.paging = ctx, operation, paging

    def finding(
        self,
        title: str,
        exchange: Exchange,
        path: str,
        expected: Any,
        found: Any,
        *,
        inferred: bool = False,
    ) -> Finding:
        inferred = inferred or self.paging.inferred
        return Finding(
            check="pagination_consistent",
            title=title,
            operation=self.operation.operation_id,
            path=path,
            expected=expected if isinstance(expected, str) else short(expected),
            found=found if isinstance(found, str) else short(found),
            severity=Severity.WARNING if inferred else Severity.ERROR,
            inferred=inferred,
            request=exchange.result.request,
        )


def _read(
    ctx: Context,
    operation: Operation,
    params: Mapping[str, str],
    paging: Paging,
    index: int,
    size: int,
    *,
    fresh: bool = False,
) -> Exchange | None:
    position = index + 1 if paging.style == "page" else index * size
    query = {paging.position: str(position), paging.size: str(size)}
    exchange = ctx.get(operation, params, query, fresh=fresh)
    if exchange is None or not exchange.ok or _items(exchange.json, paging) is None:
        return None
    return exchange


@check(
    "pagination_consistent",
    description="Paged lists add up: totals match the items, echoed page/size match the "
    "request, total_pages = ceil(total/size), and small pages are exact slices of one big "
    "page (no duplicates, no gaps).",
    family="consistency",
    source=(
        "Kibana: elastic/kibana:src/platform/plugins/shared/workflows_management/server/"
        "api/lib/search_workflow_executions.ts@05a820c1, "
        "get_execution_step_executions.ts@85546997, search_step_executions.ts@18a4bc0e; "
        "https://docs.trigify.io/api-reference/workflows/executions"
    ),
    applies=_paged,
)
def pagination_consistent(ctx: Context) -> Iterator[Finding]:
    for operation_id, paging in PAGING.get(ctx.profile.api, {}).items():
        from conformance._specs import operation as find_operation

        operation = find_operation(ctx.profile.api, operation_id)
        params = _params(ctx, operation)
        if params is None:
            ctx.skip(operation_id, "discovery found no ids for its path parameters")
            continue
        yield from _check_list(ctx, operation, params, paging)


def _params(ctx: Context, operation: Operation) -> dict[str, str] | None:
    """Primary ids, but the workflow with the longest run list for a workflow's run list."""
    from conformance._operations import path_params

    busiest = ctx.ids.busiest_workflow()
    names = path_params(operation)
    if busiest and names and all(ctx.profile.id_params.get(n) == "workflow" for n in names):
        return ctx.params_for(operation, **dict.fromkeys(names, busiest))
    return ctx.params_for(operation)


def _check_list(
    ctx: Context, operation: Operation, params: Mapping[str, str], paging: Paging
) -> Iterator[Finding]:
    report = _Reporter(ctx, operation, paging)
    full = _read(ctx, operation, params, paging, 0, paging.big)
    if full is None:
        ctx.skip(operation.operation_id, "the list could not be read")
        return
    ids = _items(full.json, paging) or []
    total = _value(full.json, paging.total)
    yield from _whole(report, full, ids, total, paging)
    count = len(ids)
    if count == 0:
        ctx.skip(operation.operation_id, "the list is empty, so there is nothing to page through")
        return
    complete = count < paging.big or (isinstance(total, int) and total == count)
    last = math.ceil(count / SMALL) - 1
    indexes = sorted({0, 1, last, last + 1} if complete else {0, 1})
    for index in indexes:
        page = _read(ctx, operation, params, paging, index, SMALL)
        if page is None:
            continue
        got = _items(page.json, paging) or []
        expected = ids[index * SMALL : (index + 1) * SMALL]
        if got != expected:
            # Re-read both once: a live server may have started a run in between.
            again_full = _read(ctx, operation, params, paging, 0, paging.big, fresh=True)
            again = _read(ctx, operation, params, paging, index, SMALL, fresh=True)
            if again_full is not None and again is not None:
                ids = _items(again_full.json, paging) or []
                got = _items(again.json, paging) or []
                expected = ids[index * SMALL : (index + 1) * SMALL]
                page = again
        if got != expected:
            yield report.finding(
                "page is not the matching slice of the whole list",
                page,
                _path(paging.items),
                expected,
                got,
            )
        yield from _echo(report, page, paging, index, total)


def _whole(
    report: _Reporter, full: Exchange, ids: list[Any], total: Any, paging: Paging
) -> Iterator[Finding]:
    duplicates = sorted({str(i) for i in ids if ids.count(i) > 1})
    if duplicates:
        yield report.finding(
            "item listed twice",
            full,
            _path(paging.items),
            "each item once",
            f"repeated: {duplicates[:5]!r}",
        )
    if paging.total is None:
        return
    if not isinstance(total, int):
        return  # the schema check reports a missing or mistyped total
    expected_count = min(total, paging.big)
    if len(ids) != expected_count:
        if total <= paging.big:
            expected, found = f"{len(ids)} (the items of one page of {paging.big})", total
        else:
            expected, found = f"a full page of {paging.big} items (total {total})", len(ids)
        yield report.finding(
            "total disagrees with the items", full, _path(paging.total), expected, found
        )
    has_more = _value(full.json, paging.has_more)
    if (
        paging.has_more is not None
        and isinstance(has_more, bool)
        and has_more != (total > len(ids))
    ):
        yield report.finding(
            "has_more disagrees with the total",
            full,
            _path(paging.has_more),
            total > len(ids),
            has_more,
            inferred=True,
        )


def _echo(
    report: _Reporter, page: Exchange, paging: Paging, index: int, total: Any
) -> Iterator[Finding]:
    if page.json is NOT_JSON:
        return
    echoed_page = _value(page.json, paging.page_echo)
    if paging.page_echo and echoed_page is not None and echoed_page != index + 1:
        yield report.finding(
            "page number not echoed", page, _path(paging.page_echo), index + 1, echoed_page
        )
    echoed_size = _value(page.json, paging.size_echo)
    if paging.size_echo and echoed_size is not None and echoed_size != SMALL:
        yield report.finding(
            "page size not echoed", page, _path(paging.size_echo), SMALL, echoed_size
        )
    page_total = _value(page.json, paging.total)
    if isinstance(total, int) and isinstance(page_total, int) and page_total != total:
        yield report.finding(
            "total changes from page to page", page, _path(paging.total), total, page_total
        )
    pages = _value(page.json, paging.total_pages)
    if (
        isinstance(page_total, int)
        and isinstance(pages, int)
        and pages != math.ceil(page_total / SMALL)
    ):
        yield report.finding(
            "total_pages disagrees with total and page size",
            page,
            _path(paging.total_pages),
            math.ceil(page_total / SMALL),
            pages,
        )


def _path(parts: tuple[str, ...] | None) -> str:
    return "$" + "".join(f".{part}" for part in parts or ())


# api -> operationId -> (query, field in each item, accepted values, path param kinds)
FILTERS: dict[str, dict[str, tuple[dict[str, str], str, frozenset[str]]]] = {
    "kibana": {
        "getWorkflowExecutions": ({"statuses": "failed"}, "status", frozenset({"failed"})),
    },
    "trigify": {
        "listWorkflows": ({"status": "PUBLISHED"}, "status", frozenset({"PUBLISHED"})),
    },
}


def _filtered(profile: ApiProfile, operation: Operation) -> bool:
    return operation.operation_id in FILTERS.get(profile.api, {}) or (
        profile.api == "kibana" and operation.operation_id == "getWorkflowStepExecutions"
    )


@check(
    "filters_honoured",
    description="Filtered lists hold only matching items and lose none: Kibana "
    "`statuses=failed` and the step list's `stepId`, Trigify `status=PUBLISHED`.",
    family="consistency",
    source=(
        "Kibana: elastic/kibana:src/platform/plugins/shared/workflows_management/server/"
        "api/routes/executions/get_workflow_executions.ts@00c7693b (statuses) and "
        "get_workflow_step_executions.ts@32a060c9 (stepId); https://docs.trigify.io/"
        "api-reference/workflows/list (status)"
    ),
    applies=_filtered,
)
def filters_honoured(ctx: Context) -> Iterator[Finding]:
    from conformance._specs import operation as find_operation

    api = ctx.profile.api
    for operation_id, (query, field, accepted) in FILTERS.get(api, {}).items():
        yield from _filter(ctx, find_operation(api, operation_id), query, field, accepted)
    if api == "kibana" and ctx.ids.steps:
        step_op = find_operation(api, "getStepExecution")
        run, step_id = ctx.ids.steps[0]
        alone = ctx.get(step_op, {"executionId": run, "stepExecutionId": step_id})
        step = alone.object if alone is not None else None
        if step is not None and isinstance(step.get("stepId"), str):
            name = step["stepId"]
            wide = find_operation(api, "getWorkflowStepExecutions")
            yield from _filter(ctx, wide, {"stepId": name}, "stepId", frozenset({name}))


def _filter(
    ctx: Context, operation: Operation, query: dict[str, str], field: str, accepted: frozenset[str]
) -> Iterator[Finding]:
    paging = PAGING.get(ctx.profile.api, {}).get(operation.operation_id)
    params = ctx.params_for(operation)
    if params is None or paging is None:
        ctx.skip(operation.operation_id, "discovery found no ids for its path parameters")
        return
    size = {paging.size: str(paging.big)}
    filtered = ctx.get(operation, params, {**query, **size})
    whole = ctx.get(operation, params, size)
    if filtered is None or whole is None or not filtered.ok or not whole.ok:
        ctx.skip(operation.operation_id, "the list could not be read")
        return
    items = _value(filtered.json, paging.items) if paging.items else filtered.json
    everything = _value(whole.json, paging.items) if paging.items else whole.json
    if not isinstance(items, list) or not isinstance(everything, list):
        return
    for index, item in enumerate(items):
        if isinstance(item, dict) and item.get(field) not in accepted:
            yield Finding(
                check="filters_honoured",
                title="filtered list holds an item that does not match",
                operation=operation.operation_id,
                path=f"{_path(paging.items)}[{index}].{field}",
                expected=f"one of {sorted(accepted)!r} (filter {query!r})",
                found=short(item.get(field)),
                request=filtered.result.request,
            )
    whole_total = _value(whole.json, paging.total)
    if isinstance(whole_total, int) and whole_total > len(everything):
        return  # the unfiltered list is cut off; missing items cannot be judged
    wanted = [
        i.get(paging.ident) for i in everything if isinstance(i, dict) and i.get(field) in accepted
    ]
    got = [i.get(paging.ident) for i in items if isinstance(i, dict)]
    lost = [ident for ident in wanted if ident not in got]
    if lost:
        yield Finding(
            check="filters_honoured",
            title="filtered list lost matching items",
            operation=operation.operation_id,
            path=_path(paging.items),
            expected=f"also {short(lost)} (they match {query!r} in the unfiltered list)",
            found=short(got),
            request=filtered.result.request,
        )
