"""The kit's terminal states, the schemas' status lists and the mock agree (Arcee, Trigify).

A terminal state the schema does not list would be a state the kit waits for but no conforming
server can send; a status the mock sends must be one the schema lists.
"""

from __future__ import annotations

from typing import Any

from conformance import _specs
from conformance.checks._vendors import TERMINAL
from mock_server._timeline import Status
from mock_server.arcee._render import status_text


def _enum(schema: Any) -> set[str]:
    """Every value an ``enum`` lists in ``schema`` or its ``allOf`` parts."""
    values = set(schema.get("enum", ()))
    for part in schema.get("allOf", ()):
        values |= set(part.get("enum", ()))
    return values


def test_arcee_terminal_states_are_listed_statuses() -> None:
    listed = _enum(_specs.schema("urn:stepspec:arcee:status"))
    assert TERMINAL["arcee"] <= listed
    assert "cancelled" not in TERMINAL["arcee"]  # Arcee documents no cancel, no such status
    assert {status_text(status) for status in Status} <= listed


def test_trigify_terminal_states_are_listed_statuses() -> None:
    runs = _enum(_specs.schema("urn:stepspec:trigify:execution-status"))
    steps = _enum(_specs.schema("urn:stepspec:trigify:step-status"))
    assert TERMINAL["trigify"] <= runs | steps
    assert {"completed", "failed"} <= TERMINAL["trigify"]
