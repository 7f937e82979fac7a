"""The Arcee world as pure functions: ids, coherence invariants, schema validity, every status.

No HTTP here: worlds are built directly and runs rendered with the vendor's renderers, so the
properties can be checked over many seeds and ids quickly (see test_arcee_api.py for the
endpoints).
"""

from __future__ import annotations

import re
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from conformance._validation import validator
from mock_server._context import WORLD_NOW_US
from mock_server._timeline import parse_iso
from mock_server._vocab import vocabulary
from mock_server.arcee._graph import ARCHETYPES, BULK_NODES, END, START
from mock_server.arcee._naming import (
    BULK_WORKFLOW,
    RECENT_RUN_IDS,
    ArceeIds,
    uuid_text,
    uuid_token,
)
from mock_server.arcee._nodes import resolve
from mock_server.arcee._render import Tenant, run_payload, step_payload, workflow_payload
from mock_server.arcee._service import visible_steps
from mock_server.arcee._world import ArceeWorld

UUID4 = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")
WORKFLOWS, RUNS = 10, 8
seeds = st.integers(0, 2**63 - 1)


def world(seed: int, workflows: int = WORKFLOWS, runs: int = RUNS) -> ArceeWorld:
    return ArceeWorld(seed, workflows, runs, WORLD_NOW_US, vocabulary())


def tenant(w: ArceeWorld) -> Tenant:
    return Tenant(w.ids.user_id, w.ids.organization_id, w.ids.colleague_id)


def render(w: ArceeWorld, index: int, run: int) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """(steps body, single-run element) of one run."""
    planned, timeline = w.timeline(index, run)
    run_id = timeline.plan.run_id
    steps = [
        step_payload(step, w.ids.step_id(run_id, step.position), run_id, tenant(w), w.now_us)
        for step in visible_steps(timeline)
    ]
    detail = run_payload(
        timeline, planned.values, planned.workflow.selected_output, w.now_us, detail=True
    )
    return steps, detail


def seconds_between(start: str, end: str) -> int:
    return (parse_iso(end) - parse_iso(start)) // 1_000_000


# -- ids -------------------------------------------------------------------------------------


@given(seeds, st.integers(0, 2**20 - 1), st.integers(0, 2**20 - 1))
def test_run_ids_decode_to_their_indices(seed: int, index: int, run: int) -> None:
    ids = ArceeIds(seed)
    run_id = ids.run_id(index, run)
    assert UUID4.match(run_id)
    assert ids.run_indices(run_id) == (index, run)
    assert ids.workflow_index(ids.workflow_id(index)) == index


@given(seeds, st.integers(0, 2**20 - 1), st.integers(0, 35))
def test_an_edited_id_is_rejected(seed: int, index: int, position: int) -> None:
    ids = ArceeIds(seed)
    text = ids.workflow_id(index)
    if text[position] == "-":
        return
    edited = text[:position] + ("0" if text[position] != "0" else "1") + text[position + 1 :]
    assert ids.workflow_index(edited) is None


@given(st.text(max_size=40))
def test_made_up_text_is_not_an_id(text: str) -> None:
    assert ArceeIds(0).run_indices(text) is None


def test_remembered_run_ids_stay_bounded_and_right() -> None:
    ids, fresh = ArceeIds(3), ArceeIds(3)
    issued = {(index, run): ids.run_id(index, run) for index in range(4) for run in range(300)}
    assert len(ids._run_ids) <= RECENT_RUN_IDS
    assert len(ids._run_indices) <= RECENT_RUN_IDS
    for (index, run), text in issued.items():  # remembered or not, the same answer both ways
        assert ids.run_indices(text) == (index, run) == fresh.run_indices(text)
        assert ids.run_id(index, run) == text == fresh.run_id(index, run)
    assert len(ids._run_ids) <= RECENT_RUN_IDS


def test_ids_differ_between_seeds() -> None:
    assert ArceeIds(1).run_id(0, 0) != ArceeIds(2).run_id(0, 0)
    assert ArceeIds(1).user_id != ArceeIds(2).user_id


@given(st.integers(0, 2**64 - 1))
def test_uuid_text_round_trips(token: int) -> None:
    key = b"k" * 16
    assert uuid_token(uuid_text(token, key), key) == token


# -- coherence -------------------------------------------------------------------------------


@settings(max_examples=150, deadline=None)
@given(seeds, st.integers(0, WORKFLOWS - 1), st.integers(0, RUNS - 1))
def test_run_and_steps_are_coherent(seed: int, index: int, run: int) -> None:
    w = world(seed)
    steps, detail = render(w, index, run)
    run_id = detail["id"]
    for step in steps:
        assert step["inputs"]["run_id"] == run_id
        assert step["inputs"]["input_data"].items() >= detail["inputs"].items()
        if step["end_time"] is not None:
            assert parse_iso(step["end_time"]) >= parse_iso(step["start_time"])
            assert step["elapsed_time"] == seconds_between(step["start_time"], step["end_time"])
        assert parse_iso(step["start_time"]) >= parse_iso(detail["start_time"])
    assert len({step["id"] for step in steps}) == len(steps)
    statuses = [step["status"] for step in steps]
    if detail["status"] == "completed":
        assert set(statuses) == {"completed"}
        assert detail["end_time"] == max(step["end_time"] for step in steps)
    if detail["status"] == "failed":
        assert statuses[-1] == "failed"
        assert steps[-1]["error"]
        assert detail["error"] == f"Node '{steps[-1]['node_id']}' failed: {steps[-1]['error']}"
        assert detail["end_time"] == steps[-1]["end_time"]
    else:
        assert detail["error"] is None
    if detail["status"] == "running":
        assert detail["end_time"] is None
        assert statuses[-1] in ("running", "pending")
        assert detail["outputs"] == {}
    else:
        assert parse_iso(detail["end_time"]) >= parse_iso(detail["start_time"])
        assert detail["elapsed_time"] == seconds_between(detail["start_time"], detail["end_time"])
    completed = {s["node_id"] for s in steps if s["status"] == "completed"}
    assert set(detail["all_outputs"]) == set(detail["inputs"]) | completed


@settings(max_examples=40, deadline=None)
@given(seeds)
def test_history_is_newest_first(seed: int) -> None:
    w = world(seed)
    starts = [w.timeline(0, run)[1].plan.started_us for run in range(RUNS)]
    assert starts == sorted(starts, reverse=True)
    assert len(set(starts)) == RUNS
    assert all(start < WORLD_NOW_US for start in starts)


@settings(max_examples=60, deadline=None)
@given(seeds, st.integers(0, WORKFLOWS - 1), st.integers(0, RUNS - 1))
def test_payloads_validate_strictly(seed: int, index: int, run: int) -> None:
    w = world(seed)
    steps, detail = render(w, index, run)
    assert validator("urn:stepspec:arcee:step-list").violations(steps) == []
    assert validator("urn:stepspec:arcee:run-detail").violations([detail]) == []
    for step in steps:
        assert validator("urn:stepspec:arcee:step").violations(step) == []


@settings(max_examples=30, deadline=None)
@given(seeds, st.integers(0, WORKFLOWS - 1))
def test_workflows_validate_and_match_their_graph(seed: int, index: int) -> None:
    w = world(seed)
    workflow = w.workflow(index)
    created, updated = w.created_us(index)
    payload = workflow_payload(
        workflow, w.ids.workflow_id(index), tenant(w), created, updated, w.ids.filler_key
    )
    assert validator("urn:stepspec:arcee:workflow").violations(payload) == []
    graph = payload["graph"]
    assert graph["entry_point"] == workflow.successors(START)[0]
    assert graph["selectedOutput"] in graph["nodes"]
    assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{6}\+00:00", payload["created_at"])
    assert created <= updated < w.timeline(index, RUNS - 1)[1].plan.started_us


@pytest.mark.parametrize(
    ("template", "expected"),
    [
        ("no placeholders", "no placeholders"),
        ("{{prompt}}", "Tell me"),
        ("Q: {{prompt}} / {{code_1.data.results}} / {{missing}}!", 'Q: Tell me / {"a":1} / !'),
        ("{{count}}{{prompt}}", "3Tell me"),
        ("open {{prompt", "open Tell me"),  # an unclosed placeholder runs to the end
    ],
)
def test_templates_resolve_every_placeholder(template: str, expected: str) -> None:
    variables = {"prompt": "Tell me", "code_1": {"a": 1}, "count": 3}
    assert resolve(template, variables) == expected


@pytest.mark.parametrize("branch", [True, False])
def test_a_path_follows_the_edges_and_its_branch(branch: bool) -> None:
    w = world(4)
    for index in range(len(ARCHETYPES)):
        workflow = w.workflow(index)
        path = workflow.path(branch)
        assert path is workflow.path(branch)  # worked out once per workflow and side
        hops = list(zip((START, *path), (*path, END), strict=True))
        assert set(hops) <= set(workflow.edges)
        for source, target in hops:
            out = workflow.successors(source)
            assert target == (out[0] if branch or len(out) == 1 else out[1])


def test_the_default_world_has_every_status_and_node_kind() -> None:
    w = world(0, 12, 40)
    statuses = {w.timeline(i, r)[1].status.value for i in range(12) for r in range(40)}
    assert statuses == {"completed", "failed", "running"}
    kinds = {node.kind for i in range(len(ARCHETYPES)) for node in w.workflow(i).nodes}
    assert {kind.value for kind in kinds} == {
        "model", "code", "integration", "knowledge_retrieval", "conditional",
    }  # fmt: skip


@pytest.mark.parametrize("run", [0, 1, 2])
def test_the_bulk_workflow_has_a_thousand_nodes(run: int) -> None:
    w = world(5)
    steps, detail = render(w, BULK_WORKFLOW, run)
    assert len(w.workflow(BULK_WORKFLOW).nodes) == BULK_NODES
    assert detail["status"] == ("running", "failed", "completed")[run]
    assert len(steps) == (BULK_NODES // 2 + 1, BULK_NODES * 4 // 5 + 1, BULK_NODES)[run]
    assert validator("urn:stepspec:arcee:step-list").violations(steps) == []


def test_model_steps_have_the_documented_shape() -> None:
    steps, _ = render(world(0), 0, 2)
    model = next(step for step in steps if step["node_id"] == "model")
    outputs = model["outputs"]
    assert list(outputs) == [
        "id", "object", "created", "model", "choices", "usage", "prompt_logprobs",
        "confidence_info",
    ]  # fmt: skip
    assert outputs["id"].startswith("chatcmpl-")
    assert outputs["object"] == "chat.completion"
    usage = outputs["usage"]
    assert usage["total_tokens"] == usage["prompt_tokens"] + usage["completion_tokens"]
    assert model["tokens"] == 0
    assert model["step_metadata"] is None


def test_two_worlds_with_one_seed_are_equal() -> None:
    assert render(world(9), 3, 4) == render(world(9), 3, 4)
    assert render(world(9), 3, 4) != render(world(10), 3, 4)
