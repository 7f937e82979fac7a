"""``coverage._facts.body_states``: the run and step states an answer names, at any depth."""

from __future__ import annotations

from collections import OrderedDict
from typing import Any

from mock_server.coverage._facts import _MAX_DEPTH, body_states


def _nested(node: Any, depth: int) -> Any:
    """``node`` as the only item ``depth`` containers down (alternating lists and dicts)."""
    for level in range(depth):
        node = [node] if level % 2 else {"child": node}
    return node


def test_steps_and_runs_are_told_apart_by_their_markers() -> None:
    body = {
        "status": "completed",
        "startedAt": "x",
        "stepExecutions": [
            {"stepId": "a", "status": "failed"},
            {"node_id": "b", "status": "running", "output": {"status": 200, "step_id": "c"}},
        ],
        "workflow": {"status": "PUBLISHED"},  # no start time: not a run
        "items": [{"step_id": "d", "status": "skipped", "started_at": "x"}],  # a step first
        "runs": [{"start_time": 1, "status": "queued"}, "status", 3, None],
    }
    assert body_states(body) == (
        frozenset({"completed", "queued"}),
        frozenset({"failed", "running", "skipped"}),
    )


def test_a_container_deeper_than_the_limit_is_ignored() -> None:
    step = {"stepId": "a", "status": "deep"}
    assert body_states(_nested(step, _MAX_DEPTH)) == (frozenset(), frozenset({"deep"}))
    assert body_states(_nested(step, _MAX_DEPTH + 1)) == (frozenset(), frozenset())


class Items(list[Any]):
    """A list subclass (orjson never makes one; a test body may hold one)."""


def test_subclasses_of_dict_and_list_are_walked_too() -> None:
    step = OrderedDict(stepId="a", status="waiting")
    run = OrderedDict(startedAt="x", status="running", steps=Items([step]))
    assert body_states([{"runs": [run]}]) == (frozenset({"running"}), frozenset({"waiting"}))
    assert body_states(run) == (frozenset({"running"}), frozenset({"waiting"}))
    deep = _nested(OrderedDict(stepId="a", status="deep"), _MAX_DEPTH + 1)
    assert body_states(deep) == (frozenset(), frozenset())
    assert body_states("status") == body_states(None) == (frozenset(), frozenset())
