"""Kibana ids look like the real server's: UUID execution ids, SHA-256 step execution ids.

Execution ids still decode in O(1) and an edited id is a 404; step execution ids are exactly
Kibana's ``buildStepExecutionId`` of (execution id, step path, step id).
"""

from __future__ import annotations

import hashlib
import re

from hypothesis import given, settings
from hypothesis import strategies as st

from mock_server._context import WORLD_NOW_US
from mock_server._timeline import ScopeEntry, ScopeFrame
from mock_server._vocab import vocabulary
from mock_server.kibana._naming import LIVE, STATIC, KibanaIds, step_execution_id, step_path
from mock_server.kibana._world import KibanaWorld

UUID4 = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}")
SHA256 = re.compile(r"[0-9a-f]{64}")
IDS = KibanaIds(3)


@given(st.integers(0, 2**20 - 1), st.integers(0, 2**20 - 1))
def test_execution_ids_are_uuids_that_decode(workflow: int, run: int) -> None:
    text = IDS.execution_id(workflow, run)
    assert UUID4.fullmatch(text)
    assert IDS.execution(text) == (STATIC, workflow, run)


@given(st.integers(1, 2**40 - 1))
def test_live_execution_ids_are_uuids_that_decode(seq: int) -> None:
    text = IDS.live_execution_id(seq)
    assert UUID4.fullmatch(text)
    assert IDS.execution(text) == (LIVE, seq, 0)


@settings(max_examples=50)
@given(st.integers(0, 35), st.sampled_from("0123456789abcdef"))
def test_an_edited_execution_id_is_unknown(index: int, digit: str) -> None:
    text = IDS.execution_id(4, 17)
    if text[index] == "-" or text[index] == digit:
        return
    edited = text[:index] + digit + text[index + 1 :]
    assert IDS.execution(edited) is None
    assert KibanaIds(4).execution(text) is None  # another seed made none of them


def test_step_execution_ids_are_kibanas_sha256() -> None:
    frame = ScopeFrame("loop", (ScopeEntry("enterForeach_loop", "enter-foreach", "2"),))
    assert step_path((frame,)) == ["loop", "2"]
    assert step_path((ScopeFrame("plain", (ScopeEntry("n", "t"),)),)) == []
    expected = hashlib.sha256(b"exec-123_loop_2_some-step").hexdigest()
    assert step_execution_id("exec-123", "some-step", (frame,)) == expected
    assert step_execution_id("exec-123", "top", ()) == hashlib.sha256(b"exec-123_top").hexdigest()


def test_every_seeded_step_has_a_distinct_sha256_id() -> None:
    from mock_server._timeline import observe
    from mock_server.kibana._runs import RunView

    world = KibanaWorld(0, 12, 6, WORLD_NOW_US, vocabulary())
    for workflow in range(12):
        for run in range(6):
            plan, events = world.plan(workflow, run)
            view = RunView(
                execution_id=plan.run_id,
                space_id=plan.space_id,
                workflow_id=plan.workflow_id,
                status=observe(plan, WORLD_NOW_US, events).status,
                started_us=plan.started_us,
                cacheable=False,
                timeline=observe(plan, WORLD_NOW_US, events),
                definition={},
                yaml="",
            )
            assert UUID4.fullmatch(plan.run_id)
            assert all(SHA256.fullmatch(step_id) for step_id in view.step_ids)
            assert len(set(view.step_ids)) == len(view.step_ids)
            for position, step_id in enumerate(view.step_ids):
                assert view.position_of(step_id) == position
            assert view.position_of("0" * 64) is None
