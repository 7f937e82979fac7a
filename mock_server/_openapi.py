"""A vendor's OpenAPI document as the app uses it: path matching, parameters, examples, schemas.

The app matches each request to the operation of the vendor's ``openapi.yaml`` it implements
(templates such as ``/api/workflows/executions/{executionId}``), so that query validation,
``Prefer`` handling and response validation are driven by the document, not by hand-written
tables. Local ``$ref``s (``#/components/...``) are resolved; a ref to a schema file
(``execution-status.json``) is read from ``conformance.specs``. Built once per API per process.

Matching follows OpenAPI's rule that concrete paths win over templated ones, and a request is
only ever matched to the operation its server route implements: a literal route the document
does not model (Trigify's ``/v1/workflows/actions``) is no ``/v1/workflows/{id}``, so its
parameters are not checked, nor its answers self-checked, against another operation.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

from flask import has_request_context, request

_METHODS = ("get", "put", "post", "delete", "patch")
_URN_PREFIX = "urn:stepspec:"


@dataclass(frozen=True)
class ResponseSpec:
    """One documented response of an operation."""

    status: str
    schema_id: str | None
    examples: Mapping[str, Any]
    """Named example bodies (``examples`` map, or ``example`` under the name ``default``)."""


@dataclass(frozen=True)
class OperationSpec:
    """One operation: where it lives, what it accepts, what it answers."""

    api: str
    operation_id: str
    method: str
    path: str
    pattern: re.Pattern[str]
    parameters: tuple[Mapping[str, Any], ...]
    """Resolved parameter objects (path, query, header)."""
    responses: Mapping[str, ResponseSpec]

    def response(self, status: int) -> ResponseSpec | None:
        """The documented response for ``status`` (or its ``4XX``/``default`` fallback)."""
        return (
            self.responses.get(str(status))
            or self.responses.get(f"{str(status)[0]}XX")
            or self.responses.get("default")
        )


@dataclass(frozen=True)
class ApiIndex:
    """Every operation of one API, matchable by method and path."""

    api: str
    operations: tuple[OperationSpec, ...]

    def match(
        self, method: str, path: str, route: str | None = None
    ) -> tuple[OperationSpec, dict[str, str]] | None:
        """The operation for ``method path`` with its path parameters, or None.

        Operations are tried most specific first (a literal segment beats a template at the
        first position where two templates differ, OpenAPI's own rule). ``route`` is the
        server's URL rule that answers the request (Werkzeug ``<name>`` or OpenAPI ``{name}``
        syntax); an operation whose template has a variable where the route has a literal
        segment is not the one the route implements: the literal route ``/v1/workflows/actions``
        (served, not in the document) is no ``/v1/workflows/{id}``. Without ``route``, the
        current Flask request's rule is used when ``path`` is that request's path.
        """
        method = method.lower()
        shape = _route_shape(route if route is not None else _current_route(path))
        for operation in self.operations:
            if operation.method != method:
                continue
            found = operation.pattern.fullmatch(path)
            if found and (shape is None or _implements(shape, operation.path)):
                return operation, found.groupdict()
        return None

    def by_id(self, operation_id: str) -> OperationSpec:
        """The operation ``operation_id``; an unknown id lists the known ones."""
        for operation in self.operations:
            if operation.operation_id == operation_id:
                return operation
        known = ", ".join(op.operation_id for op in self.operations)
        raise LookupError(f"{self.api}: no operation {operation_id!r}; known: {known}")


def _spec_dir(api: str) -> Any:
    return resources.files("conformance.specs") / api


def has_spec(api: str) -> bool:
    """Whether ``conformance.specs`` ships an OpenAPI document for ``api``."""
    return bool(api) and (_spec_dir(api) / "openapi.yaml").is_file()


@cache
def openapi_document(api: str) -> Mapping[str, Any]:
    """The parsed ``openapi.yaml`` of ``api``."""
    from conformance import _specs

    return _specs.openapi(api)


@cache
def schema_file(api: str, name: str) -> Mapping[str, Any]:
    """The schema ``specs/<api>/<name>`` (``name`` ends in ``.json``)."""
    loaded: Mapping[str, Any] = json.loads((_spec_dir(api) / name).read_text(encoding="utf-8"))
    return loaded


def resolve(api: str, node: Any, document: Mapping[str, Any], depth: int = 0) -> Any:
    """``node`` with local refs and schema-file refs replaced by their targets (recursively)."""
    if depth > 32:
        raise ValueError(f"{api}: $ref nesting deeper than 32 (a cycle?)")
    if isinstance(node, Mapping):
        ref = node.get("$ref")
        if isinstance(ref, str):
            if ref.startswith("#/"):
                target: Any = document
                for part in ref[2:].split("/"):
                    target = target[part.replace("~1", "/").replace("~0", "~")]
            elif ref.endswith(".json"):
                target = schema_file(api, ref.rsplit("/", 1)[-1])
            else:
                raise ValueError(f"{api}: unsupported $ref {ref!r}")
            siblings = {k: v for k, v in node.items() if k != "$ref"}
            resolved = resolve(api, target, document, depth + 1)
            return {**resolved, **siblings} if isinstance(resolved, Mapping) else resolved
        return {key: resolve(api, value, document, depth + 1) for key, value in node.items()}
    if isinstance(node, list):
        return [resolve(api, item, document, depth + 1) for item in node]
    return node


def _follow_local(api: str, node: Mapping[str, Any], document: Mapping[str, Any]) -> Any:
    """``node`` with its own ``#/components/...`` ref chain followed, nothing inside it resolved.

    A response object must keep its ``schema: {$ref: error.json}`` as written: that ref is how
    the schema id of the body is known (resolving it would inline the schema and lose the id).
    """
    for _ in range(32):
        ref = node.get("$ref") if isinstance(node, Mapping) else None
        if not (isinstance(ref, str) and ref.startswith("#/")):
            return node
        target: Any = document
        for part in ref[2:].split("/"):
            target = target[part.replace("~1", "/").replace("~0", "~")]
        siblings = {k: v for k, v in node.items() if k != "$ref"}
        node = {**target, **siblings} if isinstance(target, Mapping) else target
    raise ValueError(f"{api}: $ref chain longer than 32 (a cycle?)")


def _template_pattern(path: str, prefix: str) -> re.Pattern[str]:
    parts = re.split(r"(\{[^}]+\})", prefix + path)
    regex = "".join(
        f"(?P<{_group(part[1:-1])}>[^/]+)" if part.startswith("{") else re.escape(part)
        for part in parts
    )
    return re.compile(regex)


def _group(name: str) -> str:
    return re.sub(r"\W", "_", name)


def _server_prefix(document: Mapping[str, Any]) -> str:
    """The path part of the first server URL (``/api/v1/workflow``), or ``""``."""
    servers = document.get("servers") or []
    url = str(servers[0].get("url", "")) if servers else ""
    path = re.sub(r"^[a-z]+://[^/]+", "", url) if "://" in url else url
    return "" if "{" in path else path.rstrip("/")


def _schema_id(api: str, media: Mapping[str, Any]) -> str | None:
    ref = (media.get("schema") or {}).get("$ref")
    if isinstance(ref, str) and ref.endswith(".json"):
        return f"{_URN_PREFIX}{api}:{ref.rsplit('/', 1)[-1].removesuffix('.json')}"
    return None


def _response(
    api: str, status: str, raw: Mapping[str, Any], doc: Mapping[str, Any]
) -> ResponseSpec:
    raw = _follow_local(api, raw, doc)
    media = (raw.get("content") or {}).get("application/json") or {}
    examples = {
        name: (example or {}).get("value")
        for name, example in (media.get("examples") or {}).items()
    }
    if not examples and "example" in media:
        examples = {"default": media["example"]}
    return ResponseSpec(status, _schema_id(api, media), examples)


@cache
def api_index(api: str) -> ApiIndex:
    """The operations of ``api``, most specific templates first (literal segments win)."""
    document = openapi_document(api)
    prefix = _server_prefix(document)
    found: list[OperationSpec] = []
    for path, item in (document.get("paths") or {}).items():
        shared = list(item.get("parameters", ()))
        for method in _METHODS:
            spec = item.get(method)
            if spec is None:
                continue
            params = resolve(api, shared + list(spec.get("parameters", ())), document)
            responses = {
                str(code): _response(api, str(code), body, document)
                for code, body in (spec.get("responses") or {}).items()
            }
            found.append(
                OperationSpec(
                    api=api,
                    operation_id=str(spec.get("operationId") or f"{method} {path}"),
                    method=method,
                    path=str(path),
                    pattern=_template_pattern(str(path), prefix),
                    parameters=tuple(params),
                    responses=responses,
                )
            )
    found.sort(key=lambda op: _specificity(op.path))
    return ApiIndex(api, tuple(found))


def _specificity(path: str) -> tuple[int, ...]:
    """Sort key: per segment 0 for a literal, 1 for a template; smaller is more specific.

    Two templates can only both match a path of the same number of segments, so comparing
    these tuples decides at the first segment where they differ: the literal one wins.
    """
    return tuple(1 if "{" in segment else 0 for segment in path.split("/"))


_ROUTE_VARIABLE = re.compile(r"<[^>]*>|\{[^}]*\}")


def _route_shape(route: str | None) -> tuple[str | None, ...] | None:
    """A route's segments, None for a variable one; None when the route cannot be compared.

    A converter that spans segments (``<path:rest>``) makes segment positions meaningless,
    so such a route constrains nothing.
    """
    if route is None or "<path:" in route:
        return None
    return tuple(
        None if _ROUTE_VARIABLE.search(segment) else segment for segment in route.split("/")
    )


def _implements(shape: tuple[str | None, ...], template: str) -> bool:
    """Whether the route of ``shape`` can be the operation at ``template``.

    A literal route segment never stands for a templated operation segment; every other
    combination is left to the path regex (a variable route segment accepts anything).
    """
    # Compared from the end: a server prefix or a mount point only shifts the start.
    pairs = zip(reversed(shape), reversed(template.split("/")), strict=False)
    return not any(literal is not None and "{" in segment for literal, segment in pairs)


def _current_route(path: str) -> str | None:
    """The URL rule of the current Flask request, if ``path`` is that request's path."""
    if not has_request_context() or request.path != path or request.url_rule is None:
        return None
    return str(request.url_rule.rule)
