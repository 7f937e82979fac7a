"""HTTP checks: each judges one recorded response on its own.

They run over every exchange of the run (discovery, the baseline fetch of each operation, and
the probes the other checks sent), so a 404 sent by the not-found check is also held to the
documented status codes and the vendor's error envelope.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

from conformance import _operations
from conformance._client import ErrorKind
from conformance._context import NOT_JSON
from conformance.checks._registry import check
from conformance.findings import Finding, schema_findings, short

if TYPE_CHECKING:
    from conformance._context import Context, Exchange

_TRANSPORT_TITLES = {
    ErrorKind.TIMEOUT: "no complete response within the timeout",
    ErrorKind.TOO_LARGE: "response body larger than 10 MB",
    ErrorKind.TRUNCATED: "response body truncated",
    ErrorKind.REDIRECT_LOOP: "redirect loop",
    ErrorKind.CONNECTION: "connection failed",
    ErrorKind.PROTOCOL: "malformed HTTP response",
}


def _is_json_media(media: str) -> bool:
    return media == "application/json" or media.endswith("+json")


@check(
    "response_complete",
    description="The server answers within --timeout, with a complete body of at most 10 MB "
    "and without a redirect loop.",
    family="http",
    source=(
        "RFC 9110 (complete messages, redirects in section 15.4); stepspec's own limits: "
        "--timeout, 10 MB, 5 redirects"
    ),
    scope="response",
)
def response_complete(ctx: Context, exchange: Exchange) -> Iterator[Finding]:
    error = exchange.result.error
    if error is None:
        return
    yield Finding(
        check="response_complete",
        title=_TRANSPORT_TITLES[error.kind],
        operation=exchange.operation.operation_id,
        expected="a complete response within the bounds",
        found=error.message,
        detail="the kit stops calling an operation after it times out; its other cases are "
        "reported as not tested",
        request=exchange.result.request,
    )


@check(
    "status_code_documented",
    description="Every status code the server answers with is documented for the operation "
    "(or covered by a range or `default` response).",
    family="http",
    source=(
        "specs/<api>/openapi.yaml: the operation's documented responses (OpenAPI 3.1 "
        "Responses Object)"
    ),
    scope="response",
)
def status_code_documented(ctx: Context, exchange: Exchange) -> Iterator[Finding]:
    status = exchange.status
    if status is None or exchange.result.error is not None:
        return
    if _operations.is_documented(exchange.operation, status):
        return
    yield Finding(
        check="status_code_documented",
        title="undocumented status code",
        operation=exchange.operation.operation_id,
        expected="one of " + ", ".join(_operations.documented_statuses(exchange.operation)),
        found=str(status),
        request=exchange.result.request,
    )


@check(
    "content_type_json",
    description="A response with a body declares a JSON media type (`application/json`) "
    "where the operation documents JSON.",
    family="http",
    source="specs/<api>/openapi.yaml: the operation's documented media type",
    scope="response",
)
def content_type_json(ctx: Context, exchange: Exchange) -> Iterator[Finding]:
    response = exchange.result.response
    if response is None or exchange.result.error is not None or exchange.status is None:
        return
    documented = _operations.media_types(exchange.operation, exchange.status)
    if not documented or not any(_is_json_media(m) for m in documented):
        return
    if not response.body and exchange.status == 204:
        return
    if _is_json_media(response.content_type):
        return
    yield Finding(
        check="content_type_json",
        title="response is not declared as JSON",
        operation=exchange.operation.operation_id,
        path="$",
        expected="Content-Type: application/json",
        found=f"Content-Type: {response.headers.get('content-type', '(none)')}",
        request=exchange.result.request,
    )


@check(
    "body_parses",
    description="A body documented (or declared) as JSON parses as JSON.",
    family="http",
    source=(
        "RFC 8259 (JSON), for bodies documented as application/json in specs/<api>/openapi.yaml"
    ),
    scope="response",
)
def body_parses(ctx: Context, exchange: Exchange) -> Iterator[Finding]:
    response = exchange.result.response
    if response is None or exchange.result.error is not None or exchange.status is None:
        return
    documented = _operations.media_types(exchange.operation, exchange.status)
    claims_json = _is_json_media(response.content_type)
    if not claims_json and not any(_is_json_media(m) for m in documented):
        return
    if not response.body and not documented:
        return
    if exchange.json is not NOT_JSON:
        return
    yield Finding(
        check="body_parses",
        title="body is not valid JSON",
        operation=exchange.operation.operation_id,
        expected="a JSON document",
        found=f"{len(response.body)} bytes starting {short(response.body[:60])}",
        request=exchange.result.request,
    )


@check(
    "body_matches_schema",
    description="A 2xx JSON body matches the operation's response schema; rules marked "
    "inferred in the schema are warnings unless --strict.",
    family="http",
    source=(
        "the response schema in specs/<api>/ (each finding names the rule's own x-stepspec-source)"
    ),
    scope="response",
    statuses="2xx",
)
def body_matches_schema(ctx: Context, exchange: Exchange) -> Iterator[Finding]:
    if exchange.json is NOT_JSON or exchange.status is None:
        return
    schema_id = _operations.response_schema(exchange.operation, exchange.status)
    if schema_id is None:
        return
    yield from schema_findings(
        exchange.json,
        schema_id,
        check="body_matches_schema",
        operation=exchange.operation.operation_id,
        request=exchange.result.request,
    )


@check(
    "error_envelope",
    description="A 4xx body matches the vendor's error envelope (Kibana Boom "
    "`{statusCode, error, message}`, Arcee `{detail}` (inferred), Trigify `{success: false, "
    "error: {...}}` or its documented legacy 401/429 bodies).",
    family="http",
    source=(
        "Kibana: hapi Boom payload (https://hapi.dev/module/boom/api/); Arcee: FastAPI "
        "{detail} (https://fastapi.tiangolo.com/tutorial/handling-errors/); Trigify: "
        "https://docs.trigify.io/api-reference/errors"
    ),
    scope="response",
    statuses="4xx",
)
def error_envelope(ctx: Context, exchange: Exchange) -> Iterator[Finding]:
    if exchange.status is None:
        return
    if exchange.json is NOT_JSON:
        if exchange.body:
            return  # body_parses reports it
        yield Finding(
            check="error_envelope",
            title="error response without a body",
            operation=exchange.operation.operation_id,
            expected="the vendor's error envelope",
            found="an empty body",
            request=exchange.result.request,
        )
        return
    schema_id = ctx.profile.error_schema
    if ctx.profile.api != "trigify":
        # Trigify's documented legacy 401/429 bodies are accepted everywhere (error-any).
        schema_id = _operations.response_schema(exchange.operation, exchange.status) or schema_id
    yield from schema_findings(
        exchange.json,
        schema_id,
        check="error_envelope",
        operation=exchange.operation.operation_id,
        request=exchange.result.request,
    )
    if ctx.profile.api == "kibana" and isinstance(exchange.json, dict):
        code = exchange.json.get("statusCode")
        if isinstance(code, int) and code != exchange.status:
            yield Finding(
                check="error_envelope",
                title="statusCode in the body differs from the HTTP status",
                operation=exchange.operation.operation_id,
                path="$.statusCode",
                expected=str(exchange.status),
                found=short(code),
                request=exchange.result.request,
            )
