"""Plans of Kibana runs: a workflow flattened into step executions, fitted to a moment.

``Planner.flatten`` walks a workflow definition the way Kibana's engine does: an ``if`` runs one
branch (the steps of the other branch are recorded as ``skipped``), a ``foreach`` runs its body
once per item with a scope frame and an iteration index, a ``waitForInput`` step waits for a
human. ``Planner.fit`` then chooses outcomes and durations so that, seen at the world's "now",
the run is exactly in its drawn status: a failed run fails at an action step, a cancelled one is
cancelled inside a step, a running/waiting run's active step spans "now", and a finished run
ends before the next newer run of its workflow starts. ``live_steps`` plans a run started over
HTTP: everything completes (unless its scenario names a step that fails), and wait-for-input steps
wait for a real answer.
"""

from __future__ import annotations

import random
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from types import MappingProxyType
from typing import Any

from mock_server._rng import rng_for
from mock_server._timeline import (
    HitlResponse,
    Outcome,
    ScopeEntry,
    ScopeFrame,
    Status,
    StepPlan,
)
from mock_server._vocab import Vocabulary, pick
from mock_server.kibana._content import Content, content, failure, parse_duration_ms, timeout_error
from mock_server.kibana._templates import HITL_TYPES, StepDef, Template

Json = Any
MS = 1000
SECOND = 1000 * MS
MINUTE = 60 * SECOND
GAP_US = 5 * MS
RESUME_LAG_US = SECOND  # mirrors _timeline: a HITL step completes 1 s after the answer
HELD = frozenset({Status.PENDING, Status.QUEUED, Status.SKIPPED})
HITL_CHANNELS = ("kibana_execution_view", "slack", "inbox", "api", "agent_builder")
_ACTION_TYPES = frozenset(
    {"http", "elasticsearch.search", "elasticsearch.esql.query", "elasticsearch.index",
     "ai.prompt", "ai.agent", "kibana.createCase", "cases.createCase", "slack",
     "workflow.execute"}
)  # fmt: skip
_ACTIVE_TYPES = {
    Status.WAITING_FOR_INPUT: "waitForInput",
    Status.WAITING: "wait",
    Status.WAITING_FOR_CHILD: "workflow.execute",
}
_ACTIVE_STATUS = {"wait": Status.WAITING, "workflow.execute": Status.WAITING_FOR_CHILD}
"""A step's status while in progress, by type (any other type: ``running``)."""
_COMPLETE, _SKIP, _WAIT = Outcome.COMPLETE, Outcome.SKIP, Outcome.WAIT_FOR_INPUT
_FAIL, _TIME_OUT, _RUNNING = Outcome.FAIL, Outcome.TIME_OUT, Status.RUNNING
"""Enum members the per-step loops use, as module globals: on Python 3.11 reading an enum
member off its class costs several times a global lookup."""
_NO_EXTRA: Mapping[str, Json] = MappingProxyType({})
"""The ``extra`` of a step without token usage (shared: plans are never changed)."""


@dataclass(slots=True)
class _Draft:
    step: StepDef
    content: Content
    iteration: int
    scope: tuple[ScopeFrame, ...]
    outcome: Outcome = Outcome.COMPLETE


@lru_cache(maxsize=1024)
def _iteration_frame(foreach: str, item: int) -> ScopeFrame:
    """The scope frame of iteration ``item`` of the foreach step ``foreach``: immutable, so one
    object serves every run (bounded, ~300 KB at most: a 1,000-step execution's frames fit)."""
    entry = ScopeEntry(f"enterForeach_{foreach}", "enter-foreach", str(item))
    return ScopeFrame(foreach, (entry,))


class Planner:
    """Flattens and fits run plans for one world seed."""

    def __init__(self, seed: int, vocab: Vocabulary, world_now_us: int) -> None:
        self.seed = seed
        self.vocab = vocab
        self.world_now_us = world_now_us

    def flatten(
        self, template: Template, rng: random.Random, facts: dict[str, Json]
    ) -> list[_Draft]:
        drafts: list[_Draft] = []
        counts: dict[str, int] = {}
        vocab = self.vocab

        def emit(step: StepDef, scope: tuple[ScopeFrame, ...], skipped: bool = False) -> None:
            iteration = counts.get(step.name, 0)
            counts[step.name] = iteration + 1
            if skipped:
                drafts.append(_Draft(step, Content(None, None, 0), iteration, scope, Outcome.SKIP))
                return
            if step.type == "wait":
                facts.setdefault("pause", "5m")
            drawn = content(step, rng, vocab, facts)
            outcome = _WAIT if step.type in HITL_TYPES else _COMPLETE
            drafts.append(_Draft(step, drawn, iteration, scope, outcome))

        def run(steps: tuple[StepDef, ...], scope: tuple[ScopeFrame, ...]) -> None:
            for step in steps:
                if step.type == "if":
                    if "approve" in step.name or "acknowledged" in step.name:
                        taken = bool(facts["approved"]) and not (
                            step.name == "is_acknowledged" and facts["hitl_timeout"]
                        )
                    else:
                        taken = rng.random() < 0.5
                    facts["branch"] = taken
                    emit(step, scope)
                    chosen, other = (step.steps, step.else_) if taken else (step.else_, step.steps)
                    run(chosen, scope)
                    for skipped in other:
                        emit(skipped, scope, skipped=True)
                elif step.type == "foreach":
                    emit(step, scope)
                    for item in range(int(facts["items"])):
                        run(step.steps, (*scope, _iteration_frame(step.name, item)))
                else:
                    emit(step, scope)

        run(template.steps, ())
        return drafts

    # Fitting a plan to its moment --------------------------------------------------------

    def fit(
        self,
        drafts: list[_Draft],
        fate: Status,
        elapsed: int,
        started: int,
        rng: random.Random,
        facts: dict[str, Json],
        order: Mapping[str, int],
        *,
        boundary: bool = False,
    ) -> tuple[tuple[StepPlan, ...], int | None]:
        """Outcomes and durations such that, seen ``elapsed`` after ``started``, the run is
        exactly in status ``fate``; returns the steps and the cancel moment (if cancelled).
        ``boundary``: a cancel lands just before its step starts, not inside it."""
        if fate in HELD:
            return self._steps(drafts, order, started, {}, {}), None
        stop, active = len(drafts), None
        ran = (  # the steps that ran: where a run that does not complete can stop
            []
            if fate is Status.COMPLETED
            else [i for i, d in enumerate(drafts) if d.outcome is not Outcome.SKIP]
        )
        if fate in (Status.FAILED, Status.TIMED_OUT):
            actions = [i for i in ran if drafts[i].step.type in _ACTION_TYPES]
            candidates = actions or [i for i in ran if drafts[i].outcome is Outcome.COMPLETE]
            stop = pick(rng, candidates) + 1
            victim = drafts[stop - 1]
            if fate is Status.FAILED:
                victim.outcome = Outcome.FAIL
            else:
                victim.outcome = Outcome.TIME_OUT
                victim.content.duration_us = pick(rng, (30, 60, 120)) * SECOND
        elif fate is Status.CANCELLED:
            stop = pick(rng, ran) + 1
        elif fate is not Status.COMPLETED:
            wanted = _ACTIVE_TYPES.get(fate)
            if wanted is None:
                pool = [i for i in ran if drafts[i].step.type in _ACTION_TYPES] or [
                    i for i in ran if drafts[i].outcome is Outcome.COMPLETE
                ]
                active = pool[min(len(pool) - 1, int(rng.random() * min(3, len(pool))))]
            else:
                active = next(i for i in ran if drafts[i].step.type == wanted)
            stop = active + 1
        answers: dict[int, HitlResponse | None] = {}
        timeouts: dict[int, int] = {}
        effective: list[int] = []
        for i, draft in enumerate(drafts[:stop]):
            if draft.outcome is _SKIP:
                effective.append(0)
            elif draft.outcome is _WAIT and i != active:
                limit = draft.step.timeout
                if limit is not None and facts["hitl_timeout"] and fate is not Status.CANCELLED:
                    timeouts[i] = parse_duration_ms(limit) * MS
                    effective.append(timeouts[i] + RESUME_LAG_US)
                else:
                    answers[i] = None  # filled in once start times are known
                    effective.append(draft.content.duration_us + RESUME_LAG_US)
            else:
                effective.append(draft.content.duration_us)
        if fate is Status.CANCELLED and stop - 1 in answers:
            del answers[stop - 1]  # cancelled while waiting for a human
        budget = elapsed * 9 // 10 if active is None else elapsed * 8 // 10
        prior = effective if active is None else effective[:active]
        total = sum(prior) + GAP_US * max(len(prior) - 1, 0)
        if total > budget:
            factor = budget / total
            timeouts.clear()  # a fixed timeout cannot shrink: a human answers instead
            for i in range(len(prior)):
                if effective[i]:
                    effective[i] = max(MS, int(effective[i] * factor) // MS * MS)
                    if drafts[i].outcome is Outcome.WAIT_FOR_INPUT and i != active:
                        answers[i] = None
        starts, clock = [], started
        for draft, duration in zip(drafts[:stop], effective, strict=True):
            starts.append(clock)
            clock += duration + GAP_US
            draft.content.duration_us = duration
        for i in answers:
            delay = max(MS, effective[i] - RESUME_LAG_US)
            answers[i] = self._answer(rng, drafts[i], starts[i] + delay, facts)
        cancel = None
        if fate is Status.CANCELLED:
            last = stop - 1
            span = max(2 * MS, effective[last])
            cancel = starts[last] + max(MS, int(span * (0.2 + 0.6 * rng.random())) // MS * MS)
            if boundary:
                cancel = starts[last]
        if active is not None:
            age = self.world_now_us - starts[active]
            extra = max(SECOND, drafts[active].content.duration_us)
            length = age + MS + int(extra * rng.random()) // MS * MS
            if fate is Status.WAITING:
                minutes = -(-length // MINUTE)
                facts["inputs"]["pause"] = facts["pause"] = f"{minutes}m"
                for draft in drafts:
                    if draft.step.type == "wait":
                        draft.content = Content({"duration": f"{minutes}m"}, None, minutes * MINUTE)
            else:
                drafts[active].content.duration_us = length
        return self._steps(drafts, order, started, answers, timeouts), cancel

    def _answer(
        self, rng: random.Random, draft: _Draft, at: int, facts: Mapping[str, Json]
    ) -> HitlResponse:
        channel = pick(rng, HITL_CHANNELS)
        who = pick(rng, self.vocab.usernames)
        if "acknowledge" in draft.step.name:
            payload: dict[str, Json] = {"acknowledged": bool(facts["approved"])}
        else:
            payload = {"approved": bool(facts["approved"])}
            if rng.random() < 0.6:
                payload["comment"] = pick(rng, self.vocab.sentences)
        return HitlResponse(who, at, channel, payload)

    def _steps(
        self,
        drafts: list[_Draft],
        order: Mapping[str, int],
        started: int,
        answers: Mapping[int, HitlResponse | None],
        timeouts: Mapping[int, int],
    ) -> tuple[StepPlan, ...]:
        steps = []
        for i, draft in enumerate(drafts):
            step, drawn, outcome = draft.step, draft.content, draft.outcome
            error = None
            if outcome is _FAIL:
                error = failure(step, rng_for(self.seed, "kibana", "error", started, i))
            elif outcome is _TIME_OUT:
                error = timeout_error(step, drawn.duration_us // MS)
            steps.append(
                StepPlan(  # positional (in field order): 15 keywords cost more than the rest
                    step.name,  # step_key
                    step.name,  # name
                    step.type,  # kind
                    order.get(step.name, 0),  # topological_index
                    drawn.duration_us,
                    drawn.input,
                    drawn.output,
                    outcome,
                    error,
                    draft.iteration,
                    draft.scope,
                    _ACTIVE_STATUS.get(step.type, _RUNNING),  # active_status
                    answers.get(i) if answers else None,  # planned_response
                    timeouts.get(i) if timeouts else None,  # hitl_timeout_us
                    _NO_EXTRA if drawn.usage is None else {"usage": dict(drawn.usage)},  # extra
                )
            )
        return tuple(steps)

    def live_steps(
        self,
        drafts: list[_Draft],
        order: Mapping[str, int],
        started: int,
        *,
        fail_step: str | None = None,
        durations_ms: Mapping[str, int] | None = None,
    ) -> tuple[StepPlan, ...]:
        """Plan a run started over HTTP: wait-for-input steps wait for a real answer (or their
        timeout); ``fail_step`` (a scenario's) fails at its first execution; ``durations_ms``
        fixes the duration of the named steps."""
        for draft in drafts:
            fixed = (durations_ms or {}).get(draft.step.name)
            if fixed is not None and draft.outcome is Outcome.COMPLETE:
                draft.content.duration_us = fixed * MS
        failing = next(
            (d for d in drafts if d.step.name == fail_step and d.outcome is Outcome.COMPLETE),
            None,
        )
        if failing is not None:
            failing.outcome = Outcome.FAIL
        timeouts = {
            i: parse_duration_ms(d.step.timeout) * MS
            for i, d in enumerate(drafts)
            if d.outcome is Outcome.WAIT_FOR_INPUT and d.step.timeout is not None
        }
        return self._steps(drafts, order, started, {}, timeouts)
