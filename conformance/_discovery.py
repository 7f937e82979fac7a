"""Discovery: find real ids by walking the list endpoints, within a small request budget.

workflows -> runs of several workflows -> runs (and their steps). Ids the user gave are used as
they are (``_precheck`` has already confirmed the server knows them). The primary run is a
finished one with steps when the server has such a run, because the cross-endpoint checks
compare snapshots and a run that is still moving would change between two requests.

Which shapes the kit meets must not be luck: discovery samples workflows spread over the first
page of the list (not only the most recently updated one) and keeps runs of every status it
sees, and reads one run of each status by id, so the response checks judge pending, waiting,
cancelled and skipped runs as well as finished ones - all within ``DISCOVERY_BUDGET`` requests.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from conformance._context import Context, Exchange

DISCOVERY_BUDGET = 24
"""Most requests discovery may spend."""
MAX_WORKFLOWS = 6
"""Workflows whose run lists are read (spread over the first page of the list)."""
MAX_RUNS = 10
"""Runs kept: two completed, two failed, then one of every other status seen."""

# api -> role -> (path to the list in the body, id field, status field, workflow field)
_LISTS: dict[str, dict[str, tuple[tuple[str, ...], str, str | None, str | None]]] = {
    "kibana": {
        "workflows": (("results",), "id", None, None),
        "runs": (("results",), "id", "status", "workflowId"),
        "run": (("stepExecutions",), "id", "status", None),
        "steps": (("results",), "id", "status", None),
    },
    "arcee": {
        "workflows": ((), "workflow_id", None, None),
        "runs": ((), "id", "status", None),
        "steps": ((), "id", "status", None),
    },
    "trigify": {
        "workflows": (("data", "items"), "id", None, None),
        "runs": (("data", "executions"), "run_id", "status", None),
        "run": (("data", "steps"), "step_id", "status", None),
    },
}
# Small pages: discovery wants a handful of ids, not whole lists.
LIST_QUERY: dict[str, dict[str, dict[str, str]]] = {
    "kibana": {"workflows": {"size": "10"}, "runs": {"size": "20"}},
    "arcee": {"runs": {"limit": "20"}},
    "trigify": {"workflows": {"limit": "10"}, "runs": {"page_size": "20"}},
}


def items(api: str, role: str, body: Any) -> list[dict[str, Any]]:
    """The objects of the list that ``role``'s response body holds (``[]`` if it is not there)."""
    spec = _LISTS.get(api, {}).get(role)
    if spec is None:
        return []
    node = body
    for key in spec[0]:
        node = node.get(key) if isinstance(node, dict) else None
    if isinstance(node, dict) and api == "arcee":
        node = [node]
    return [item for item in node if isinstance(item, dict)] if isinstance(node, list) else []


def _ids(api: str, role: str, body: Any) -> Iterator[tuple[str, str | None, str | None]]:
    spec = _LISTS[api][role]
    for item in items(api, role, body):
        ident = item.get(spec[1])
        if isinstance(ident, str | int) and not isinstance(ident, bool):
            status = item.get(spec[2]) if spec[2] else None
            workflow = item.get(spec[3]) if spec[3] else None
            yield (
                str(ident),
                status if isinstance(status, str) else None,
                workflow if isinstance(workflow, str) else None,
            )


def discover(ctx: Context) -> None:
    """Fill ``ctx.ids`` from the user's ids and the list endpoints (see the module docstring)."""
    ctx.current = "discovery"
    config, profile, ids = ctx.config, ctx.profile, ctx.ids
    if config.workflow_id:
        ids.workflows.append(config.workflow_id)
    if config.run_id:
        ids.runs.append((config.workflow_id, config.run_id))
    if config.step_id and config.run_id:
        ids.steps.append((config.run_id, config.step_id))

    start = ctx.requests_sent
    if not ids.workflows and not ids.runs:
        listing = _fetch(ctx, "workflows", {})
        if listing is not None:
            ids.workflows += [ident for ident, _, _ in _ids(profile.api, "workflows", listing.json)]
            if not ids.workflows:
                ids.notes.append("the workflow list was empty, so nothing else could be discovered")
        else:
            ids.notes.append(
                "the workflow list gave no usable answer (see the findings), so nothing else "
                "could be discovered"
            )
    if not ids.runs:
        _find_runs(ctx, start)
    if ids.runs and not ids.steps:
        _find_steps(ctx, start)
    if not config.run_id:
        _sample_statuses(ctx, start)
    if profile.api == "kibana" and ids.runs and ids.runs[0][0] is None:
        _learn_workflow_of_run(ctx)


def _budget_left(ctx: Context, start: int) -> bool:
    return ctx.requests_sent - start < DISCOVERY_BUDGET


def _fetch(ctx: Context, role: str, params: dict[str, str]) -> Exchange | None:
    """GET a role's operation; its exchange when it is a 2xx JSON answer, else None.

    Whether the target answers at all, and accepts the credential, ``_precheck`` settled first.
    """
    operation = ctx.profile.operation(role)  # type: ignore[arg-type]
    if operation is None:
        return None
    query = LIST_QUERY.get(ctx.profile.api, {}).get(role, {})
    exchange = ctx.get(operation, params, query)
    return exchange if exchange is not None and exchange.ok else None


def _spread(values: list[str], count: int) -> list[str]:
    """Up to ``count`` of ``values``, spread evenly (first and last included)."""
    if len(values) <= count:
        return list(values)
    step = (len(values) - 1) / (count - 1)
    return list(dict.fromkeys(values[round(index * step)] for index in range(count)))


def _find_runs(ctx: Context, start: int) -> None:
    profile, ids = ctx.profile, ctx.ids
    found: list[tuple[str | None, str, str | None]] = []
    for workflow in _spread(ids.workflows, MAX_WORKFLOWS):
        # Keep a few requests for the run details below.
        if ctx.requests_sent - start >= DISCOVERY_BUDGET - 6:
            break
        operation = profile.operation("runs")
        if operation is None:
            break
        params = ctx.params_for(operation, **{_param(ctx, "runs", "workflow"): workflow})
        listing = _fetch(ctx, "runs", params or {})
        if listing is None:
            continue
        listed = list(_ids(profile.api, "runs", listing.json))
        ids.run_counts[workflow] = len(listed)
        for run, status, owner in listed:
            found.append((owner or workflow, run, status))
    if not found:
        given = ctx.config.workflow_id
        if given and profile.api == "kibana":
            ids.notes.append(
                f"{ctx.config.option('workflow-id')} {given!r} has no runs on the server; Kibana "
                "answers an unknown workflow id with an empty list too, so check the id"
            )
        else:
            ids.notes.append("no runs were found in the workflows discovery read")
        return
    # Finished runs first (completed before failed), so the primary run is a stable snapshot;
    # then one run of every other status, so the checks meet every shape the server serves.
    chosen: list[tuple[str | None, str, str | None]] = []
    for status_wanted in ("completed", "success", "failed", "error"):
        chosen += [item for item in found if item[2] == status_wanted and item not in chosen][:2]
    seen = {item[2] for item in chosen}
    for item in found:
        if item[2] not in seen:
            seen.add(item[2])
            chosen.append(item)
    chosen += [item for item in found if item not in chosen]
    for owner, run, status in chosen[:MAX_RUNS]:
        ids.runs.append((owner, run))
        if status:
            ids.run_status[run] = status


def _sample_statuses(ctx: Context, start: int) -> None:
    """Read one run of each status by id (and its steps where they are apart), within budget."""
    profile, ids = ctx.profile, ctx.ids
    read: set[str | None] = set()
    roles = ["run"] + (["steps"] if profile.api == "arcee" else [])
    for workflow, run in ids.runs:
        status = ids.run_status.get(run)
        if status in read:
            continue
        read.add(status)
        for role in roles:
            if not _budget_left(ctx, start):
                return
            operation = profile.operation(role)  # type: ignore[arg-type]
            if operation is None:
                continue
            params = ctx.params_for(operation, **_run_ids(ctx, role, workflow, run))
            if params is not None:
                ctx.get(operation, params)


def _run_ids(ctx: Context, role: str, workflow: str | None, run: str) -> dict[str, str]:
    """The path parameters of ``role``'s operation that address ``run`` (and its workflow)."""
    ids = {_param(ctx, role, "run"): run}
    if workflow is not None:
        ids[_param(ctx, role, "workflow")] = workflow
    return ids


def _param(ctx: Context, role: str, kind: str) -> str:
    from conformance._operations import path_params

    operation = ctx.profile.operation(role)  # type: ignore[arg-type]
    for name in path_params(operation) if operation else []:
        if ctx.profile.id_params.get(name) == kind:
            return name
    return kind


def _find_steps(ctx: Context, start: int) -> None:
    profile, ids = ctx.profile, ctx.ids
    role = "run" if profile.api in ("kibana", "trigify") else "steps"
    read = 0
    for index, (workflow, run) in enumerate(list(ids.runs)):
        if not _budget_left(ctx, start):
            break
        operation = profile.operation(role)  # type: ignore[arg-type]
        if operation is None:
            return
        params = ctx.params_for(operation, **_run_ids(ctx, role, workflow, run))
        exchange = _fetch(ctx, role, params or {})
        if exchange is None:
            continue
        read += 1
        steps = [(run, ident) for ident, _, _ in _ids(profile.api, role, exchange.json)]
        if profile.api == "kibana" and exchange.object is not None:
            owner = exchange.object.get("workflowId")
            if isinstance(owner, str) and workflow is None:
                ids.runs[index] = (owner, run)
        if steps:
            if index:
                # Promote the first run that has steps to primary.
                ids.runs.insert(0, ids.runs.pop(index))
            ids.steps += steps
            return
    if read:
        ids.notes.append(f"none of the {read} runs read had steps")
    else:
        ids.notes.append("no run's steps could be read (see the findings)")


def _learn_workflow_of_run(ctx: Context) -> None:
    operation = ctx.profile.operation("run")
    if operation is None:
        return
    run = ctx.ids.runs[0][1]
    params = ctx.params_for(operation, executionId=run)
    exchange = ctx.get(operation, params or {})
    if exchange is not None and exchange.object is not None:
        owner = exchange.object.get("workflowId")
        if isinstance(owner, str):
            ctx.ids.runs[0] = (owner, run)
            if owner not in ctx.ids.workflows:
                ctx.ids.workflows.insert(0, owner)
