"""Bundling: one self-contained OpenAPI document per API, for tools that cannot follow files.

Every schema of the API becomes ``components/schemas/<PascalName>`` (``$id`` and ``$schema``
dropped), and every ``<name>.json`` reference, in the paths and inside the schemas, is rewritten
to ``#/components/schemas/<PascalName>``. Code generators (openapi-typescript, orval,
openapi-generator) then get one named type per schema.
"""

from __future__ import annotations

import copy
from typing import Any

from conformance import _specs


def component_name(schema_name: str) -> str:
    """``step-execution`` -> ``StepExecution``."""
    return "".join(part[:1].upper() + part[1:] for part in schema_name.split("-"))


def _rewrite_refs(node: Any) -> Any:
    if isinstance(node, dict):
        ref = node.get("$ref")
        rewritten = {key: _rewrite_refs(value) for key, value in node.items()}
        if isinstance(ref, str) and ref.endswith(".json") and "/" not in ref:
            rewritten["$ref"] = f"#/components/schemas/{component_name(ref[: -len('.json')])}"
        return rewritten
    if isinstance(node, list):
        return [_rewrite_refs(item) for item in node]
    return node


def bundle(api: str) -> dict[str, Any]:
    """The OpenAPI document of ``api`` with every schema inlined as a component."""
    document = _rewrite_refs(copy.deepcopy(dict(_specs.openapi(api))))
    components = document.setdefault("components", {})
    schemas = components.setdefault("schemas", {})
    for sid in _specs.schema_ids():
        owner, name = _specs.split_schema_id(sid)
        if owner != api:
            continue
        body = {k: v for k, v in _specs.schema(sid).items() if k not in ("$id", "$schema")}
        schemas[component_name(name)] = _rewrite_refs(body)
    return dict(document)
