"""The neutral timeline: any plan observed at any moment is coherent, and never goes backwards."""

from __future__ import annotations

import itertools

from hypothesis import given
from hypothesis import strategies as st

from mock_server._stamp import iso_micros, iso_millis
from mock_server._timeline import (
    TERMINAL,
    ErrorInfo,
    HitlResponse,
    Outcome,
    RunEvents,
    RunPlan,
    RunTimeline,
    Status,
    StepPlan,
    compress,
    observe,
    parse_iso,
    waiting_position,
    with_response,
)

START = 1_763_640_000_000_000  # 2025-11-20T12:00:00Z

outcomes = st.sampled_from(list(Outcome))


@st.composite
def plans(draw: st.DrawFn) -> RunPlan:
    count = draw(st.integers(0, 8))
    steps = []
    for index in range(count):
        outcome = draw(outcomes)
        steps.append(
            StepPlan(
                step_key=f"step_{index}",
                name=None,
                kind="console",
                topological_index=index,
                duration_us=draw(st.integers(0, 5_000_000)),
                input={"i": index},
                output=f"out {index}",
                outcome=outcome,
                error=ErrorInfo("Error", "boom")
                if outcome in (Outcome.FAIL, Outcome.TIME_OUT)
                else None,
                hitl_timeout_us=draw(st.none() | st.integers(1, 10_000_000)),
            )
        )
    return RunPlan("run", "wf", "Workflow", START, tuple(steps))


def _check_coherent(timeline: RunTimeline, now: int) -> None:
    started = [s for s in timeline.steps if s.started]
    for step in timeline.steps:
        if step.finished_us is not None:
            assert step.started_us is not None
            assert step.finished_us >= step.started_us
            assert step.finished_us <= max(now, step.started_us)
        if step.status in TERMINAL and step.status is not Status.SKIPPED:
            assert step.finished_us is not None
    for before, after in itertools.pairwise(started):
        assert before.started_us is not None
        assert after.started_us is not None
        assert after.started_us >= before.started_us
        assert before.status in TERMINAL  # one step at a time
    if timeline.status in TERMINAL:
        assert timeline.finished_us is not None
        assert all(s.status in TERMINAL or not s.started for s in timeline.steps)
    else:
        assert timeline.finished_us is None
        assert any(s.status not in TERMINAL for s in timeline.steps)
    if timeline.status is Status.FAILED:
        assert timeline.error is not None
        assert any(s.status is Status.FAILED for s in timeline.steps)
    if timeline.status is Status.WAITING_FOR_INPUT:
        assert waiting_position(timeline) is not None


@given(plans(), st.integers(-1_000_000, 60_000_000))
def test_any_plan_at_any_moment_is_coherent(plan: RunPlan, offset: int) -> None:
    now = START + offset
    _check_coherent(observe(plan, now), now)


@given(plans(), st.lists(st.integers(0, 60_000_000), min_size=2, max_size=6))
def test_progress_never_goes_backwards(plan: RunPlan, offsets: list[int]) -> None:
    seen = [observe(plan, START + offset) for offset in sorted(offsets)]
    for earlier, later in itertools.pairwise(seen):
        for a, b in zip(earlier.steps, later.steps, strict=True):
            if a.status in TERMINAL:
                assert b.status is a.status
                assert b.finished_us == a.finished_us
            if a.started:
                assert b.started_us == a.started_us
        if earlier.status in TERMINAL:
            assert later.status is earlier.status


def _approval_plan() -> RunPlan:
    steps = (
        StepPlan("prepare", None, "console", 0, 1_000_000, {}, "ok"),
        StepPlan(
            "approve", None, "waitForInput", 1, 0, {"message": "ok?"}, None, Outcome.WAIT_FOR_INPUT
        ),
        StepPlan("apply", None, "http", 2, 2_000_000, {}, {"status": 200}),
    )
    return RunPlan("run", "wf", "Approval", START, steps)


def test_a_human_answer_resumes_the_run_and_fills_hitl_at_once() -> None:
    plan = _approval_plan()
    waiting = observe(plan, START + 10_000_000)
    assert waiting.status is Status.WAITING_FOR_INPUT
    position = waiting_position(waiting)
    assert position == 1
    answer = HitlResponse("alice", START + 20_000_000, "kibana_execution_view", {"approved": True})
    events = with_response(RunEvents(), position, answer)
    responded = observe(plan, START + 20_500_000, events)
    assert responded.steps[1].hitl == answer  # visible before the engine resumes
    assert responded.steps[1].status is Status.WAITING_FOR_INPUT
    done = observe(plan, START + 60_000_000, events)
    assert done.status is Status.COMPLETED
    assert done.steps[1].output["input"] == {"approved": True}


def test_a_hitl_timeout_answers_as_the_system() -> None:
    base = _approval_plan()
    approve = base.steps[1]
    timed = StepPlan(
        **{**{f: getattr(approve, f) for f in approve.__slots__}, "hitl_timeout_us": 5_000_000}
    )
    plan = RunPlan("run", "wf", "Approval", START, (base.steps[0], timed, base.steps[2]))
    done = observe(plan, START + 60_000_000)
    assert done.status is Status.COMPLETED
    assert done.steps[1].hitl is not None
    assert (done.steps[1].hitl.channel, done.steps[1].hitl.responded_by) == ("timeout", "system")


def test_cancel_ends_the_run_and_its_running_step() -> None:
    plan = _approval_plan()
    cancelled = observe(plan, START + 30_000_000, RunEvents(cancelled_us=START + 15_000_000))
    assert cancelled.status is Status.CANCELLED
    assert cancelled.finished_us == START + 15_000_000
    assert [s.status for s in cancelled.steps] == [
        Status.COMPLETED,
        Status.CANCELLED,
        Status.PENDING,
    ]


def test_held_runs_never_start() -> None:
    plan = RunPlan("run", "wf", "W", START, _approval_plan().steps, held_status=Status.QUEUED)
    timeline = observe(plan, START + 10**9)
    assert timeline.status is Status.QUEUED
    assert not timeline.started_steps


def test_timestamp_formats_round_trip() -> None:
    us = START + 144_470
    assert iso_millis(us) == "2025-11-20T12:00:00.144Z"
    assert iso_micros(us) == "2025-11-20T12:00:00.144470Z"
    assert parse_iso(iso_micros(us)) == us
    assert parse_iso("2025-03-12 00:59:55.465508+00:00") == parse_iso("2025-03-12T00:59:55.465508Z")


@given(plan=plans(), scale=st.sampled_from([2.0, 10.0, 1000.0]), at=st.integers(0, 60_000_000))
def test_a_compressed_plan_is_coherent_and_every_span_shrinks(
    plan: RunPlan, scale: float, at: int
) -> None:
    """Observed at any moment, a compressed plan is coherent (nothing finishes after that
    moment); each span is the original divided by ``scale``, and a non-zero one stays so."""
    fast = compress(plan, scale)
    seen = observe(fast, START + round(at / scale))
    _check_coherent(seen, START + round(at / scale))
    for slow_step, fast_step in zip(plan.steps, fast.steps, strict=True):
        assert fast_step.duration_us <= max(1, round(slow_step.duration_us / scale))
        assert (fast_step.duration_us == 0) == (slow_step.duration_us == 0)
    assert fast.started_us == plan.started_us
    assert fast.resume_lag_us == round(plan.resume_lag_us / scale)


def test_a_compressed_plan_finishes_in_a_tenth_of_the_time() -> None:
    steps = tuple(StepPlan(f"s{i}", None, "console", i, 2_000_000, None, "out") for i in range(3))
    plan = RunPlan("run", "wf", "Workflow", START, steps, gap_us=10_000)
    slow, fast = observe(plan, START + 10**9), observe(compress(plan, 10.0), START + 10**9)
    assert slow.finished_us == START + 3 * 2_000_000 + 2 * 10_000
    assert fast.finished_us == START + 3 * 200_000 + 2 * 1_000
