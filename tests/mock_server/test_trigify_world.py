"""The Trigify world as pure functions: ids, the status filter, coherence, schema validity.

Executions are rendered with the vendor's renderers straight from the world, so invariants can
be checked over many seeds and ids quickly (see test_trigify_api.py for the endpoints).
"""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from conformance._validation import validator
from mock_server._context import WORLD_NOW_US
from mock_server._timeline import parse_iso
from mock_server._vocab import vocabulary
from mock_server.trigify._actions import KINDS, resolve
from mock_server.trigify._naming import TrigifyIds, base36, parse_base36
from mock_server.trigify._render import execution_payload, list_item, workflow_payload
from mock_server.trigify._world import TrigifyWorld

WORKFLOWS, RUNS = 10, 8
seeds = st.integers(0, 2**63 - 1)


def world(seed: int, workflows: int = WORKFLOWS, runs: int = RUNS) -> TrigifyWorld:
    return TrigifyWorld(seed, workflows, runs, WORLD_NOW_US, vocabulary())


def published(w: TrigifyWorld) -> list[int]:
    return [i for i in range(w.workflows) if not w.is_draft(i)]


def render(w: TrigifyWorld, index: int, run: int) -> tuple[dict[str, Any], dict[str, Any]]:
    planned, timeline = w.timeline(index, run)
    return execution_payload(planned, timeline, w.ids), list_item(planned, timeline)


def millis_between(start: str, end: str) -> int:
    return (parse_iso(end) - parse_iso(start)) // 1000


# -- ids and formats -------------------------------------------------------------------------


@given(seeds, st.integers(0, 2**20 - 1), st.integers(0, 2**20 - 1))
def test_ids_decode_to_their_indices(seed: int, index: int, run: int) -> None:
    ids = TrigifyIds(seed)
    assert ids.workflow_index(ids.workflow_id(index)) == index
    run_id = ids.run_id(index, run)
    assert run_id.startswith("run_")
    assert ids.run_indices(run_id) == (index, run)
    assert ids.run_indices(ids.workflow_id(index)) is None


@given(st.text(max_size=30))
def test_made_up_text_is_not_an_id(text: str) -> None:
    ids = TrigifyIds(0)
    assert ids.workflow_index(text) is None
    assert ids.run_indices(text) is None


@given(st.integers(0, 2**64 - 1))
def test_base36_round_trips(value: int) -> None:
    assert parse_base36(base36(value)) == value


@given(st.integers(0, 2**70), st.integers(1, 13))
def test_base36_is_the_low_digits_of_the_number(value: int, width: int) -> None:
    # Written digit by digit (the speed-up writes two at a time): same text, high digits dropped.
    assert base36(value, width) == "".join(
        "0123456789abcdefghijklmnopqrstuvwxyz"[value // 36**k % 36] for k in reversed(range(width))
    )


def test_each_action_is_taken_on_its_own_side() -> None:
    w = world(2)
    for index in range(WORKFLOWS):
        workflow = w.workflow(index)
        for branch in (True, False):
            taken = workflow.taken(branch)
            assert taken == [workflow.side(a.id) in (None, branch) for a in workflow.actions]


def test_references_resolve_from_trigger_and_earlier_steps() -> None:
    context = {"trigger": {"outputs": {"text": "hi"}}, "agent-1": {"result": {"output": "ok"}}}
    assert resolve("A {{ !ref($.trigger.outputs.text) }} B", context) == "A hi B"
    assert resolve("{{ !ref($.steps.agent-1.result.output) }}", context) == "ok"
    assert resolve("{{ !ref($.nowhere) }}!", context) == "!"


# -- the status filter -----------------------------------------------------------------------


@given(seeds, st.integers(1, 60))
def test_status_filter_counts_and_positions(seed: int, workflows: int) -> None:
    w = world(seed, workflows)
    for status in ("DRAFT", "PUBLISHED", None):
        wanted = [
            i for i in range(workflows)
            if status is None or w.is_draft(i) == (status == "DRAFT")
        ]  # fmt: skip
        assert w.count(status) == len(wanted)
        assert [w.nth(status, p) for p in range(len(wanted))] == wanted
    assert not w.is_draft(0)


# -- coherence -------------------------------------------------------------------------------


@settings(max_examples=150, deadline=None)
@given(seeds, st.integers(0, WORKFLOWS - 1), st.integers(0, RUNS - 1))
def test_executions_are_coherent(seed: int, index: int, run: int) -> None:
    w = world(seed)
    if w.is_draft(index):
        assert w.run_count(index) == 0
        return
    detail, item = render(w, index, run)
    assert detail["run_id"] == item["run_id"] == w.ids.run_id(index, run)
    assert detail["workflow_id"] == w.ids.workflow_id(index)
    assert item == {
        "run_id": detail["run_id"],
        "status": detail["status"],
        "started_at": detail["started_at"],
        "completed_at": detail["ended_at"],
        "duration": detail["duration_ms"],
        "error": detail["error"],
    }
    assert detail["created"] == detail["started_at"]
    assert detail["event_name"] == w.workflow(index).trigger_kind
    steps = detail["steps"]
    # One step per action, except that a loop body repeats once per item of its loop.
    ids = [
        s["step_id"]
        for i, s in enumerate(steps)
        if i == 0 or steps[i - 1]["step_id"] != s["step_id"]
    ]
    assert ids == [a.id for a in w.workflow(index).actions]
    for step in steps:
        assert parse_iso(step["started_at"]) >= parse_iso(detail["started_at"])
        if step["ended_at"] is None:
            assert step["duration_ms"] is None
            timed_out = step["status"] == "failed" and "timed out" in str(step["error"])
            assert timed_out or step["status"] in ("running", "pending", "skipped")
        else:
            assert step["duration_ms"] == millis_between(step["started_at"], step["ended_at"])
            assert detail["ended_at"] is None or step["ended_at"] <= detail["ended_at"]
    statuses = [s["status"] for s in steps]
    if detail["status"] == "running":
        assert detail["ended_at"] is None
        assert detail["duration_ms"] is None
        assert {"running", "pending"} & set(statuses)
    else:
        assert detail["duration_ms"] == millis_between(detail["started_at"], detail["ended_at"])
    if detail["status"] == "failed":
        failed = [s for s in steps if s["status"] == "failed"]
        assert len(failed) == 1
        message = failed[0]["error"]
        message = message["message"] if isinstance(message, dict) else message
        assert detail["error"] == f"Step '{failed[0]['step_name']}' failed: {message}"
        after = steps[statuses.index("failed") + 1 :]
        assert all(s["status"] == "skipped" for s in after)
    else:
        assert detail["error"] is None
        assert "failed" not in statuses
    if detail["status"] == "completed":
        assert set(statuses) <= {"completed", "skipped"}


@settings(max_examples=60, deadline=None)
@given(seeds, st.integers(0, WORKFLOWS - 1), st.integers(0, RUNS - 1))
def test_mapped_output_follows_column_config(seed: int, index: int, run: int) -> None:
    w = world(seed)
    if w.is_draft(index):
        return
    detail, _ = render(w, index, run)
    columns = detail["column_config"] or []
    for step in detail["steps"]:
        mine = [c for c in columns if c["stepId"] == step["step_id"]]
        if step["status"] != "completed" or not mine:
            assert step["mapped_output"] is None
            continue
        assert set(step["mapped_output"]) == {c["label"] for c in mine}
        for column in mine:
            value: Any = step["output"]
            for part in column["fieldPath"].split("."):
                value = value[part]
            assert step["mapped_output"][column["label"]] == value


@settings(max_examples=60, deadline=None)
@given(seeds, st.integers(0, WORKFLOWS - 1), st.integers(0, RUNS - 1))
def test_payloads_validate_strictly(seed: int, index: int, run: int) -> None:
    w = world(seed)
    workflow = workflow_payload(w.workflow(index), w.ids.workflow_id(index), w.state(index), w.ids)
    assert validator("urn:stepspec:trigify:workflow").violations(workflow) == []
    assert {a["kind"] for a in workflow["workflow"]["actions"]} <= set(KINDS)
    if w.is_draft(index):
        assert workflow["status"] == "DRAFT"
        assert workflow["enabled"] is False
        return
    detail, item = render(w, index, run)
    assert validator("urn:stepspec:trigify:execution").violations(detail) == []
    assert validator("urn:stepspec:trigify:execution-list-item").violations(item) == []


@settings(max_examples=30, deadline=None)
@given(seeds)
def test_executions_are_newest_first(seed: int) -> None:
    w = world(seed)
    starts = [parse_iso(render(w, 0, run)[1]["started_at"]) for run in range(RUNS)]
    assert starts == sorted(starts, reverse=True)


def test_the_default_world_has_every_documented_state() -> None:
    w = world(0, 12, 40)
    statuses: set[str] = set()
    steps: set[str] = set()
    errors: set[type] = set()
    triggers = {w.workflow(i).trigger_kind for i in range(12)}
    for index in published(w):
        for run in range(40):
            detail, _ = render(w, index, run)
            statuses.add(detail["status"])
            steps |= {s["status"] for s in detail["steps"]}
            errors |= {type(s["error"]) for s in detail["steps"] if s["status"] == "failed"}
    assert statuses == {"running", "completed", "failed"}
    assert steps == {"pending", "running", "completed", "failed", "skipped"}
    assert errors == {str, dict}
    assert triggers == {
        "workflows/new-post", "workflows/engagement", "workflows/webhook",
        "workflows/scheduled-trigger", "workflows/signal-created", "workflows/multi-post-trigger",
    }  # fmt: skip
    assert {w.is_draft(i) for i in range(12)} == {True, False}


def test_two_worlds_with_one_seed_are_equal() -> None:
    assert render(world(9), 0, 3) == render(world(9), 0, 3)
    assert render(world(9), 0, 3) != render(world(10), 0, 3)


def _real_states(w: TrigifyWorld) -> dict[str, list[dict[str, Any]]]:
    """Executions of ``w`` that show each state the real Trigify serves beyond the docs' example."""
    found: dict[str, list[dict[str, Any]]] = {"signal": [], "loop": [], "timeout": []}
    for index in published(w):
        for run in range(w.runs):
            detail, _ = render(w, index, run)
            if detail["event_name"] == "workflows/signal-created":
                found["signal"].append(detail)
            if any("iteration" in step for step in detail["steps"]):
                found["loop"].append(detail)
            if any(s["status"] == "failed" and s["ended_at"] is None for s in detail["steps"]):
                found["timeout"].append(detail)
    return found


@settings(max_examples=10, deadline=None)
@given(seeds)
def test_the_world_serves_signal_workflows_loops_and_timed_out_steps(seed: int) -> None:
    w = world(seed, 12, 20)
    found = _real_states(w)
    assert all(found.values()), {state: len(runs) for state, runs in found.items()}
    strict = validator("urn:stepspec:trigify:execution")
    for details in found.values():
        for detail in details:
            assert strict.violations(detail) == []
    for detail in found["loop"]:
        loop = [s for s in detail["steps"] if "iteration" in s]
        assert len({s["step_id"] for s in loop}) == 1  # the body repeats its step_id
        assert [s["iteration"] for s in loop] == list(range(1, len(loop) + 1))
        assert {s["totalItems"] for s in loop} == {loop[0]["totalItems"]}
        assert len(loop) <= loop[0]["totalItems"]  # a failing iteration ends the loop
    for detail in found["timeout"]:
        (step,) = [s for s in detail["steps"] if s["status"] == "failed"]
        assert step["ended_at"] is None
        assert step["duration_ms"] is None
        assert detail["status"] == "failed"
        assert detail["ended_at"] is not None
        message = step["error"]["message"] if isinstance(step["error"], dict) else step["error"]
        assert message == "Action timed out"
    for index in published(w):
        workflow = workflow_payload(
            w.workflow(index), w.ids.workflow_id(index), w.state(index), w.ids
        )
        assert validator("urn:stepspec:trigify:workflow").violations(workflow) == []
