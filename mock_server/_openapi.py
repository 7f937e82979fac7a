"""A vendor's OpenAPI operations as the app uses them: path matching, parameters, examples.

The app matches each request to the operation of the vendor's ``openapi.yaml`` it implements
(templates such as ``/api/workflows/executions/{executionId}``), so that query validation,
``Prefer`` handling and response validation are driven by the document, not by hand-written
tables. The document is read once, by ``conformance._specs.operations`` (local refs resolved);
this module only indexes those operations for matching, and inlines the schema files a
parameter names (``execution-status.json``) so ``_params`` sees the whole schema. Built once
per API per process.

Matching follows OpenAPI's rule that concrete paths win over templated ones, and a request is
only ever matched to the operation its server route implements: a literal route the document
does not model (Trigify's ``/v1/workflows/actions``) is no ``/v1/workflows/{id}``, so its
parameters are not checked, nor its answers self-checked, against another operation.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from typing import Any

from flask import has_request_context, request

from conformance import _specs

_MAX_DEPTH = 32


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


def has_spec(api: str) -> bool:
    """Whether ``conformance.specs`` ships an OpenAPI document for ``api``."""
    return api in _specs.APIS


def schema_file(api: str, name: str) -> Mapping[str, Any]:
    """The schema ``specs/<api>/<name>`` (``name`` ends in ``.json``)."""
    return _specs.schema(_specs.schema_id(api, name.removesuffix(".json")))


def _inline_files(api: str, node: Any, depth: int = 0) -> Any:
    """``node`` with each schema-file ref (``$ref: execution-status.json``) replaced by the file.

    Siblings of the ref override the file's keys, as for local refs in ``_specs``.
    """
    if depth > _MAX_DEPTH:
        raise ValueError(f"{api}: $ref nesting deeper than {_MAX_DEPTH} (a cycle?)")
    if isinstance(node, list):
        return [_inline_files(api, item, depth + 1) for item in node]
    if not isinstance(node, Mapping):
        return node
    ref = node.get("$ref")
    if isinstance(ref, str) and ref.endswith(".json"):
        target = _inline_files(api, schema_file(api, ref.rsplit("/", 1)[-1]), depth + 1)
        siblings = {k: v for k, v in node.items() if k != "$ref"}
        return {**target, **siblings}
    return {key: _inline_files(api, value, depth + 1) for key, value in node.items()}


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


def _response(status: str, raw: Mapping[str, Any], schema_id: str | None) -> ResponseSpec:
    media = (raw.get("content") or {}).get("application/json") or {}
    examples = {
        name: (example or {}).get("value")
        for name, example in (media.get("examples") or {}).items()
    }
    if not examples and "example" in media:
        examples = {"default": media["example"]}
    return ResponseSpec(status, schema_id, examples)


@cache
def api_index(api: str) -> ApiIndex:
    """The operations of ``api``, most specific templates first (literal segments win)."""
    prefix = _server_prefix(_specs.openapi(api))
    found = [
        OperationSpec(
            api=api,
            operation_id=operation.operation_id,
            method=operation.method,
            path=operation.path,
            pattern=_template_pattern(operation.path, prefix),
            parameters=tuple(_inline_files(api, param) for param in operation.parameters),
            responses={
                code: _response(code, raw, operation.responses.get(code))
                for code, raw in operation.response_objects.items()
            },
        )
        for operation in _specs.operations(api)
    ]
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
