"""Auth checks: a request without a credential, or with a made-up one, gets 401 and no data.

A made-up credential is only refused by a server that restricts keys. Development servers
(the stepspec mock by default) accept any well-formed key, and the kit cannot tell such a
server from a broken production one. So ``auth_rejects_invalid`` never passes silently: when a
made-up key is accepted it is an error under ``--expect-key-enforcement`` and otherwise a case
reported as *not tested*, with the flag to use, so the gap stays visible in every report.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

from conformance._context import WRONG_KEY
from conformance.checks._registry import check
from conformance.findings import Finding, Severity

if TYPE_CHECKING:
    from conformance._context import Context, Credential, Exchange
    from conformance._specs import Operation


NOT_AUTHENTICATED = {"detail": "Not authenticated"}
"""FastAPI's ``HTTPBearer`` body for a request without ``Authorization`` (403 before FastAPI
PR #13786; Arcee's sibling services are FastAPI apps, see specs/arcee/openapi.yaml)."""
ARCEE_403_SOURCE = "https://github.com/fastapi/fastapi/issues/10177"


def _probe(ctx: Context, operation: Operation, credential: Credential) -> Exchange | None:
    params = ctx.params_for(operation)
    if params is None:
        ctx.skip(operation.operation_id, "discovery found no ids for its path parameters")
        return None
    exchange = ctx.get(operation, params, credential=credential)
    if exchange is None:
        ctx.skip(operation.operation_id, ctx.unavailable(operation.operation_id) or "not sent")
        return None
    if exchange.status is None or exchange.result.error is not None:
        ctx.skip(operation.operation_id, "no complete response arrived (see response_complete)")
        return None
    return exchange


@check(
    "auth_required",
    description="A request without any credential is refused with 401 and carries no data.",
    family="auth",
    source=(
        "RFC 9110 section 15.5.2 (401 Unauthorized); each API's securitySchemes and "
        "documented 401 in specs/<api>/openapi.yaml; https://docs.trigify.io/"
        "api-reference/errors; https://docs.arcee.ai/arcee-orchestra/workflows/"
        "api-invocation"
    ),
    scope="operation",
)
def auth_required(ctx: Context, operation: Operation) -> Iterator[Finding]:
    exchange = _probe(ctx, operation, "none")
    if exchange is None or exchange.status == 401:
        return
    if ctx.profile.api == "arcee" and exchange.status == 403 and exchange.json == NOT_AUTHENTICATED:
        yield Finding(
            check="auth_required",
            title="403 instead of the documented 401 without a credential",
            operation=operation.operation_id,
            expected="401 Unauthorized (Arcee's API index: invalid or missing authentication)",
            found='403 {"detail": "Not authenticated"}',
            severity=Severity.WARNING,
            inferred=True,
            detail="FastAPI's HTTPBearer answered a request without Authorization this way until "
            "FastAPI PR #13786 (fastapi/fastapi#10177): the credential is refused all the same",
            request=exchange.result.request,
            source=ARCEE_403_SOURCE,
        )
        return
    served = exchange.status is not None and 200 <= exchange.status < 300
    yield Finding(
        check="auth_required",
        title="served data without a credential" if served else "no 401 without a credential",
        operation=operation.operation_id,
        expected="401 Unauthorized",
        found=str(exchange.status),
        detail="sent without any credential header ("
        + ", ".join(ctx.profile.credential_header_names)
        + ")",
        request=exchange.result.request,
    )


@check(
    "auth_rejects_invalid",
    description="A made-up credential in the vendor's scheme is refused with 401 and carries "
    "no data. A server that accepts any well-formed key (a development mock) is reported as "
    "not tested unless --expect-key-enforcement says it should restrict keys.",
    family="auth",
    source=(
        "RFC 9110 section 15.5.2 (401 Unauthorized); each API's securitySchemes and "
        "documented 401 in specs/<api>/openapi.yaml; https://docs.trigify.io/"
        "api-reference/errors; https://docs.arcee.ai/arcee-orchestra/workflows/"
        "api-invocation"
    ),
    scope="operation",
)
def auth_rejects_invalid(ctx: Context, operation: Operation) -> Iterator[Finding]:
    exchange = _probe(ctx, operation, "wrong")
    if exchange is None or exchange.status == 401:
        return
    served = exchange.status is not None and 200 <= exchange.status < 300
    if served and not ctx.config.expect_key_enforcement:
        ctx.skip(
            operation.operation_id,
            f"the server accepted the made-up credential {WRONG_KEY!r}, so it does not restrict "
            "keys; if it should (every production server does), rerun with "
            "--expect-key-enforcement",
        )
        return
    yield Finding(
        check="auth_rejects_invalid",
        title="served data for a made-up credential"
        if served
        else "no 401 for a made-up credential",
        operation=operation.operation_id,
        expected="401 Unauthorized",
        found=str(exchange.status),
        detail=f"sent {ctx.profile.auth_header}: "
        f"{ctx.profile.credential(WRONG_KEY)[ctx.profile.auth_header]}",
        request=exchange.result.request,
    )
