"""Loading the shipped specs: one immutable registry of every schema, and the OpenAPI documents.

Data is read only through ``importlib.resources`` (so an installed wheel works outside the repo)
and loaded once per process. Each schema is registered under its URN ``$id`` and under its bare
file name, because schemas refer to each other by file name (see ARCHITECTURE.md).
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
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
        document = yaml.safe_load(source.read_text(encoding="utf-8"))
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
    """One operation of an OpenAPI document, with the schema ids of its bodies."""

    api: str
    operation_id: str
    method: str
    path: str
    parameters: tuple[Mapping[str, Any], ...]
    request_schema_id: str | None
    responses: Mapping[str, str | None]
    """Status code (``"200"``, ``"404"``, ``"default"``) -> schema id of its JSON body, if any."""

    @property
    def label(self) -> str:
        """``GET /api/workflows/...`` as reports show it."""
        return f"{self.method.upper()} {self.path}"


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


@cache
def operations(api: str) -> tuple[Operation, ...]:
    """Every operation of ``api``'s OpenAPI document, in document order."""
    found: list[Operation] = []
    for path, item in (openapi(api).get("paths") or {}).items():
        shared = tuple(item.get("parameters", ()))
        for method in _HTTP_METHODS:
            spec = item.get(method)
            if spec is None:
                continue
            responses = {
                str(code): _json_schema_of(api, body)
                for code, body in (spec.get("responses") or {}).items()
            }
            body = spec.get("requestBody") or {}
            found.append(
                Operation(
                    api=api,
                    operation_id=str(spec.get("operationId") or f"{method} {path}"),
                    method=method,
                    path=str(path),
                    parameters=shared + tuple(spec.get("parameters", ())),
                    request_schema_id=_json_schema_of(api, body),
                    responses=responses,
                )
            )
    return tuple(found)


def operation(api: str, operation_id: str) -> Operation:
    """The operation ``operation_id`` of ``api``; an unknown id lists the known ones."""
    for candidate in operations(api):
        if candidate.operation_id == operation_id:
            return candidate
    raise SchemaNotFound(operation_id, [op.operation_id for op in operations(api)])
