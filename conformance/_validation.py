"""Compiled validators: a fast yes/no, and explained violations when the answer is no.

Each schema gets one ``SchemaValidator``, built once per process:

- a ``jsonschema_rs`` validator over the schema with every ``$ref`` inlined (the Rust library
  cannot resolve relative refs under a ``urn:`` base) answers "valid?" quickly — most payloads
  stop there;
- on failure, ``jsonschema`` (with format checking) explains each error against the strict view,
  and a second ``jsonschema`` validator over the *lenient* view — every subschema marked
  ``x-stepspec-inferred`` replaced by ``true`` — tells which errors rest only on inferred rules.

``tests/conformance/test_validation_agreement.py`` shows the fast path and ``jsonschema`` agree
on every fixture and on a corpus of generated and mutated payloads.
"""

from __future__ import annotations

import json
import reprlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import cache
from typing import Any

import jsonschema
import referencing
from jsonschema.exceptions import ValidationError, best_match
from referencing.jsonschema import DRAFT202012

from conformance import _specs
from conformance._provenance import rule_source
from conformance.errors import InvalidSpec

try:  # The fast path is optional: without it every payload goes through jsonschema.
    import jsonschema_rs as _rs

    _fast_validator_for: Any = _rs.validator_for
except ImportError:  # pragma: no cover - jsonschema-rs is a declared dependency
    _fast_validator_for = None

INFERRED = "x-stepspec-inferred"
_FORMAT_CHECKER = jsonschema.FormatChecker()
_MAX_MESSAGE = 160
_short = reprlib.Repr()
_short.maxstring = 80
_short.maxother = 80
_short.maxlist = 6
_short.maxdict = 6
_short.maxlevel = 2


@dataclass(frozen=True)
class Violation:
    """One way an instance breaks a schema."""

    path: str
    """JSON path of the offending value, e.g. ``$.steps[0].status``."""
    keyword: str
    """The JSON Schema keyword that failed (``required``, ``type``, ``enum``, ``format``...)."""
    message: str
    expected: str
    found: str
    inferred: bool
    """True when only an inferred (non-normative) rule fails: a warning unless ``--strict``."""
    source: str = ""
    """Where the rule comes from: the nearest ``x-stepspec-source`` (``""`` if none recorded)."""

    def __str__(self) -> str:
        tag = " (inferred rule)" if self.inferred else ""
        return f"{self.path}: {self.message}{tag}"


def json_path(parts: Iterable[str | int]) -> str:
    """``["steps", 0, "status"]`` -> ``$.steps[0].status``."""
    text = "$"
    for part in parts:
        text += f"[{part}]" if isinstance(part, int) else f".{part}"
    return text


def lenient(node: Any) -> Any:
    """The lenient view of a schema: every subschema marked inferred becomes ``true``."""
    if isinstance(node, dict):
        if node.get(INFERRED) is True:
            return True
        return {key: lenient(value) for key, value in node.items()}
    if isinstance(node, list):
        return [lenient(item) for item in node]
    return node


def inline(node: Any, api: str, seen: tuple[str, ...] = ()) -> Any:
    """A copy of ``node`` with every ``<name>.json`` ref replaced by that schema's body."""
    if isinstance(node, dict):
        ref = node.get("$ref")
        if isinstance(ref, str) and ref.endswith(".json"):
            name = ref.removesuffix(".json")
            if name in seen:
                raise InvalidSpec(f"{api}: circular $ref {' -> '.join((*seen, name))}")
            target = dict(_specs.schema(_specs.schema_id(api, name)))
            target.pop("$id", None)
            target.pop("$schema", None)
            siblings = {k: v for k, v in node.items() if k != "$ref"}
            body = inline(target, api, (*seen, name))
            return {"allOf": [body], **inline(siblings, api, seen)} if siblings else body
        return {key: inline(value, api, seen) for key, value in node.items()}
    if isinstance(node, list):
        return [inline(item, api, seen) for item in node]
    return node


@cache
def _lenient_registry(api: str) -> referencing.Registry[Any]:
    pairs: list[tuple[str, referencing.Resource[Any]]] = []
    for sid in _specs.schema_ids():
        owner, name = _specs.split_schema_id(sid)
        if owner == api:
            resource = DRAFT202012.create_resource(lenient(_specs.schema(sid)))
            pairs += [(sid, resource), (f"{name}.json", resource)]
    return referencing.Registry().with_resources(pairs).crawl()


class SchemaValidator:
    """A compiled validator for one schema id (see the module docstring)."""

    def __init__(self, schema_id: str) -> None:
        api, _ = _specs.split_schema_id(schema_id)
        document = _specs.schema(schema_id)
        jsonschema.Draft202012Validator.check_schema(document)
        self.schema_id = schema_id
        self._strict = jsonschema.Draft202012Validator(
            document, registry=_specs.api_registry(api), format_checker=_FORMAT_CHECKER
        )
        self._lenient = jsonschema.Draft202012Validator(
            lenient(document), registry=_lenient_registry(api), format_checker=_FORMAT_CHECKER
        )
        self._fast = (
            _fast_validator_for(inline(dict(document), api), validate_formats=True)
            if _fast_validator_for is not None
            else None
        )

    def is_valid(self, instance: Any) -> bool:
        """Whether ``instance`` passes the strict view (the fast path when available)."""
        if self._fast is not None:
            return bool(self._fast.is_valid(instance))
        return bool(self._strict.is_valid(instance))

    def violations(self, instance: Any) -> list[Violation]:
        """Every violation, ordered by JSON path; empty when ``instance`` is valid."""
        if self.is_valid(instance):
            return []
        normative = {_error_key(error) for error in self._lenient.iter_errors(instance)}
        found = [
            _explain(error, inferred=_error_key(error) not in normative, schema_id=self.schema_id)
            for error in self._strict.iter_errors(instance)
        ]
        return sorted(found, key=lambda v: (v.path, v.keyword, v.message))

    def errors(self, instance: Any, *, strict: bool = True) -> list[Violation]:
        """The violations that count as errors: all of them if ``strict``, else normative ones."""
        return [v for v in self.violations(instance) if strict or not v.inferred]


def _error_key(error: ValidationError) -> tuple[Any, ...]:
    return (tuple(error.absolute_path), error.validator, error.message)


def _explain(error: ValidationError, *, inferred: bool, schema_id: str) -> Violation:
    """Turn a jsonschema error into a Violation; for anyOf/oneOf, name the closest branch."""
    deepest = error
    while deepest.context:
        # A branch whose `type` already rejects the value says little; prefer the branch the
        # value was aiming at (an object missing `message` is about `required`, not `string`).
        # Errors deeper than the anyOf come from a branch whose shape matched the value.
        context = list(deepest.context)
        depth = len(deepest.absolute_path)
        aimed = (
            [e for e in context if len(e.absolute_path) > depth]
            or [e for e in context if e.validator != "type"]
            or context
        )
        chosen = best_match(aimed)
        assert chosen is not None  # best_match only returns None for an empty iterable
        deepest = chosen
    keyword = str(deepest.validator)
    expected = _expected(keyword, deepest.validator_value)
    found = _found(keyword, deepest)
    message = deepest.message
    if len(message) > _MAX_MESSAGE:  # jsonschema quotes the whole instance
        message = f"{keyword} failed: expected {expected}, found {found}"
    return Violation(
        path=json_path(deepest.absolute_path),
        keyword=keyword,
        message=message,
        expected=expected,
        found=found,
        inferred=inferred,
        source=rule_source(schema_id, deepest.absolute_schema_path),
    )


def _expected(keyword: str, value: Any) -> str:
    if keyword == "required":
        return f"required properties {json_text(value)}"
    if keyword == "type":
        names = value if isinstance(value, list) else [value]
        return "type " + " or ".join(str(name) for name in names)
    if keyword == "enum":
        return f"one of {json_text(value, limit=400)}"
    if keyword == "format":
        return f"a {value} string"
    return f"{keyword} {json_text(value)}"


def _found(keyword: str, error: ValidationError) -> str:
    instance = error.instance
    required = error.validator_value
    if keyword == "required" and isinstance(instance, Mapping) and isinstance(required, list):
        missing = [name for name in required if name not in instance]
        return f"missing {json_text(missing)}"
    if keyword == "type":
        return f"{json_type(instance)} {json_text(instance)}"
    if keyword in ("minItems", "maxItems") and isinstance(instance, list):
        return f"{len(instance)} items"
    return json_text(instance)


def json_type(value: Any) -> str:
    """The JSON type name of a decoded value (``object``, ``string``, ``integer``...)."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    if isinstance(value, Mapping):
        return "object"
    return type(value).__name__


def json_text(value: Any, *, limit: int = 120) -> str:
    """``value`` written as JSON, cut to ``limit`` characters (messages speak JSON)."""
    try:
        text = json.dumps(value, ensure_ascii=False, default=str)
    except (TypeError, ValueError):
        text = _short.repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


@cache
def validator(schema_id: str) -> SchemaValidator:
    """The compiled validator for ``schema_id`` (built once, then shared)."""
    return SchemaValidator(schema_id)
