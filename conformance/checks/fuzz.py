"""Fuzzing with schemathesis: N generated requests per readable operation; failures become findings.

Opt-in (``--fuzz N``). Path ids are pinned to the discovered ones so the generated query
parameters meet real data (unknown ids are the ``unknown_id_404`` check's job); everything
else is generated from the OpenAPI document, positive data by default and negative data as
well with ``--fuzz-negative``. Schemathesis judges each response with its own checks (no
server error, documented status and content type, response schema; with negative data, that
invalid input is rejected). Only GET operations are fuzzed: writes would change the server.

Requests count against ``--max-requests``; an operation that timed out is not fuzzed, and a
timeout while fuzzing stops that operation.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from conformance import _specs
from conformance._operations import SPACE_SUFFIX, ApiProfile
from conformance.checks._registry import check
from conformance.errors import InvalidSpec
from conformance.findings import Finding, RecordedRequest

if TYPE_CHECKING:
    from conformance._specs import Operation
    from conformance.checks._context import Context


def _fuzzable(profile: ApiProfile, operation: Operation) -> bool:
    return operation.method == "get"


@check(
    "fuzz",
    description="schemathesis generates --fuzz N requests per readable operation (positive "
    "data; negative too with --fuzz-negative) and checks each response: no 5xx, documented "
    "status and content type, response schema, invalid input rejected.",
    family="fuzz",
    source=(
        "schemathesis' checks (https://schemathesis.readthedocs.io) against specs/<api>/"
        "openapi.yaml"
    ),
    applies=_fuzzable,
    opt_in=True,
)
def fuzz(ctx: Context) -> Iterator[Finding]:
    if ctx.config.fuzz <= 0:
        for operation in _specs.operations(ctx.profile.api):
            ctx.skip(operation.operation_id.removesuffix(SPACE_SUFFIX), "--fuzz was not given")
        return
    import schemathesis
    from schemathesis.core.result import Err

    findings: dict[tuple[str, str], Finding] = {}
    with _specs.openapi_path(ctx.profile.api) as path:
        config = schemathesis.Config()
        # The kit sends the credential itself; and only Kibana documents rejecting unknown
        # query keys, so extra parameters are generated for Kibana alone.
        config.projects.default.generation.update(
            with_security_parameters=False,
            allow_extra_parameters=ctx.profile.api == "kibana",
        )
        try:
            schema = schemathesis.openapi.from_path(path, config=config)
        except Exception as error:  # schemathesis raises several unrelated types here
            raise InvalidSpec(
                f"schemathesis cannot load the {ctx.profile.api} spec: {error}"
            ) from error
        for result in schema.get_all_operations():
            if isinstance(result, Err):
                raise InvalidSpec(f"schemathesis rejects an operation: {result.err()}")
            api_operation = result.ok()
            if api_operation.method.lower() != "get":
                continue
            raw_id = str(api_operation.definition.raw.get("operationId", ""))
            operation = _specs.operation(ctx.profile.api, raw_id.removesuffix(SPACE_SUFFIX))
            if ctx.unavailable(operation.operation_id):
                continue
            for finding in _fuzz_operation(ctx, api_operation, operation, raw_id):
                findings.setdefault((finding.operation or "", finding.title), finding)
    yield from findings.values()


def _fuzz_operation(
    ctx: Context, api_operation: Any, operation: Operation, raw_id: str
) -> Iterator[Finding]:
    from hypothesis import HealthCheck, Phase, given, settings
    from schemathesis import GenerationMode

    pinned = ctx.params_for(operation) or {}
    if raw_id.endswith(SPACE_SUFFIX):
        pinned = {**pinned, "space_id": ctx.config.space or "default"}
    modes = [GenerationMode.POSITIVE]
    if ctx.config.fuzz_negative:
        modes.append(GenerationMode.NEGATIVE)
    found: list[Finding] = []
    for mode in modes:
        strategy = api_operation.as_strategy(generation_mode=mode, path_parameters=pinned or None)

        @settings(
            max_examples=ctx.config.fuzz,
            database=None,
            derandomize=True,
            deadline=None,
            phases=[Phase.generate],
            suppress_health_check=list(HealthCheck),
            report_multiple_bugs=False,
        )
        @given(case=strategy)
        def one(case: Any) -> None:
            found.extend(_call(ctx, case, operation))

        one()
    return iter(found)


def _call(ctx: Context, case: Any, operation: Operation) -> list[Finding]:
    import requests
    from schemathesis.checks import not_a_server_error
    from schemathesis.core.failures import Failure, FailureGroup
    from schemathesis.specs.openapi.checks import (
        content_type_conformance,
        negative_data_rejection,
        response_schema_conformance,
        status_code_conformance,
    )

    if ctx.unavailable(operation.operation_id) or not ctx.charge(operation):
        return []
    headers = {**ctx.config.headers, **ctx.config.credential_headers}
    try:
        response = case.call(
            base_url=ctx.config.base_url, headers=headers, timeout=ctx.config.timeout
        )
    except requests.Timeout as error:
        ctx.transport_failed(operation, timeout=True, message=type(error).__name__)
        return []
    except requests.RequestException as error:
        ctx.transport_failed(operation, timeout=False, message=type(error).__name__)
        return []
    checks = [
        not_a_server_error,
        status_code_conformance,
        content_type_conformance,
        response_schema_conformance,
    ]
    if ctx.config.fuzz_negative:
        checks.append(negative_data_rejection)
    try:
        case.validate_response(response, checks=checks, headers=headers)
    except FailureGroup as group:
        return [_finding(ctx, operation, case, failure, response) for failure in group.exceptions]
    except Failure as failure:
        return [_finding(ctx, operation, case, failure, response)]
    return []


def _finding(ctx: Context, operation: Operation, case: Any, failure: Any, response: Any) -> Finding:
    request = response.request
    url = ctx.client.mask(str(request.url))
    sent = tuple(
        (name, ctx.client.mask_header(str(value)))
        for name, value in request.headers.items()
        if name.lower() not in ("user-agent", "accept-encoding", "connection", "content-length")
    )
    message = str(failure.message or "").strip() or f"body {response.content[:200]!r}"
    message = ctx.client.mask(message)
    return Finding(
        check="fuzz",
        title=f"schemathesis: {failure.title}",
        operation=operation.operation_id,
        expected="a response that passes schemathesis' checks",
        found=f"{response.status_code}: {message[:400]}",
        detail=f"generated request {request.method} {url}",
        request=RecordedRequest(method=str(request.method), url=url, headers=sent),
    )
