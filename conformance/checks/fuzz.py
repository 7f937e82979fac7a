"""Fuzzing with schemathesis: N generated requests per readable operation; failures become findings.

Opt-in (``--fuzz N``). Path ids are pinned to the discovered ones so the generated query
parameters meet real data (unknown ids are the ``unknown_id_404`` check's job); everything
else is generated from the OpenAPI document, positive data by default and negative data as
well with ``--fuzz-negative``. Schemathesis judges each response with its own checks (no
server error, documented status and content type, response schema; with negative data, that
invalid input is rejected). Only GET operations are fuzzed: writes would change the server.

Trust rules:

- generation is seeded (``--fuzz-seed``; a random seed otherwise, shown in every report), so a
  failing case can be generated again;
- negative data mutates only what the OpenAPI document describes (parameters, bodies): a case
  carrying a header the operation does not declare (e.g. a mutated ``Content-Length``, which a
  proxy rejects before the API sees it) is never sent;
- requests are charged to their own pool, ``--max-fuzz-requests``, so fuzzing cannot leave the
  other checks untested; an operation that timed out is not fuzzed, and a timeout while fuzzing
  stops that operation;
- an error inside Hypothesis or schemathesis is the kit's, not the server's: the operation is
  reported as not tested with the reason (an operation with nothing the document lets the
  generator make invalid gets a note instead);
- a finding's curl line carries every header and the body that was sent.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING, Any

from conformance import _specs
from conformance._operations import SPACE_SUFFIX, ApiProfile
from conformance.checks._registry import check
from conformance.errors import InvalidSpec
from conformance.findings import Finding, RecordedRequest

if TYPE_CHECKING:
    from conformance._context import Context
    from conformance._specs import Operation


FRAMING_HEADERS = frozenset(
    {
        "content-length",
        "transfer-encoding",
        "host",
        "connection",
        "te",
        "trailer",
        "upgrade",
        "expect",
        "keep-alive",
        "proxy-connection",
    }
)
"""Headers that frame the HTTP message: a server's HTTP layer, not its API, judges them."""


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
        with ctx.fuzz_budget():
            for result in schema.get_all_operations():
                if isinstance(result, Err):
                    raise InvalidSpec(f"schemathesis rejects an operation: {result.err()}")
                api_operation = result.ok()
                if api_operation.method.lower() != "get":
                    continue
                raw_id = str(api_operation.definition.raw.get("operationId", ""))
                operation = _specs.operation(ctx.profile.api, raw_id.removesuffix(SPACE_SUFFIX))
                if _unavailable(ctx, operation) is not None:
                    _not_fuzzed(ctx, operation)
                    continue
                for finding in _fuzz_operation(ctx, api_operation, operation, raw_id):
                    findings.setdefault((finding.operation or "", finding.title), finding)
    yield from findings.values()


def _unavailable(ctx: Context, operation: Operation) -> str | None:
    """Why ``operation`` cannot be fuzzed (any more); the main budget is not the fuzzer's."""
    if operation.operation_id in ctx.dead:
        return ctx.dead[operation.operation_id]
    if ctx.stalled is not None:
        return ctx.stalled
    if ctx.fuzz_exhausted:
        return (
            f"the fuzz request budget ({ctx.config.option('max-fuzz-requests')} "
            f"{ctx.config.max_fuzz_requests}) ran out"
        )
    return None


def _not_fuzzed(ctx: Context, operation: Operation) -> None:
    """Report why fuzzing stopped: not tested if nothing was sent, else a note."""
    reason = str(_unavailable(ctx, operation))
    if ctx.generated.get(operation.operation_id, 0) == 0:
        ctx.skip(operation.operation_id, reason)
    else:
        stopped = ctx.memo.setdefault("fuzz_stopped", {})
        stopped.setdefault(operation.operation_id, reason)


def _declared_headers(api_operation: Any) -> frozenset[str]:
    names = set()
    for parameter in api_operation.definition.raw.get("parameters") or []:
        if isinstance(parameter, Mapping) and parameter.get("in") == "header":
            names.add(str(parameter.get("name", "")).lower())
    return frozenset(names - FRAMING_HEADERS)


def _only_declared_headers(case: Any, declared: frozenset[str]) -> bool:
    """Whether every header ``case`` would send is one the operation declares."""
    return all(str(name).lower() in declared for name in (case.headers or {}))


def _fuzz_operation(
    ctx: Context, api_operation: Any, operation: Operation, raw_id: str
) -> Iterator[Finding]:
    from hypothesis import HealthCheck, Phase, given, seed, settings
    from hypothesis.errors import Unsatisfiable
    from schemathesis import GenerationMode

    pinned = ctx.params_for(operation) or {}
    if raw_id.endswith(SPACE_SUFFIX):
        pinned = {**pinned, "space_id": ctx.config.space or "default"}
    modes = [GenerationMode.POSITIVE]
    if ctx.config.fuzz_negative:
        modes.append(GenerationMode.NEGATIVE)
    declared = _declared_headers(api_operation)
    found: list[Finding] = []
    for mode in modes:
        if _unavailable(ctx, operation) is not None:
            _not_fuzzed(ctx, operation)
            break
        strategy = api_operation.as_strategy(
            generation_mode=mode, path_parameters=pinned or None
        ).filter(lambda case: _only_declared_headers(case, declared))

        @seed(ctx.config.fuzz_seed or 0)
        @settings(
            max_examples=ctx.config.fuzz,
            database=None,
            derandomize=False,
            deadline=None,
            phases=[Phase.generate],
            suppress_health_check=list(HealthCheck),
            report_multiple_bugs=False,
        )
        @given(case=strategy)
        def one(case: Any) -> None:
            sent = ctx.fuzz_sent
            found.extend(_call(ctx, case, operation))
            if ctx.fuzz_sent > sent:
                ctx.memo["fuzz_cases"] = ctx.memo.get("fuzz_cases", 0) + 1

        try:
            one()
        except Unsatisfiable:
            # Nothing the document describes can be made invalid here (e.g. no parameters).
            notes = ctx.memo.setdefault("fuzz_notes", [])
            notes.append(f"{operation.operation_id} ({mode.value})")
        except Exception as error:  # Hypothesis/schemathesis failed: the kit's, not the server's
            first_line = (str(error).splitlines() or [""])[0][:200]
            ctx.skip(
                operation.operation_id,
                f"fuzzing ({mode.value} data) failed inside schemathesis/Hypothesis, not on "
                f"the server: {type(error).__name__}: {first_line}",
            )
    return iter(found)


_FRAMING_LIMITS = frozenset({413, 414, 431})
"""Payload Too Large, URI Too Long, Request Header Fields Too Large: limits of the HTTP layer."""


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

    if _unavailable(ctx, operation) is not None or not ctx.charge(operation):
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
    if response.status_code in _FRAMING_LIMITS:
        # The HTTP layer (the server's, or a proxy's in front of it) refused the request's size
        # before the API saw it: a rejection of the generated input, not a verdict on the API.
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
    # Every header and the body as they were sent, so the curl line reproduces the request.
    sent = tuple(
        (str(name), ctx.client.mask_header(str(value))) for name, value in request.headers.items()
    )
    body = request.body
    if isinstance(body, bytes):
        body = body.decode("utf-8", "backslashreplace")
    message = str(failure.message or "").strip() or f"body {response.content[:200]!r}"
    message = ctx.client.mask(message)
    return Finding(
        check="fuzz",
        title=f"schemathesis: {failure.title}",
        operation=operation.operation_id,
        expected="a response that passes schemathesis' checks",
        found=f"{response.status_code}: {message[:400]}",
        detail=f"generated request {request.method} {url} "
        f"({ctx.config.option('fuzz-seed')} {ctx.config.fuzz_seed} generates it again)",
        request=RecordedRequest(
            method=str(request.method),
            url=url,
            headers=sent,
            body=None if body is None else ctx.client.mask(str(body)),
        ),
    )
