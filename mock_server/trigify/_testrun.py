"""The body of ``POST /v1/workflows/{id}/test``, read and checked (WF-TEST).

"All fields are optional — call with an empty body {} to run against default sample data."
``overrides`` is a sample trigger payload; ``test_config.action_mocks`` maps an action id to
``{enabled, output}``: an enabled mock's ``output`` replaces the action (a mock without
``enabled`` counts as enabled). A field given with the wrong type (null included) is refused.
``mode`` and ``strict_data_validation`` are accepted and change nothing here: every mock test
run executes against the supplied data. What cannot be stored byte-exact (lone surrogates,
integers beyond 64 bits, nesting deeper than orjson writes) is refused like any other malformed
body, with a 400.
"""

from __future__ import annotations

from typing import Any

import orjson

Json = Any


def test_request(raw: bytes) -> tuple[dict[str, Json], dict[str, Json]] | str:
    """``(overrides, enabled mocks by action id)``, or what is wrong with the body."""
    if not raw:  # no body at all (as body-parser: whitespace is malformed JSON)
        return {}, {}
    try:
        body = orjson.loads(raw)
    except orjson.JSONDecodeError:
        return "The request body must be JSON"
    if not isinstance(body, dict):
        return "The request body must be a JSON object"
    try:
        orjson.dumps(body)
    except orjson.JSONEncodeError:
        return "The request body holds values that cannot be stored"
    overrides = body.get("overrides", {})
    if not isinstance(overrides, dict):
        return "overrides must be an object"
    config = body.get("test_config", {})
    if not isinstance(config, dict):
        return "test_config must be an object"
    for name, kind in (("mode", str), ("strict_data_validation", bool)):
        if name in config and not isinstance(config[name], kind):
            return f"test_config.{name} must be a {'string' if kind is str else 'boolean'}"
    declared = config.get("action_mocks", {})
    if not isinstance(declared, dict):
        return "test_config.action_mocks must be an object keyed by action id"
    mocks: dict[str, Json] = {}
    for action_id, mock in declared.items():
        if not isinstance(mock, dict):
            return f"test_config.action_mocks.{action_id} must be an object"
        enabled = mock.get("enabled", True)
        if not isinstance(enabled, bool):
            return f"test_config.action_mocks.{action_id}.enabled must be a boolean"
        if enabled:
            mocks[action_id] = mock.get("output", {})
    return overrides, mocks
