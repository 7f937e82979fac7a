"""Request parameters checked against the operation's OpenAPI parameter objects.

``check_parameters`` coerces query and path values to their documented types (integers,
numbers, booleans, enums, arrays sent repeatedly ``?statuses=a&statuses=b``) and reports each
problem as a vendor-neutral ``QueryProblem``; the vendor renders problems in its own style
(Kibana: ``[request query.size]: Value must be equal to or lower than [100].``). Supported
schema keywords: ``type``, ``enum``, ``const``, ``minimum``, ``maximum``, ``minLength``,
``maxLength``, ``pattern``, ``minItems``, ``maxItems``, ``items``, and ``anyOf``/``oneOf`` of a
scalar and an array of it (config-schema's ``oneOf([x, arrayOf(x)])``).
"""

from __future__ import annotations

import functools
import math
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from werkzeug.datastructures import MultiDict


@dataclass(frozen=True)
class QueryProblem:
    """One parameter that does not fit its documented schema."""

    location: str
    """``query``, ``params`` (path) or ``headers``."""
    name: str
    kind: str
    """``unknown``, ``required``, ``type``, ``enum``, ``minimum``, ``maximum``, ``minLength``,
    ``maxLength``, ``pattern``, ``minItems``, ``maxItems``."""
    expected: Any = None
    """The documented limit: the type name, the enum values, the bound..."""
    found: Any = None
    """The offending raw value (a string, or the count for ``*Items``)."""
    index: int | None = None
    """Position within an array parameter."""

    def describe(self) -> str:
        """A neutral one-line description (vendors may word it their own way).

        Only the text of this problem's ``kind`` is built: ``expected`` means something
        different per kind (an enum's values, a bound, a type name, nothing at all), so no
        other kind's wording may touch it.
        """
        where = f"{self.location} parameter {self.name!r}"
        if self.index is not None:
            where += f" item {self.index}"
        wording = _WORDING.get(self.kind)
        return f"{where} {wording(self) if wording is not None else 'is invalid'}"


def _allowed(expected: Any) -> str:
    """An enum's values as a list (a single value or None is still readable)."""
    if isinstance(expected, list | tuple | set | frozenset):
        return repr(list(expected))
    return repr([] if expected is None else [expected])


_WORDING: dict[str, Callable[[QueryProblem], str]] = {
    "unknown": lambda p: "is not a documented parameter",
    "required": lambda p: "is required",
    "type": lambda p: f"must be of type {p.expected}, got {p.found!r}",
    "enum": lambda p: f"must be one of {_allowed(p.expected)}, got {p.found!r}",
    "minimum": lambda p: f"must be >= {p.expected}, got {p.found!r}",
    "maximum": lambda p: f"must be <= {p.expected}, got {p.found!r}",
    "minLength": lambda p: f"must have at least {p.expected} characters",
    "maxLength": lambda p: f"must have at most {p.expected} characters",
    "pattern": lambda p: f"must match {p.expected!r}, got {p.found!r}",
    "minItems": lambda p: f"needs at least {p.expected} values, got {p.found}",
    "maxItems": lambda p: f"takes at most {p.expected} values, got {p.found}",
}
"""How ``QueryProblem.describe`` words each kind (an unlisted kind "is invalid")."""


@dataclass
class CheckedParameters:
    """Coerced parameter values by name, and the problems found."""

    values: dict[str, Any] = field(default_factory=dict)
    problems: list[QueryProblem] = field(default_factory=list)


_TRUE, _FALSE = "true", "false"
_NUMBER = re.compile(r"-?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?")


def check_parameters(
    parameters: Sequence[Mapping[str, Any]],
    query: MultiDict[str, str],
    path_values: Mapping[str, str],
    *,
    reject_unknown: bool,
) -> CheckedParameters:
    """Check ``query`` and ``path_values`` against ``parameters`` (resolved OpenAPI objects)."""
    result = CheckedParameters()
    if reject_unknown and query:
        documented = {p["name"] for p in parameters if p.get("in") == "query"}
        for name in query:
            if name not in documented:
                result.problems.append(QueryProblem("query", name, "unknown"))
    for param in parameters:
        location, name = param.get("in"), str(param.get("name"))
        schema = param.get("schema") or {}
        if location == "query":
            raw = query.getlist(name)
            if not raw:
                if param.get("required"):
                    result.problems.append(QueryProblem("query", name, "required"))
                continue
            _check_value(result, "query", name, schema, raw)
        elif location == "path":
            key = _group_key(name)
            if key in path_values:
                _check_value(result, "params", name, schema, [path_values[key]])
    return result


@functools.cache
def _group_key(name: str) -> str:
    """The regex group (``_openapi``'s path pattern) holding the path parameter ``name``."""
    return re.sub(r"\W", "_", name)


def _array_schema(schema: Mapping[str, Any]) -> Mapping[str, Any] | None:
    if schema.get("type") == "array":
        return schema
    for branch in schema.get("anyOf") or schema.get("oneOf") or ():
        if isinstance(branch, Mapping) and branch.get("type") == "array":
            return branch
    return None


def _scalar_schema(schema: Mapping[str, Any]) -> Mapping[str, Any]:
    for branch in schema.get("anyOf") or schema.get("oneOf") or ():
        if isinstance(branch, Mapping) and branch.get("type") != "array":
            return branch
    return schema


def _check_value(
    result: CheckedParameters,
    location: str,
    name: str,
    schema: Mapping[str, Any],
    raw: list[str],
) -> None:
    array = _array_schema(schema)
    if array is None:
        # A scalar given several times: config-schema and FastAPI both keep the last value.
        value = _coerce(result, location, name, schema, raw[-1], None)
        if value is not _INVALID:
            result.values[name] = value
        return
    items = array.get("items") or _scalar_schema(schema)
    values = [
        _coerce(result, location, name, items, text, i if len(raw) > 1 else None)
        for i, text in enumerate(raw)
    ]
    if "maxItems" in array and len(raw) > int(array["maxItems"]):
        result.problems.append(
            QueryProblem(location, name, "maxItems", array["maxItems"], len(raw))
        )
    if "minItems" in array and len(raw) < int(array["minItems"]):
        result.problems.append(
            QueryProblem(location, name, "minItems", array["minItems"], len(raw))
        )
    if all(v is not _INVALID for v in values):
        result.values[name] = values


class _Invalid:
    pass


_INVALID: Any = _Invalid()


def _coerce(
    result: CheckedParameters,
    location: str,
    name: str,
    schema: Mapping[str, Any],
    text: str,
    index: int | None,
) -> Any:
    def problem(kind: str, expected: Any) -> Any:
        result.problems.append(QueryProblem(location, name, kind, expected, text, index))
        return _INVALID

    kind = schema.get("type")
    kinds = kind if isinstance(kind, list) else [kind]
    value: Any = text
    if "integer" in kinds or "number" in kinds:
        if not _NUMBER.fullmatch(text.strip()):
            return problem("type", "number")
        number = float(text)
        if not math.isfinite(number):
            return problem("type", "number")
        if "integer" in kinds and "number" not in kinds:
            if number != int(number):
                return problem("type", "integer")
            digits = text.strip()
            value = int(digits) if digits.lstrip("-").isdigit() else int(number)
        else:
            value = int(number) if number == int(number) and "." not in text else number
        if "minimum" in schema and value < schema["minimum"]:
            return problem("minimum", schema["minimum"])
        if "maximum" in schema and value > schema["maximum"]:
            return problem("maximum", schema["maximum"])
    elif "boolean" in kinds:
        if text not in (_TRUE, _FALSE):
            return problem("type", "boolean")
        value = text == _TRUE
    else:
        if "minLength" in schema and len(text) < int(schema["minLength"]):
            return problem("minLength", schema["minLength"])
        if "maxLength" in schema and len(text) > int(schema["maxLength"]):
            return problem("maxLength", schema["maxLength"])
        if "pattern" in schema and not re.search(str(schema["pattern"]), text):
            return problem("pattern", schema["pattern"])
    if "enum" in schema and value not in schema["enum"]:
        return problem("enum", tuple(schema["enum"]))
    if "const" in schema and value != schema["const"]:
        return problem("enum", (schema["const"],))
    return value
