"""Loading the shipped specs: one immutable registry of every schema, and the OpenAPI documents.

Data is read only through ``importlib.resources`` (so an installed wheel works outside the repo)
and loaded once per process. Each schema is registered under its URN ``$id`` and under its bare
file name, because schemas refer to each other by file name (see ARCHITECTURE.md).

``operations(api)`` reads each OpenAPI operation with its local ``#/components/...`` refs
(parameters, request bodies, responses) resolved, and its schema-file refs (``error.json``)
kept, so callers never walk the document themselves.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from importlib.resources.abc import Traversable
from pathlib import Path
from typing import Any

import referencing
import yaml
from referencing.jsonschema import DRAFT202012

from conformance.errors import InvalidSpec, SchemaNotFound

APIS: tuple[str, ...] = ("kibana", "arcee", "trigify")
"""The APIs stepspec knows, in the order they are listed everywhere."""

URN_PREFIX = "urn:stepspec:"
_HTTP_METHODS = ("get", "put", "post", "delete", "patch", "head", "options")
_YAML_LOADER: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
"""libyaml's safe loader when PyYAML has it: ten times faster than the pure-Python one on the
OpenAPI documents, which every fresh ``stepspec`` process reads (``tests/test_specs.py`` shows
both read every shipped document alike)."""


def _specs_root() -> Traversable:
    return resources.files("conformance.specs")


def _api_dir(api: str) -> Traversable:
    if api not in APIS:
        raise SchemaNotFound(api, APIS)
    return _specs_root() / api


def schema_id(api: str, name: str) -> str:
    """The ``$id`` of schema ``name`` of ``api``: ``urn:stepspec:<api>:<name>``."""
    return f"{URN_PREFIX}{api}:{name}"


def split_schema_id(schema_id_: str) -> tuple[str, str]:
    """``urn:stepspec:kibana:step-execution`` -> ``("kibana", "step-execution")``."""
    if not schema_id_.startswith(URN_PREFIX) or schema_id_.count(":") != 3:
        raise SchemaNotFound(schema_id_, schema_ids())
    api, name = schema_id_[len(URN_PREFIX) :].split(":")
    return api, name


@cache
def _schemas() -> Mapping[str, Mapping[str, Any]]:
    """Every shipped schema by ``$id``, in a stable order."""
    found: dict[str, Mapping[str, Any]] = {}
    for api in APIS:
        if not _api_dir(api).is_dir():
            raise InvalidSpec(f"specs/{api}/ is missing from the installed package")
        for entry in sorted(_api_dir(api).iterdir(), key=lambda e: e.name):
            if not entry.name.endswith(".json"):
                continue
            document = json.loads(entry.read_text(encoding="utf-8"))
            expected = schema_id(api, entry.name.removesuffix(".json"))
            if document.get("$id") != expected:
                raise InvalidSpec(f"specs/{api}/{entry.name}: $id must be {expected!r}")
            found[expected] = document
    return found


def schema_ids() -> list[str]:
    """The ``$id`` of every shipped schema, grouped by API."""
    return list(_schemas())


def schema(schema_id_: str) -> Mapping[str, Any]:
    """The schema with ``$id`` ``schema_id_``; an unknown id lists the known ones."""
    try:
        return _schemas()[schema_id_]
    except KeyError:
        raise SchemaNotFound(schema_id_, schema_ids()) from None


@cache
def registry() -> referencing.Registry[Any]:
    """One immutable registry of every shipped schema, keyed by URN ``$id``.

    Validation resolves refs through ``api_registry``: schemas refer to each other by bare
    file name, which is only unique within one API.
    """
    return referencing.Registry().with_resources(
        (sid, DRAFT202012.create_resource(document)) for sid, document in _schemas().items()
    )


@cache
def api_registry(api: str) -> referencing.Registry[Any]:
    """The registry for one API: its schemas under their URN and their file name."""
    pairs: list[tuple[str, referencing.Resource[Any]]] = []
    for sid, document in _schemas().items():
        owner, name = split_schema_id(sid)
        if owner == api:
            resource = DRAFT202012.create_resource(document)
            pairs += [(sid, resource), (f"{name}.json", resource)]
    return referencing.Registry().with_resources(pairs).crawl()


@cache
def openapi(api: str) -> Mapping[str, Any]:
    """The parsed ``specs/<api>/openapi.yaml`` (with its file references left in place)."""
    source = _api_dir(api) / "openapi.yaml"
    try:
        document = yaml.load(source.read_text(encoding="utf-8"), Loader=_YAML_LOADER)
    except (OSError, yaml.YAMLError) as error:
        raise InvalidSpec(f"specs/{api}/openapi.yaml cannot be read: {error}") from error
    if not isinstance(document, dict):
        raise InvalidSpec(f"specs/{api}/openapi.yaml is not a mapping")
    return document


@contextmanager
def openapi_path(api: str) -> Iterator[Path]:
    """A filesystem path to ``openapi.yaml`` with its schema files beside it (for schemathesis)."""
    with resources.as_file(_api_dir(api)) as directory:
        yield Path(directory) / "openapi.yaml"


@dataclass(frozen=True)
class Operation:
    """One operation of an OpenAPI document, with local ``#/components/...`` refs resolved.

    ``parameters``, ``request_body`` and ``response_objects`` hold the objects the refs name
    (``$ref: '#/components/responses/NotFound'`` becomes that response object); refs to the
    sibling schema files (``$ref: error.json``) stay as written, because the file name is how
    a body's schema id is known (``responses`` maps each status to it).
    """

    api: str
    operation_id: str
    method: str
    path: str
    parameters: tuple[Mapping[str, Any], ...]
    """Path-item then operation parameters, resolved (the operation's own override a path-item
    parameter of the same ``name`` and ``in``, as OpenAPI says)."""
    request_schema_id: str | None
    responses: Mapping[str, str | None]
    """Status code (``"200"``, ``"404"``, ``"default"``) -> schema id of its JSON body, if any."""
    request_body: Mapping[str, Any] | None = None
    """The resolved request body object, if the operation documents one."""
    response_objects: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    """Status code -> the resolved response object (description, headers, content)."""

    @property
    def label(self) -> str:
        """``GET /api/workflows/...`` as reports show it."""
        return f"{self.method.upper()} {self.path}"

    def response_key(self, status: int) -> str | None:
        """The documented key that covers ``status``: itself, its range (``4XX``), ``default``."""
        for key in (str(status), f"{str(status)[0]}XX", "default"):
            if key in self.response_objects:
                return key
        return None


def _ref_to_schema_id(api: str, node: Mapping[str, Any] | None) -> str | None:
    if not node:
        return None
    ref = node.get("$ref")
    if isinstance(ref, str) and ref.endswith(".json"):
        return schema_id(api, ref.rsplit("/", 1)[-1].removesuffix(".json"))
    return None


def _json_schema_of(api: str, holder: Mapping[str, Any]) -> str | None:
    content = holder.get("content") or {}
    media = content.get("application/json") or {}
    return _ref_to_schema_id(api, media.get("schema"))


_MAX_REF_CHAIN = 16


def resolve_local(api: str, node: Any) -> Any:
    """``node`` with every local ``#/...`` ref in it replaced by its target, recursively.

    Refs to schema files (``error.json``) are kept as written. Siblings of a ref (a
    ``description`` next to it, as OpenAPI 3.1 allows) override the target's keys. A ref that
    names nothing, or a cycle, is an ``InvalidSpec`` naming the ref and what exists there.
    """
    return _resolve(api, node, ())


def _resolve(api: str, node: Any, chain: tuple[str, ...]) -> Any:
    if isinstance(node, list):
        return [_resolve(api, item, chain) for item in node]
    if not isinstance(node, Mapping):
        return node
    ref = node.get("$ref")
    if isinstance(ref, str) and ref.startswith("#/"):
        if ref in chain or len(chain) >= _MAX_REF_CHAIN:
            raise InvalidSpec(f"specs/{api}/openapi.yaml: $ref cycle {' -> '.join((*chain, ref))}")
        target = _resolve(api, _pointer(api, ref), (*chain, ref))
        siblings = {k: _resolve(api, v, chain) for k, v in node.items() if k != "$ref"}
        return {**target, **siblings} if isinstance(target, Mapping) else target
    return {key: _resolve(api, value, chain) for key, value in node.items()}


def _pointer(api: str, ref: str) -> Any:
    """The node at the JSON pointer ``#/a/b`` of ``api``'s OpenAPI document."""
    target: Any = openapi(api)
    walked = "#"
    for raw in ref[2:].split("/"):
        part = raw.replace("~1", "/").replace("~0", "~")
        if not isinstance(target, Mapping) or part not in target:
            known = ", ".join(map(str, target)) if isinstance(target, Mapping) else "nothing"
            raise InvalidSpec(
                f"specs/{api}/openapi.yaml: $ref {ref!r} names nothing: {walked} has no "
                f"{part!r} (it has: {known})"
            )
        target, walked = target[part], f"{walked}/{raw}"
    return target


def _merged(shared: Sequence[Any], own: Sequence[Any]) -> tuple[Mapping[str, Any], ...]:
    """Path-item parameters then the operation's; the operation's override same name and ``in``."""
    overridden = {(p.get("name"), p.get("in")) for p in own if isinstance(p, Mapping)}
    kept = [p for p in shared if (p.get("name"), p.get("in")) not in overridden]
    return tuple(kept) + tuple(own)


@cache
def operations(api: str) -> tuple[Operation, ...]:
    """Every operation of ``api``'s OpenAPI document, in document order, refs resolved."""
    found: list[Operation] = []
    for path, item in (openapi(api).get("paths") or {}).items():
        item = resolve_local(api, item)  # a path item may itself be a ref
        shared = tuple(item.get("parameters", ()))
        for method in _HTTP_METHODS:
            spec = item.get(method)
            if spec is None:
                continue
            response_objects = {
                str(code): body for code, body in (spec.get("responses") or {}).items()
            }
            body = spec.get("requestBody")
            found.append(
                Operation(
                    api=api,
                    operation_id=str(spec.get("operationId") or f"{method} {path}"),
                    method=method,
                    path=str(path),
                    parameters=_merged(shared, spec.get("parameters", ())),
                    request_schema_id=_json_schema_of(api, body or {}),
                    responses={
                        code: _json_schema_of(api, response)
                        for code, response in response_objects.items()
                    },
                    request_body=body,
                    response_objects=response_objects,
                )
            )
    return tuple(found)


def operation(api: str, operation_id: str) -> Operation:
    """The operation ``operation_id`` of ``api``; an unknown id lists the known ones."""
    for candidate in operations(api):
        if candidate.operation_id == operation_id:
            return candidate
    raise SchemaNotFound(operation_id, [op.operation_id for op in operations(api)])
