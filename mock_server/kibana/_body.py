"""Request bodies of the Kibana POST routes, checked the way Kibana's config-schema does.

Objects reject unknown keys (``[request body.foo]: definition for this key is missing``), a
missing required key is ``... expected value of type [object] but got [undefined]``, and a body
that is not an object is ``[request body]: expected a plain object value, but found [null]
instead.``. Only the first problem is reported, as Kibana does.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import orjson
from flask import request

_ABSENT: Any = object()


class BodyError(ValueError):
    """A body Kibana would reject with 400; the message is Kibana's."""


def read_body() -> Any:
    """The parsed JSON body (None when empty); malformed JSON raises ``BodyError``."""
    raw = request.get_data(cache=True)
    if not raw.strip():
        return None
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError:
        raise BodyError("Invalid request payload JSON format") from None


def kind_of(value: Any) -> str:
    """config-schema's name for the type of ``value``."""
    if value is _ABSENT:
        return "undefined"
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "Array"
    return "Object"


def _matches(value: Any, expected: str) -> bool:
    if expected == "object":
        return isinstance(value, dict)
    if expected == "string":
        return isinstance(value, str)
    return True


def check_body(
    body: Any,
    *,
    required: Mapping[str, str],
    optional: Mapping[str, str] | None = None,
    lengths: Mapping[str, tuple[int, int]] | None = None,
) -> dict[str, Any]:
    """``body`` if it fits; else ``BodyError`` with Kibana's first message."""
    optional = optional or {}
    if isinstance(body, str | bytes):
        raise BodyError(
            f"[request body]: expected a plain object value, but found [{kind_of(body)}] instead."
        )
    if not isinstance(body, dict):
        raise BodyError(
            f"[request body]: expected a plain object value, but found [{kind_of(body)}] instead."
        )
    for key in body:
        if key not in required and key not in optional:
            raise BodyError(f"[request body.{key}]: definition for this key is missing")
    for key, expected in {**required, **optional}.items():
        value = body.get(key, _ABSENT)
        if value is _ABSENT and key not in required:
            continue
        if not _matches(value, expected):
            found = kind_of(value)
            raise BodyError(
                f"[request body.{key}]: expected value of type [{expected}] but got [{found}]"
            )
        low, high = (lengths or {}).get(key, (0, 1 << 62))
        if isinstance(value, str) and not low <= len(value) <= high:
            bound = "minimum" if len(value) < low else "maximum"
            limit = low if len(value) < low else high
            raise BodyError(
                f"[request body.{key}]: value has length [{len(value)}] but it must have a "
                f"{bound} length of [{limit}]."
            )
    return body
