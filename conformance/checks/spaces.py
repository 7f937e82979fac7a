"""Kibana spaces: ``/s/default/...`` is the unprefixed API, and other spaces see nothing of it.

Kibana strips ``/s/{space_id}`` before routing and filters workflow data by space, so an
execution or step asked for under another space is a 404 (documented for the step and execution
lookups) and lists under another space hold none of its items (inferred: a warning unless
``--strict``). A key whose role grants the workflow privileges only in its own spaces is refused
earlier, by route authorization in the URL's space: a 403 there is as good as a 404
(``x-pack/platform/plugins/shared/security/server/authorization/api_authorization.ts``).
Every execution or step that does come back carries the ``spaceId`` it was asked for.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from conformance._context import NOT_JSON
from conformance._operations import ApiProfile, logical_operations, space_variant
from conformance.checks._registry import check
from conformance.checks.consistency import walk
from conformance.findings import Finding, Severity, short

if TYPE_CHECKING:
    from conformance._context import Context, Exchange
    from conformance._specs import Operation

OTHER_SPACE = "stepspec-isolation-probe"
HIDDEN = frozenset({403, 404})
"""Answers that show nothing of another space: not found there, or no privileges there."""
BY_ID = frozenset({"getStepExecution", "getExecution", "getExecutionSteps"})
# Where the items of a list, and the spaceId of each entity, sit.
LIST_ITEMS: dict[str, tuple[str, ...]] = {
    "getWorkflowExecutions": ("results", "*", "id"),
    "getWorkflowStepExecutions": ("results", "*", "id"),
    "listWorkflows": ("results", "*", "id"),
    "getExecutionSteps": ("results", "*", "id"),
}
SPACE_IDS: dict[str, list[tuple[str, ...]]] = {
    "getStepExecution": [("spaceId",)],
    "getExecution": [("spaceId",), ("stepExecutions", "*", "spaceId")],
    "getExecutionSteps": [("results", "*", "spaceId")],
    "getWorkflowExecutions": [("results", "*", "spaceId")],
    "getWorkflowStepExecutions": [("results", "*", "spaceId")],
}


def _spaced(profile: ApiProfile, operation: Operation) -> bool:
    return profile.has_spaces and operation.method == "get" and space_variant(operation) is not None


def _readable(ctx: Context) -> Iterator[tuple[Operation, dict[str, str]]]:
    for operation in logical_operations(ctx.profile.api):
        if _spaced(ctx.profile, operation):
            params = ctx.params_for(operation)
            if params is None:
                ctx.skip(operation.operation_id, "discovery found no ids for its path parameters")
                continue
            yield operation, params


def _same(left: Exchange, right: Exchange) -> bool:
    return left.status == right.status and (
        left.json is not NOT_JSON and right.json is not NOT_JSON and left.json == right.json
    )


@check(
    "space_default_alias",
    description="Kibana: every read under `/s/default/...` answers exactly as the unprefixed "
    "path does.",
    family="spaces",
    source=(
        "Kibana spaces: elastic/kibana:x-pack/platform/plugins/shared/spaces/server/lib/"
        "request_interceptors/on_request_interceptor.ts@main (/s/{space_id} is stripped "
        "before routing; no prefix is the default space)"
    ),
    applies=_spaced,
)
def space_default_alias(ctx: Context) -> Iterator[Finding]:
    for operation, params in _readable(ctx):
        plain = ctx.get(operation, params, space=None)
        aliased = ctx.get(operation, params, space="default")
        if plain is None or aliased is None or plain.status is None or aliased.status is None:
            continue
        if not _same(plain, aliased):
            # Re-read once: a live run may have moved between the two requests.
            plain = ctx.get(operation, params, space=None, fresh=True) or plain
            aliased = ctx.get(operation, params, space="default", fresh=True) or aliased
        if not _same(plain, aliased):
            yield Finding(
                check="space_default_alias",
                title="/s/default answers differently from the unprefixed path",
                operation=operation.operation_id,
                expected=f"{plain.status} with the same body as {plain.result.request.url}",
                found=f"{aliased.status}: {short(_body(aliased))}",
                request=aliased.result.request,
            )


def _body(exchange: Exchange) -> Any:
    return exchange.json if exchange.json is not NOT_JSON else exchange.body[:80]


@check(
    "space_isolation",
    description="Kibana: an execution or step asked for under another space is a 404 (or a 403 "
    "for a key without privileges there); lists under another space hold none of its items "
    "(inferred); every execution or step carries the spaceId it was asked under.",
    family="spaces",
    source=(
        "Kibana: executions and steps are looked up by id and spaceId (elastic/"
        "kibana:src/platform/plugins/shared/workflows_management/server/services/"
        "workflow_execution_query_service.ts@main); a missing one is response.notFound(); a "
        "key without privileges in that space gets the 403 of elastic/kibana:x-pack/platform/"
        "plugins/shared/security/server/authorization/api_authorization.ts@main"
    ),
    applies=_spaced,
)
def space_isolation(ctx: Context) -> Iterator[Finding]:
    home = ctx.config.space or "default"
    other = OTHER_SPACE if home != OTHER_SPACE else OTHER_SPACE + "-2"
    for operation, params in _readable(ctx):
        mine = ctx.get(operation, params)
        theirs = ctx.get(operation, params, space=other)
        if theirs is None or theirs.status is None:
            continue
        if operation.operation_id in BY_ID:
            if theirs.status not in HIDDEN:
                yield _finding(
                    operation,
                    theirs,
                    "visible from another space",
                    "404 Not Found (or 403 Forbidden for a key without privileges there)",
                    str(theirs.status),
                    inferred=False,
                )
            continue
        if theirs.status in HIDDEN or not theirs.ok or mine is None or not mine.ok:
            continue
        path = LIST_ITEMS.get(operation.operation_id)
        if path is None:
            continue
        leaked = {v for _, v in walk(theirs.json, path)} & {v for _, v in walk(mine.json, path)}
        if leaked:
            yield _finding(
                operation,
                theirs,
                "list shows another space's items",
                "none of the items of the home space",
                f"{short(sorted(map(str, leaked)))}",
                inferred=True,
            )
    yield from _space_ids(ctx)


def _space_ids(ctx: Context) -> Iterator[Finding]:
    for exchange in list(ctx.exchanges):
        base = exchange.operation.operation_id.removesuffix("InSpace")
        if not exchange.ok or base not in SPACE_IDS:
            continue
        asked = exchange.space or "default"
        for path in SPACE_IDS[base]:
            for where, value in walk(exchange.json, path):
                if value != asked:
                    yield ctx.finding(
                        exchange,
                        "entity of another space in the response",
                        where,
                        f"spaceId {asked!r} (the space asked for)",
                        short(value),
                    )
                    break


def _finding(
    operation: Operation,
    exchange: Exchange,
    title: str,
    expected: str,
    found: Any,
    *,
    inferred: bool,
) -> Finding:
    return Finding(
        check="space_isolation",
        title=title,
        operation=operation.operation_id,
        expected=expected,
        found=found,
        severity=Severity.WARNING if inferred else Severity.ERROR,
        inferred=inferred,
        detail=f"asked under /s/{OTHER_SPACE}",
        request=exchange.result.request,
    )
