"""Following a run the kit started: adaptive polling, and the rules its progress must obey.

``RunWatch`` polls a run's read endpoints (the run, then its steps list where the API has one)
until a condition holds, the check's deadline (``--lifecycle-timeout``) passes, or the lifecycle
request pool (``--max-lifecycle-requests``) runs out. Polling is adaptive: the first poll goes
out at once, the next after ``FIRST_INTERVAL``; a poll that saw nothing change waits 1.5 times
longer, up to ``max(0.2, min(2, timeout / 30))`` seconds, and a poll that saw a change halves
the wait. A run that ends in milliseconds is followed closely; one that takes a minute costs
about 40 polls (two requests each).

``ProgressRules`` compares each poll with the previous poll of the same endpoint, entity by
entity (the run, and each step by id, and by ``iteration`` where loop steps share an id):

- a terminal status is final: it never changes, and neither do the end time and duration of a
  finished run or step (normative: the vendors document these statuses as terminal);
- a start time never moves once reported (normative: it records the past);
- a status never goes back to ``pending``/``queued`` once the run or step started, durations
  never decrease and a listed step never disappears (inferred: the vendors do not document the
  order of transitions; warnings unless ``--strict``).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from conformance.checks import _vendors
from conformance.checks._lifecycle_vendors import path_values
from conformance.findings import Finding, short

if TYPE_CHECKING:
    from conformance._context import Context, Exchange

FIRST_INTERVAL = 0.05
"""Seconds before the second poll (and after a poll that saw a change, at the least)."""
NOT_STARTED = frozenset({"pending", "queued"})


@dataclass
class Observation:
    """One poll: what the run endpoint and the steps endpoint answered."""

    index: int
    run_exchange: Exchange
    steps_exchange: Exchange | None
    run: _vendors.Entity | None
    steps: list[_vendors.Entity]
    """The steps, from the steps list when the API has one, else embedded in the run."""

    @property
    def status(self) -> str | None:
        """The run's status, if the run endpoint answered with one."""
        if self.run is None:
            return None
        value = self.run.value.get(self.run.fields.status)
        return value if isinstance(value, str) else None

    def step(self, step_id: str) -> _vendors.Entity | None:
        """The step ``step_id`` (its ``entity_key``) as this poll saw it."""
        return next((s for s in self.steps if _vendors.entity_key(s) == step_id), None)

    def fingerprint(self) -> tuple[Any, ...]:
        """What changes when the run moves (status and step statuses)."""
        return (
            self.status,
            tuple((_vendors.entity_key(s), s.value.get(s.fields.status)) for s in self.steps),
        )


@dataclass
class _Seen:
    entity: _vendors.Entity
    poll: int


@dataclass
class ProgressRules:
    """Monotonic-progress rules over successive polls (see the module docstring)."""

    check: str
    terminal: frozenset[str]
    findings: list[Finding] = field(default_factory=list)
    _last: dict[tuple[str, str, str], _Seen] = field(default_factory=dict)

    def feed(
        self, series: str, exchange: Exchange, entities: list[_vendors.Entity], poll: int
    ) -> None:
        """Compare ``entities`` (one endpoint's answer at ``poll``) with that endpoint's last."""
        current: set[tuple[str, str, str]] = set()
        key: tuple[str, str, str]
        for entity in entities:
            ident = _vendors.entity_key(entity)
            if ident is None:
                continue
            key = (series, entity.kind, ident)
            current.add(key)
            seen = self._last.get(key)
            if seen is not None:
                self._compare(seen, entity, exchange)
            self._last[key] = _Seen(entity, poll)
        for key in [
            k for k in self._last if k[0] == series and k[1] == "step" and k not in current
        ]:
            seen = self._last.pop(key)
            self._add(
                exchange,
                "a listed step disappeared",
                seen.entity.path,
                f"step {key[2]!r} (listed at poll {seen.poll}) still listed",
                "absent",
                inferred=True,
            )

    def _compare(self, seen: _Seen, now: _vendors.Entity, exchange: Exchange) -> None:
        before, f = seen.entity, now.fields
        kind = "run" if now.kind != "step" else "step"
        old, new = before.value.get(f.status), now.value.get(f.status)
        where = f"(at poll {seen.poll})"
        was_final = old in self.terminal
        if was_final and new not in self.terminal:
            self._add(
                exchange,
                f"a finished {kind} left its terminal state",
                f"{now.path}.{f.status}",
                f"{old!r} {where} stays",
                short(new),
                inferred=False,
            )
            return
        if was_final and new != old:
            self._add(
                exchange,
                f"a finished {kind} changed its status",
                f"{now.path}.{f.status}",
                f"{old!r} {where} stays",
                short(new),
                inferred=False,
            )
        elif old not in NOT_STARTED and new in NOT_STARTED and isinstance(old, str):
            self._add(
                exchange,
                f"a {kind}'s status went back",
                f"{now.path}.{f.status}",
                f"not back to {new!r} after {old!r} {where}",
                short(new),
                inferred=True,
            )
        start_old, start_new = (_vendors.timestamp(e.value.get(f.start)) for e in (before, now))
        if start_old is not None and start_new != start_old:
            self._add(
                exchange,
                f"a {kind}'s start time moved",
                f"{now.path}.{f.start}",
                f"{before.value.get(f.start)!r} {where}",
                short(now.value.get(f.start)),
                inferred=False,
            )
        if was_final:
            end_old, end_new = (_vendors.timestamp(e.value.get(f.end)) for e in (before, now))
            if end_new != end_old:
                self._add(
                    exchange,
                    f"a finished {kind} changed its end time",
                    f"{now.path}.{f.end}",
                    f"{before.value.get(f.end)!r} {where}",
                    short(now.value.get(f.end)),
                    inferred=False,
                )
            if before.value.get(f.duration) != now.value.get(f.duration):
                self._add(
                    exchange,
                    f"a finished {kind} changed its duration",
                    f"{now.path}.{f.duration}",
                    f"{before.value.get(f.duration)!r} {where}",
                    short(now.value.get(f.duration)),
                    inferred=False,
                )
            return
        d_old, d_new = before.value.get(f.duration), now.value.get(f.duration)
        if isinstance(d_old, int | float) and isinstance(d_new, int | float) and d_new < d_old:
            self._add(
                exchange,
                f"a {kind}'s duration decreased",
                f"{now.path}.{f.duration}",
                f">= {d_old!r} {where}",
                short(d_new),
                inferred=True,
            )

    def _add(
        self,
        exchange: Exchange,
        title: str,
        path: str,
        expected: str,
        found: str,
        *,
        inferred: bool,
    ) -> None:
        self.findings.append(
            exchange.finding(
                self.check,
                title,
                path,
                expected,
                found,
                inferred=inferred,
                detail="seen while polling a run the kit started",
            )
        )


class RunWatch:
    """Polls one run until a condition holds (see the module docstring)."""

    def __init__(self, ctx: Context, *, workflow_id: str, run_id: str, check: str) -> None:
        self.ctx = ctx
        self.run_id = run_id
        profile = ctx.profile
        run_op = profile.operation("run")
        if run_op is None:
            raise ValueError(f"{profile.api} has no run operation to poll")
        self.run_op = run_op
        self.steps_op = profile.operation("steps")
        self.params = path_values(profile, run_op, workflow=workflow_id, run=run_id) or {}
        self.rules = ProgressRules(check, _vendors.TERMINAL[profile.api])
        self.observations: list[Observation] = []
        timeout = ctx.config.lifecycle_timeout
        self.deadline = time.monotonic() + timeout
        self.cap = max(0.2, min(2.0, timeout / 30))
        self.interval = FIRST_INTERVAL
        self.timed_out = False
        self.stopped: str | None = None
        """Why polling stopped early (budget, stalled target), if it did."""

    @property
    def latest(self) -> Observation | None:
        """The last poll, if any."""
        return self.observations[-1] if self.observations else None

    def poll(self) -> Observation | None:
        """Read the run (and its steps) once; None when no request may be sent."""
        ctx = self.ctx
        with ctx.lifecycle_budget():
            run_exchange = ctx.get(self.run_op, self.params, fresh=True)
            steps_exchange = None
            if run_exchange is not None and self.steps_op is not None and run_exchange.ok:
                steps_exchange = ctx.get(self.steps_op, self.params, fresh=True)
        if run_exchange is None:
            self.stopped = self._why_stopped()
            return None
        index = len(self.observations) + 1
        entities = self._entities(run_exchange)
        run = next((e for e in entities if e.kind == "run"), None)
        steps = [e for e in entities if e.kind == "step"]
        if run_exchange.ok:
            self.rules.feed(self.run_op.operation_id, run_exchange, entities, index)
        if steps_exchange is not None and steps_exchange.ok:
            listed = self._entities(steps_exchange)
            self.rules.feed(
                self.steps_op.operation_id if self.steps_op else "", steps_exchange, listed, index
            )
            steps = listed
        observation = Observation(index, run_exchange, steps_exchange, run, steps)
        self.observations.append(observation)
        return observation

    def _entities(self, exchange: Exchange) -> list[_vendors.Entity]:
        if exchange.object is None and not (exchange.ok and isinstance(exchange.json, list)):
            return []
        return _vendors.entities(
            self.ctx.profile.api, exchange.operation.operation_id, exchange.json
        )

    def _why_stopped(self) -> str:
        ctx = self.ctx
        if ctx.lifecycle_exhausted:
            return (
                f"the lifecycle request budget (--max-lifecycle-requests "
                f"{ctx.config.lifecycle_max_requests}) ran out"
            )
        return ctx.unavailable(self.run_op.operation_id) or "no further request could be sent"

    def until(
        self, done: Callable[[Observation], bool], *, max_polls: int | None = None
    ) -> Observation | None:
        """Poll until ``done`` holds; None on timeout (``timed_out``) or when polling stopped."""
        polls = 0
        while True:
            observation = self.poll()
            if observation is None:
                return None
            polls += 1
            if done(observation):
                return observation
            remaining = self.deadline - time.monotonic()
            if remaining <= 0 or (max_polls is not None and polls >= max_polls):
                self.timed_out = remaining <= 0
                return None
            time.sleep(min(self.interval, remaining))
            self.interval = self._next_interval()

    def confirm(self) -> Observation | None:
        """One more poll after a short pause (a terminal state must hold)."""
        time.sleep(FIRST_INTERVAL)
        return self.poll()

    def _next_interval(self) -> float:
        if len(self.observations) >= 2:
            changed = self.observations[-1].fingerprint() != self.observations[-2].fingerprint()
            if changed:
                return max(FIRST_INTERVAL, self.interval / 2)
        return min(self.interval * 1.5, self.cap)

    def describe_stop(self) -> str:
        """Why the last ``until`` returned None, in words."""
        if self.stopped is not None:
            return self.stopped
        status = self.latest.status if self.latest is not None else None
        return (
            f"the run {self.run_id!r} was still {status!r} after --lifecycle-timeout "
            f"{self.ctx.config.lifecycle_timeout:g} s (raise it for slow servers)"
        )
