"""The shipped specs: metaschema-valid, self-describing, offline-resolvable, loadable by tools."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import jsonschema
import pytest
from openapi_spec_validator import validate as validate_openapi

from conformance import _bundle, _specs
from conformance._validation import INFERRED, inline, lenient

SCHEMA_IDS = _specs.schema_ids()


def _walk(node: Any, path: str = "$") -> Iterator[tuple[str, Any]]:
    yield path, node
    if isinstance(node, dict):
        for key, value in node.items():
            yield from _walk(value, f"{path}.{key}")
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from _walk(value, f"{path}[{index}]")


def test_every_api_ships_schemas() -> None:
    apis = {_specs.split_schema_id(sid)[0] for sid in SCHEMA_IDS}
    assert apis == set(_specs.APIS)


@pytest.mark.parametrize("schema_id", SCHEMA_IDS)
def test_schema_passes_its_metaschema(schema_id: str) -> None:
    document = _specs.schema(schema_id)
    assert document["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    jsonschema.Draft202012Validator.check_schema(document)
    jsonschema.Draft202012Validator.check_schema(lenient(document))


@pytest.mark.parametrize("schema_id", SCHEMA_IDS)
def test_every_property_has_a_description(schema_id: str) -> None:
    document = _specs.schema(schema_id)
    assert document.get("description"), f"{schema_id} has no description"
    missing = [
        f"{path}.{name}"
        for path, node in _walk(document)
        if isinstance(node, dict)
        and isinstance(node.get("properties"), dict)
        and not path.endswith(".properties")
        for name, prop in node["properties"].items()
        if isinstance(prop, dict) and not prop.get("description")
    ]
    assert not missing, f"{schema_id}: properties without description: {missing}"


@pytest.mark.parametrize("schema_id", SCHEMA_IDS)
def test_free_form_objects_say_so(schema_id: str) -> None:
    """openapi-typescript turns an object with neither properties nor additionalProperties into
    ``Record<string, never>``, which no payload can be assigned to."""
    silent = [
        path
        for path, node in _walk(_specs.schema(schema_id))
        if isinstance(node, dict)
        and path.split(".")[-1] not in {"examples", "const", "default", "enum"}
        and "object" in (node["type"] if isinstance(node.get("type"), list) else [node.get("type")])
        and not {"properties", "additionalProperties", "patternProperties", "$ref"} & node.keys()
    ]
    assert not silent, f"{schema_id}: give these objects additionalProperties: {silent}"


@pytest.mark.parametrize("schema_id", SCHEMA_IDS)
def test_inferred_rules_say_why(schema_id: str) -> None:
    marked = [
        (path, node)
        for path, node in _walk(_specs.schema(schema_id))
        if isinstance(node, dict) and INFERRED in node
    ]
    for path, node in marked:
        assert node[INFERRED] is True, f"{schema_id} {path}: {INFERRED} must be true"
        assert node.get("description"), f"{schema_id} {path}: an inferred rule must say why"


@pytest.mark.parametrize("schema_id", SCHEMA_IDS)
def test_every_ref_resolves_offline(schema_id: str) -> None:
    api, _ = _specs.split_schema_id(schema_id)
    # inline() follows every file reference through the registry's data and fails on a
    # missing or circular one; a resolver lookup proves the registry itself resolves them.
    inline(dict(_specs.schema(schema_id)), api)
    resolver = _specs.api_registry(api).resolver(base_uri=schema_id)
    for _, node in _walk(_specs.schema(schema_id)):
        if isinstance(node, dict) and isinstance(node.get("$ref"), str):
            assert resolver.lookup(node["$ref"]).contents


@pytest.mark.parametrize("api", _specs.APIS)
def test_openapi_document_validates(api: str) -> None:
    with _specs.openapi_path(api) as path:
        validate_openapi(dict(_specs.openapi(api)), base_uri=path.as_uri())


@pytest.mark.parametrize("api", _specs.APIS)
def test_openapi_refs_point_at_shipped_schemas(api: str) -> None:
    known = {
        _specs.split_schema_id(sid)[1]
        for sid in SCHEMA_IDS
        if sid.startswith(f"urn:stepspec:{api}:")
    }
    refs = [
        node["$ref"]
        for _, node in _walk(dict(_specs.openapi(api)))
        if isinstance(node, dict) and isinstance(node.get("$ref"), str)
    ]
    files = {ref.removesuffix(".json") for ref in refs if ref.endswith(".json")}
    assert files, f"{api}: openapi.yaml references no schema files"
    assert files <= known, f"{api}: unknown schema files {sorted(files - known)}"


@pytest.mark.parametrize("api", _specs.APIS)
def test_every_operation_has_an_id_and_a_documented_body(api: str) -> None:
    operations = _specs.operations(api)
    assert operations
    ids = [op.operation_id for op in operations]
    assert len(ids) == len(set(ids)), f"{api}: duplicate operationIds"
    for op in operations:
        assert op.operation_id[0].islower(), op.label
        assert any(code.startswith("4") for code in op.responses), f"{op.label}: no 4xx documented"


@pytest.mark.parametrize("api", _specs.APIS)
def test_openapi_loads_in_schemathesis(api: str) -> None:
    import schemathesis

    with _specs.openapi_path(api) as path:
        schema = schemathesis.openapi.from_path(str(path))
        loaded = [result.ok() for result in schema.get_all_operations()]
    assert {op.label for op in loaded} == {op.label for op in _specs.operations(api)}


@pytest.mark.parametrize("api", _specs.APIS)
def test_bundle_is_self_contained_and_valid(api: str) -> None:
    document = _bundle.bundle(api)
    external = [
        node["$ref"]
        for _, node in _walk(document)
        if isinstance(node, dict)
        and isinstance(node.get("$ref"), str)
        and not node["$ref"].startswith("#/")
    ]
    assert not external, f"{api}: bundle still has external refs {external[:5]}"
    validate_openapi(json.loads(json.dumps(document)))
    names = set(document["components"]["schemas"])
    assert _bundle.component_name("step-execution-list") == "StepExecutionList"
    assert all(name[0].isupper() and "-" not in name for name in names)


def test_unknown_schema_id_lists_the_known_ones() -> None:
    with pytest.raises(_specs.SchemaNotFound) as caught:
        _specs.schema("urn:stepspec:kibana:no-such-thing")
    assert "urn:stepspec:kibana:step-execution" in str(caught.value)


@pytest.mark.parametrize("api", _specs.APIS)
def test_the_fast_yaml_loader_reads_each_openapi_document_as_the_pure_one_does(api: str) -> None:
    import yaml

    assert yaml.__with_libyaml__, "PyYAML without libyaml: every process pays ~130 ms of start-up"
    assert _specs._YAML_LOADER is yaml.CSafeLoader
    text = (_specs._api_dir(api) / "openapi.yaml").read_text(encoding="utf-8")
    pure = yaml.load(text, Loader=yaml.SafeLoader)
    assert _specs.openapi(api) == pure
    assert json.dumps(_specs.openapi(api)) == json.dumps(pure)  # same key order too
