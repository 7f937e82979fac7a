"""``_specs.operations``: local ``#/components/...`` refs resolved, schema-file refs kept.

Every operation of every shipped OpenAPI document is checked against the document read by hand
(a plain JSON-pointer walk), so the resolution is tested on real data, not on one example.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

import pytest

from conformance import _operations, _specs
from conformance._specs import Operation
from conformance.errors import InvalidSpec

OPERATIONS = [
    pytest.param(operation, id=f"{api}-{operation.operation_id}")
    for api in _specs.APIS
    for operation in _specs.operations(api)
]


def refs(node: Any) -> Iterator[str]:
    """Every ``$ref`` string inside ``node``."""
    if isinstance(node, Mapping):
        if isinstance(node.get("$ref"), str):
            yield node["$ref"]
        for value in node.values():
            yield from refs(value)
    elif isinstance(node, list):
        for item in node:
            yield from refs(item)


def by_hand(api: str, node: Any) -> Any:
    """``node`` with its own local ref chain followed (the reference reading of the document)."""
    while isinstance(node, Mapping) and str(node.get("$ref", "")).startswith("#/"):
        target: Any = _specs.openapi(api)
        for part in str(node["$ref"])[2:].split("/"):
            target = target[part]
        node = target
    return node


def raw_operation(operation: Operation) -> Mapping[str, Any]:
    item = _specs.openapi(operation.api)["paths"][operation.path]
    found: Mapping[str, Any] = item[operation.method]
    return found


def file_schema_id(api: str, media_holder: Mapping[str, Any]) -> str | None:
    schema = ((media_holder.get("content") or {}).get("application/json") or {}).get("schema")
    ref = (schema or {}).get("$ref")
    if isinstance(ref, str) and ref.endswith(".json"):
        return _specs.schema_id(api, ref.removesuffix(".json"))
    return None


@pytest.mark.parametrize("operation", OPERATIONS)
def test_no_local_ref_is_left_and_file_refs_are_kept(operation: Operation) -> None:
    resolved = [operation.parameters, operation.request_body, operation.response_objects]
    left = [ref for ref in refs(resolved) if ref.startswith("#/")]
    assert not left, f"{operation.label}: unresolved {left}"
    assert all(ref.endswith(".json") and "/" not in ref for ref in refs(resolved))


@pytest.mark.parametrize("operation", OPERATIONS)
def test_every_response_has_the_schema_of_its_component(operation: Operation) -> None:
    raw = raw_operation(operation)["responses"]
    assert list(operation.responses) == [str(code) for code in raw]
    for code, node in raw.items():
        expected = by_hand(operation.api, node)
        assert operation.response_objects[str(code)]["description"] == expected["description"]
        assert operation.responses[str(code)] == file_schema_id(operation.api, expected)


@pytest.mark.parametrize("operation", OPERATIONS)
def test_parameters_and_request_bodies_are_the_objects_their_refs_name(
    operation: Operation,
) -> None:
    item = _specs.openapi(operation.api)["paths"][operation.path]
    raw = [*item.get("parameters", ()), *raw_operation(operation).get("parameters", ())]
    expected = [by_hand(operation.api, parameter) for parameter in raw]
    assert [(p["name"], p["in"]) for p in operation.parameters] == [
        (p["name"], p["in"]) for p in expected
    ]
    assert [p.get("schema") for p in operation.parameters] == [p.get("schema") for p in expected]
    body = raw_operation(operation).get("requestBody")
    if body is None:
        assert operation.request_body is None
        assert operation.request_schema_id is None
    else:
        assert operation.request_body is not None
        assert operation.request_schema_id == file_schema_id(
            operation.api, by_hand(operation.api, body)
        )


def test_component_responses_now_name_their_schemas() -> None:
    """The shared error responses are refs in Arcee's and Trigify's documents."""
    get_workflow = _specs.operation("trigify", "getWorkflow")
    assert get_workflow.responses["404"] == "urn:stepspec:trigify:error"
    assert get_workflow.responses["429"] == "urn:stepspec:trigify:error-any"
    assert "RateLimit-Reset" in get_workflow.response_objects["429"]["headers"]
    assert get_workflow.response_objects["429"]["headers"]["RateLimit-Reset"]["schema"] == {
        "type": "integer",
        "minimum": 0,
    }
    assert _specs.operation("arcee", "getRun").responses["404"] == "urn:stepspec:arcee:error"
    (workflow_id,) = _specs.operation("trigify", "getWorkflow").parameters
    assert (workflow_id["name"], workflow_id["in"], workflow_id["required"]) == ("id", "path", True)


def test_response_key_falls_back_to_the_range_then_default() -> None:
    operation = _specs.operation("trigify", "listWorkflows")
    assert operation.response_key(404) == "404"
    assert operation.response_key(418) is None
    ranged = Operation("x", "op", "get", "/", (), None, {}, None, {"4XX": {}, "default": {}})
    assert (ranged.response_key(418), ranged.response_key(503)) == ("4XX", "default")


@pytest.mark.parametrize("operation", OPERATIONS)
def test_the_kit_reads_responses_through_the_resolved_operation(operation: Operation) -> None:
    """``_operations`` answers exactly what the document says, for every documented status."""
    raw = raw_operation(operation)["responses"]
    assert _operations.documented_statuses(operation) == [str(code) for code in raw]
    assert _operations.parameters(operation) == list(operation.parameters)
    for code, node in raw.items():
        status = int(code)
        response = by_hand(operation.api, node)
        assert _operations.is_documented(operation, status)
        assert _operations.media_types(operation, status) == list(response.get("content") or {})
        assert _operations.response_schema(operation, status) == file_schema_id(
            operation.api, response
        )
    assert not _operations.is_documented(operation, 418)
    assert _operations.media_types(operation, 418) == []
    assert _operations.response_schema(operation, 418) is None


def test_siblings_of_a_ref_override_the_target() -> None:
    node = {"$ref": "#/components/responses/NotFound", "description": "Ours"}
    resolved = _specs.resolve_local("trigify", node)
    assert resolved["description"] == "Ours"
    assert resolved["content"]["application/json"]["schema"] == {"$ref": "error.json"}


def test_a_ref_that_names_nothing_lists_what_exists() -> None:
    with pytest.raises(InvalidSpec, match=r"has no 'Nope'.*NotFound"):
        _specs.resolve_local("trigify", {"$ref": "#/components/responses/Nope"})


def test_a_ref_cycle_is_an_invalid_spec(monkeypatch: pytest.MonkeyPatch) -> None:
    document = {
        "components": {
            "responses": {
                "A": {"$ref": "#/components/responses/B"},
                "B": {"$ref": "#/components/responses/A"},
            }
        }
    }
    monkeypatch.setattr(_specs, "openapi", lambda api: document)
    with pytest.raises(InvalidSpec, match="cycle"):
        _specs.resolve_local("trigify", {"$ref": "#/components/responses/A"})


def test_operation_parameters_override_path_item_parameters(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    shared = {"name": "id", "in": "path", "description": "shared"}
    own = {"name": "id", "in": "path", "description": "own"}
    query = {"name": "page", "in": "query"}
    document = {"paths": {"/x/{id}": {"parameters": [shared, query], "get": {"parameters": [own]}}}}
    monkeypatch.setattr(_specs, "openapi", lambda api: document)
    (operation,) = _specs.operations.__wrapped__("trigify")
    assert operation.parameters == (query, own)
