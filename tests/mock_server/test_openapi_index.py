"""The mock indexes the operations of the kit's one OpenAPI reader (``conformance._specs``)."""

from __future__ import annotations

import pytest

from conformance import _specs
from mock_server._openapi import api_index


@pytest.mark.parametrize("api", _specs.APIS)
def test_the_index_holds_the_kits_operations(api: str) -> None:
    read = {(op.operation_id, op.method, op.path): op for op in _specs.operations(api)}
    indexed = {(op.operation_id, op.method, op.path): op for op in api_index(api).operations}
    assert indexed.keys() == read.keys()
    for key, operation in indexed.items():
        assert set(operation.responses) == set(read[key].response_objects)
        assert {code: r.schema_id for code, r in operation.responses.items()} == dict(
            read[key].responses
        )
        assert [(p["name"], p["in"]) for p in operation.parameters] == [
            (p["name"], p["in"]) for p in read[key].parameters
        ]


def test_a_parameter_schema_file_is_inlined_for_the_parameter_checks() -> None:
    """``statuses`` names ``execution-status.json``; the checks need its enum, not the ref."""
    operation = next(
        op for op in api_index("kibana").operations if op.operation_id == "getWorkflowExecutions"
    )
    statuses = next(p for p in operation.parameters if p["name"] == "statuses")
    scalar, array = statuses["schema"]["anyOf"]
    expected = _specs.schema(_specs.schema_id("kibana", "execution-status"))["enum"]
    assert scalar["enum"] == array["items"]["enum"] == expected
    assert "$ref" not in str(statuses)
