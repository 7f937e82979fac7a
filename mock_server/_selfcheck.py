"""``--validate-responses``: every JSON answer checked against its operation's schema.

The validators are the conformance kit's own (``conformance._validation.validator``: compiled
once, a Rust fast path for the common "valid" case). A response that breaks its schema is a bug
in the mock, so the client gets a 500 in the vendor's envelope that lists the violations, instead
of a payload that silently lies.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cache
from typing import Any

import orjson
from flask import Response

from mock_server._openapi import OperationSpec
from mock_server._vendor import Vendor

Checker = Callable[[Any], list[str]]
VALIDATED_HEADER = "X-Stepspec-Validated"
_MAX_LISTED = 10


@cache
def checker(schema_id: str) -> Checker:
    """A function returning the violations of an instance as readable lines (built once)."""
    from conformance._validation import validator  # conformance is the authority on schemas

    compiled = validator(schema_id)

    def violations(instance: Any) -> list[str]:
        return [str(v) for v in compiled.violations(instance)]

    return violations


def check_response(response: Response, operation: OperationSpec, vendor: Vendor) -> Response:
    """``response`` unchanged if it conforms (or has no schema), else a 500 naming violations."""
    if response.mimetype != "application/json" or response.direct_passthrough:
        return response
    spec = operation.response(response.status_code)
    if spec is None or spec.schema_id is None:
        return response
    body = response.get_data()
    try:
        instance = orjson.loads(body)
    except orjson.JSONDecodeError:
        problems = ["body is not valid JSON"]
    else:
        problems = checker(spec.schema_id)(instance)
    if not problems:
        response.headers[VALIDATED_HEADER] = spec.schema_id
        return response
    listed = "; ".join(problems[:_MAX_LISTED])
    more = f" (and {len(problems) - _MAX_LISTED} more)" if len(problems) > _MAX_LISTED else ""
    failure = vendor.error_response(
        500,
        f"Internal server error: the mock's {response.status_code} answer of "
        f"{operation.operation_id} breaks {spec.schema_id}: {listed}{more}",
        code="RESPONSE_VALIDATION_FAILED",
    )
    failure.headers[VALIDATED_HEADER] = "failed"
    return failure
