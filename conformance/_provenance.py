"""Provenance: where each schema rule comes from, read from the ``x-stepspec-source`` markers.

A schema file carries ``"x-stepspec-source"`` (a documentation URL, or
``elastic/kibana:<path>@<commit-or-branch>``) on its root and on every subschema whose rule is
not a plain reading of the vendor docs' examples (every ``x-stepspec-inferred`` one included).
The source of a failed rule is the *nearest* marker on the way from the schema's root to the
failing keyword, following ``<name>.json`` references into the schema they name (whose root
marker then applies). Checks register their own source (``@check(..., source=...)``).

``stepspec check`` prints the source under each finding (``rule from: ...``) and ``stepspec
spec list --sources`` lists every marker, so a finding can be judged against a real server
without reading the specs.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from conformance import _specs

SOURCE = "x-stepspec-source"
INFERRED = "x-stepspec-inferred"
SINCE = "x-stepspec-since"


@dataclass(frozen=True)
class SourcedRule:
    """One ``x-stepspec-source`` marker of a schema file."""

    schema_id: str
    pointer: str
    """JSON pointer of the marked subschema within its file (``""`` for the root)."""
    source: str
    inferred: bool
    """Whether the marked subschema is an inferred rule."""


def rule_source(schema_id: str, schema_path: Iterable[str | int]) -> str:
    """The nearest ``x-stepspec-source`` on ``schema_path`` (a jsonschema error's
    ``absolute_schema_path``) within ``schema_id``; ``""`` when none is recorded."""
    api, _ = _specs.split_schema_id(schema_id)
    node: Any = _specs.schema(schema_id)
    found = _source_of(node) or ""
    for key in schema_path:
        ref = node.get("$ref") if isinstance(node, Mapping) else None
        if key == "$ref" and isinstance(ref, str) and ref.endswith(".json"):
            node = _specs.schema(_specs.schema_id(api, ref.removesuffix(".json")))
        else:
            try:
                node = node[key]
            except (KeyError, IndexError, TypeError):
                break
        found = _source_of(node) or found
    return found


def _source_of(node: Any) -> str | None:
    if isinstance(node, Mapping):
        value = node.get(SOURCE)
        if isinstance(value, str) and value:
            return value
    return None


def schema_sources(schema_id: str) -> list[SourcedRule]:
    """Every marker of one schema file, root first, in document order."""
    return [
        SourcedRule(schema_id, pointer, str(node[SOURCE]), node.get(INFERRED) is True)
        for pointer, node in _walk(_specs.schema(schema_id), "")
        if isinstance(node, Mapping) and SOURCE in node
    ]


def unsourced_rules(schema_id: str) -> list[str]:
    """Pointers of the places that must carry a source but do not: the root and every
    ``x-stepspec-inferred`` subschema."""
    missing = []
    for pointer, node in _walk(_specs.schema(schema_id), ""):
        if not isinstance(node, Mapping):
            continue
        needs = pointer == "" or node.get(INFERRED) is True
        if needs and not _source_of(node):
            missing.append(pointer or "/")
    return missing


def _walk(node: Any, pointer: str) -> Iterator[tuple[str, Any]]:
    yield pointer, node
    if isinstance(node, Mapping):
        for key, value in node.items():
            if key in ("examples", "enum", "const", "default"):
                continue
            escaped = str(key).replace("~", "~0").replace("/", "~1")
            yield from _walk(value, f"{pointer}/{escaped}")
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from _walk(value, f"{pointer}/{index}")
