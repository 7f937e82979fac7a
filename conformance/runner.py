"""The runner: one library call that checks a live server and returns a report.

``run(config)`` first establishes that the target speaks the API and knows the ids the user gave
(``_precheck``: otherwise ``TargetUnreachable``/``UsageError``, never findings), discovers ids,
fetches every readable operation once, runs the selected checks and returns a ``Report``; it
prints nothing (an optional ``Progress`` is told how far it is). A check that raises is the
kit's failure: its cases are reported as not tested, with the reason. The CLI and the pytest
plugin are thin front ends over it. ``plan(...)`` gives the same matrix of cases (check x
operation) from the spec alone, without a request, which is what the pytest plugin
parametrizes over.

The run's settings (``RunConfig``) and the exit codes every front end agrees on live in
``conformance._config``; they are re-exported here, where library users have always found them.
"""

from __future__ import annotations

import random
import time
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any, Literal

from conformance import _operations
from conformance._config import (
    EXIT_COULD_NOT_TEST,
    EXIT_FINDINGS,
    EXIT_OK,
    EXIT_USAGE,
    RunConfig,
)
from conformance.findings import Finding, Severity, finding_sort_key

if TYPE_CHECKING:
    from conformance._progress import Progress
    from conformance.har import HarWriter

__all__ = [
    "EXIT_COULD_NOT_TEST",
    "EXIT_FINDINGS",
    "EXIT_OK",
    "EXIT_USAGE",
    "CaseResult",
    "Report",
    "RunConfig",
    "plan",
    "run",
]

MAX_FINDINGS_PER_CASE = 25
Outcome = Literal["passed", "failed", "warned", "skipped"]


@dataclass(frozen=True)
class CaseResult:
    """The verdict on one check for one operation."""

    check: str
    operation: str
    label: str
    outcome: Outcome
    findings: tuple[Finding, ...] = ()
    reason: str = ""
    """Why the case was skipped (what was not tested and what to do)."""
    truncated: int = 0
    """Findings left out beyond ``MAX_FINDINGS_PER_CASE``."""
    duration: float = 0.0
    """Seconds the check spent on this case (a check of several operations shares its time)."""


@dataclass(frozen=True)
class Report:
    """The result of one run (what every front end renders)."""

    api: str
    base_url: str
    strict: bool
    cases: tuple[CaseResult, ...]
    ids: Mapping[str, Any]
    requests: int
    operations_called: Mapping[str, int]
    not_tested: Mapping[str, str]
    """operationId -> why it (or part of it) was not tested."""
    notes: tuple[str, ...]
    duration: float
    checks: tuple[str, ...]
    fuzz_seed: int | None = None
    """The seed of the generated fuzz cases (None when nothing was fuzzed)."""
    flags: tuple[str, ...] = ()
    """The options that shaped the run (``--fuzz 20``, ``--allow-writes``...), for headers."""

    @property
    def findings(self) -> list[Finding]:
        """Every finding, in report order."""
        return sorted((f for case in self.cases for f in case.findings), key=finding_sort_key)

    @property
    def errors(self) -> list[Finding]:
        """The findings that fail the run."""
        return [f for f in self.findings if f.severity is Severity.ERROR]

    @property
    def exit_code(self) -> int:
        """0 when the target conforms, 1 when it has error findings."""
        return EXIT_FINDINGS if self.errors else EXIT_OK

    def untested_warning(self) -> str | None:
        """A warning when most cases were not tested: a green verdict would mislead."""
        skipped = self.counts()["skipped"]
        if not self.cases or skipped * 2 <= len(self.cases):
            return None
        return (
            f"{skipped} of {len(self.cases)} cases were not tested (see 'not tested' in the "
            "report); the verdict covers only the rest"
        )

    def counts(self) -> dict[str, int]:
        """Cases per outcome."""
        found = {"passed": 0, "failed": 0, "warned": 0, "skipped": 0}
        for case in self.cases:
            found[case.outcome] += 1
        return found


def plan(
    api: str, checks: Sequence[str] | None = None, *, fuzz: bool = False, writes: bool = False
) -> list[tuple[str, str, str]]:
    """The cases a run covers, from the spec alone: ``(check, operationId, label)``."""
    from conformance.checks import select

    profile = _operations.profile(api)
    operations = _operations.logical_operations(api)
    return [
        (chk.name, op.operation_id, op.label)
        for chk in select(checks, include_opt_in=fuzz, allow_writes=writes)
        for op in operations
        if chk.applies(profile, op)
    ]


def run(
    config: RunConfig,
    progress: Progress | None = None,
    *,
    recorder: HarWriter | None = None,
) -> Report:
    """Check the server ``config`` names and return the report (see the module docstring).

    ``progress`` (optional) is told the phase, the cases done, the requests sent and the
    findings so far; the runner itself prints nothing. With ``recorder`` every exchange the run
    had is added to it as a HAR entry (``check --record``), also when nothing could be tested;
    the caller writes the file.
    """
    from conformance._client import BoundedClient
    from conformance._context import Context
    from conformance._discovery import discover
    from conformance._precheck import precheck
    from conformance.checks import select

    started = time.monotonic()
    if config.fuzz > 0 and config.fuzz_seed is None:
        config = replace(config, fuzz_seed=random.SystemRandom().randrange(2**32))
    profile = _operations.profile(config.api)
    # Write checks run last: the runs they start must not change the lists that the read
    # checks page through and compare.
    selected = sorted(
        select(config.checks, include_opt_in=config.fuzz > 0, allow_writes=config.allow_writes),
        key=lambda chk: chk.writes,
    )
    operations = _operations.logical_operations(config.api)  # InvalidSpec -> exit 3
    client = BoundedClient(timeout=config.timeout, secrets=config.secrets())
    ctx = Context(config, client, profile)
    raw: list[Finding] = []
    total = sum(1 for chk in selected for op in operations if chk.applies(profile, op))
    state = {"done": 0}

    def show(phase: str | None = None, *, force: bool = False) -> None:
        if progress is not None:
            progress.update(
                phase,
                done=state["done"],
                total=total,
                requests=ctx.requests_sent,
                findings=len(raw),
                force=force,
            )

    ctx.on_request = show
    show("checking that the target speaks the API", force=True)
    precheck(ctx)
    show("discovery", force=True)
    discover(ctx)

    ctx.current = "baseline"
    show("reading every operation once", force=True)
    for operation in operations:
        if operation.method == "get":
            params = ctx.params_for(operation)
            if params is not None:
                ctx.get(operation, params)

    spent: dict[tuple[str, str], float] = defaultdict(float)

    def share(chk: Any, seconds: float) -> None:
        applicable = [op.operation_id for op in operations if chk.applies(profile, op)]
        for operation_id in applicable:
            spent[(chk.name, operation_id)] += seconds / len(applicable)

    for chk in selected:
        ctx.current = chk.name
        show(chk.name, force=True)
        began = time.monotonic()
        if chk.scope == "operation":
            for operation in operations:
                if chk.applies(profile, operation):
                    raw.extend(_safely(chk, ctx, operation))
                    spent[(chk.name, operation.operation_id)] += time.monotonic() - began
                    began = time.monotonic()
                    state["done"] += 1
                    show()
        elif chk.scope == "target":
            raw.extend(_safely(chk, ctx))
            share(chk, time.monotonic() - began)
            state["done"] += sum(1 for op in operations if chk.applies(profile, op))
    exercised: dict[str, set[str]] = defaultdict(set)
    for chk in selected:
        if chk.scope != "response":
            continue
        ctx.current = chk.name
        show(chk.name, force=True)
        for exchange in list(ctx.exchanges):
            if exchange.status == 429:
                continue  # a rate limit the kit could not wait out says nothing about the API
            if _matches(chk.statuses, exchange.status, exchange.result.error is not None):
                exercised[chk.name].add(exchange.operation.operation_id)
                began = time.monotonic()
                raw.extend(_safely(chk, ctx, exchange))
                spent[(chk.name, exchange.operation.operation_id)] += time.monotonic() - began
        state["done"] += sum(1 for op in operations if chk.applies(profile, op))
        show()

    cases = [
        replace(case, duration=spent.get((case.check, case.operation), 0.0))
        for case in _cases(ctx, selected, operations, raw, exercised)
    ]
    if recorder is not None:
        from conformance._traffic import record_exchanges

        record_exchanges(recorder, ctx.exchanges, started)
    if all(case.outcome == "skipped" for case in cases):
        from conformance.errors import TargetUnreachable

        why = "; ".join([*ctx.ids.notes, *([ctx.stalled] if ctx.stalled else [])])
        why = why or "; ".join(sorted({case.reason for case in cases if case.reason}))
        raise TargetUnreachable(f"nothing could be tested ({why or 'no case ran'})")
    called: dict[str, int] = defaultdict(int)
    for exchange in ctx.exchanges:
        called[exchange.operation.operation_id] += 1
    for operation_id, count in ctx.generated.items():
        called[operation_id] += count
    not_tested = {
        op.operation_id: reason
        for op in operations
        if (reason := _untested_reason(ctx, op)) is not None
    }
    return Report(
        api=config.api,
        base_url=client.mask(config.base_url),
        strict=config.strict,
        cases=tuple(cases),
        ids=ctx.ids.as_dict(),
        requests=ctx.requests_sent,
        operations_called=dict(sorted(called.items())),
        not_tested=not_tested,
        notes=tuple(ctx.ids.notes)
        + ((ctx.stalled,) if ctx.stalled else ())
        + _lifecycle_note(ctx)
        + _fuzz_notes(ctx),
        duration=time.monotonic() - started,
        checks=tuple(chk.name for chk in selected),
        fuzz_seed=config.fuzz_seed if config.fuzz > 0 else None,
        flags=_flags(config),
    )


def _flags(config: RunConfig) -> tuple[str, ...]:
    flags: list[str] = []
    if config.space:
        flags.append(f"{config.option('space')} {config.space}")
    if config.checks:
        flags.append(f"{config.option('checks')} {','.join(config.checks)}")
    if config.fuzz:
        flags.append(f"{config.option('fuzz')} {config.fuzz}")
    if config.fuzz_negative:
        flags.append(config.option("fuzz-negative"))
    if config.allow_writes:
        flags.append(config.option("allow-writes"))
    if config.expect_key_enforcement:
        flags.append(config.option("expect-key-enforcement"))
    return tuple(flags)


def _fuzz_notes(ctx: Any) -> tuple[str, ...]:
    if ctx.config.fuzz <= 0:
        return ()
    notes = [
        f"fuzzing: {ctx.memo.get('fuzz_cases', 0)} generated cases, {ctx.fuzz_sent} requests "
        f"from their own budget ({ctx.config.option('max-fuzz-requests')} "
        f"{ctx.config.max_fuzz_requests}); {ctx.config.option('fuzz-seed')} "
        f"{ctx.config.fuzz_seed} generates the same cases again"
    ]
    for operation_id, reason in (ctx.memo.get("fuzz_stopped") or {}).items():
        notes.append(f"fuzzing of {operation_id} stopped early: {reason}")
    unsatisfiable = ctx.memo.get("fuzz_notes") or []
    if unsatisfiable:
        notes.append(
            "fuzzing: the OpenAPI document leaves nothing to make invalid in "
            + ", ".join(unsatisfiable)
            + ", so no negative case was generated there"
        )
    return tuple(notes)


def _lifecycle_note(ctx: Any) -> tuple[str, ...]:
    if not ctx.lifecycle_sent:
        return ()
    return (
        f"the lifecycle checks sent {ctx.lifecycle_sent} of these requests (starts, polls, "
        f"resume, cancel), from their own budget (--max-lifecycle-requests "
        f"{ctx.config.lifecycle_max_requests})",
    )


def _safely(chk: Any, ctx: Any, *subject: Any) -> list[Finding]:
    """Run a check; a check that breaks is the kit's failure: its cases are not tested."""
    from conformance._specs import Operation

    try:
        return [_sourced(finding, chk.source) for finding in chk.run(ctx, *subject)]
    except Exception as error:  # a check must never end the run, nor blame the server
        target = subject[0] if subject else None
        operation = target if isinstance(target, Operation) else getattr(target, "operation", None)
        first_line = (str(error).splitlines() or [""])[0][:200]
        reason = (
            f"the check itself failed ({type(error).__name__}: {first_line}); this is a "
            "stepspec bug worth reporting, not a finding about the server"
        )
        if operation is not None:
            ctx.skip(operation.operation_id, reason)
        else:
            for candidate in _operations.logical_operations(ctx.profile.api):
                if chk.applies(ctx.profile, candidate):
                    ctx.skip(candidate.operation_id, reason)
        return []


def _sourced(finding: Finding, source: str) -> Finding:
    """The finding with the check's registered source when it names none of its own."""
    return finding if finding.source or not source else replace(finding, source=source)


def _matches(statuses: str, status: int | None, broken: bool) -> bool:
    if statuses == "any":
        return True
    if status is None or broken:
        return False
    return (statuses == "2xx" and 200 <= status < 300) or (
        statuses == "4xx" and 400 <= status < 500
    )


def _untested_reason(ctx: Any, operation: Any) -> str | None:
    if operation.method != "get":
        if not ctx.config.allow_writes:
            return (
                "writes are not exercised without --allow-writes (they would change the "
                "server's data)"
            )
        if not any(operation.operation_id in ops for ops in ctx.touched.values()):
            return (
                "not exercised: the selected lifecycle checks send only the writes they need "
                "(start, resume, cancel)"
            )
        return None
    reason: str | None = ctx.unavailable(operation.operation_id)
    if reason is not None:
        return reason
    if ctx.params_for(operation) is None:
        return (
            "discovery found no id for its path parameters; pass --workflow-id/--run-id/--step-id"
        )
    return None


def _cases(
    ctx: Any,
    selected: Sequence[Any],
    operations: Sequence[Any],
    raw: Sequence[Finding],
    exercised: Mapping[str, set[str]],
) -> list[CaseResult]:
    from conformance._problems import merge_findings

    by_case: dict[tuple[str, str], list[Finding]] = defaultdict(list)
    for finding in merge_findings(raw, strict=ctx.config.strict):
        by_case[(finding.check, finding.operation or "")].append(finding)
    labels = {op.operation_id: op.label for op in operations}
    results: list[CaseResult] = []
    listed: set[tuple[str, str]] = set()
    for chk in selected:
        for op in operations:
            if not chk.applies(ctx.profile, op):
                continue
            listed.add((chk.name, op.operation_id))
            results.append(_case(ctx, chk, op.operation_id, labels, by_case, exercised))
    for key in sorted(set(by_case) - listed):
        chk = next(c for c in selected if c.name == key[0])
        results.append(_case(ctx, chk, key[1], labels, by_case, exercised))
    return results


def _case(
    ctx: Any,
    chk: Any,
    operation_id: str,
    labels: Mapping[str, str],
    by_case: Mapping[tuple[str, str], list[Finding]],
    exercised: Mapping[str, set[str]],
) -> CaseResult:
    label = labels.get(operation_id, operation_id or "(target)")
    findings = sorted(by_case.get((chk.name, operation_id), []), key=finding_sort_key)
    kept = tuple(findings[:MAX_FINDINGS_PER_CASE])
    extra = max(0, len(findings) - MAX_FINDINGS_PER_CASE)
    if any(f.severity is Severity.ERROR for f in findings):
        return CaseResult(chk.name, operation_id, label, "failed", kept, truncated=extra)
    skip = ctx.skips.get((chk.name, operation_id))
    if findings:
        return CaseResult(chk.name, operation_id, label, "warned", kept, truncated=extra)
    if skip is not None:
        return CaseResult(chk.name, operation_id, label, "skipped", reason=skip)
    ran = (
        operation_id in exercised.get(chk.name, set())
        if chk.scope == "response"
        else operation_id in ctx.touched.get(chk.name, set())
    )
    if ran:
        return CaseResult(chk.name, operation_id, label, "passed")
    reason = ctx.unavailable(operation_id) or (
        "no response of this operation was recorded"
        if chk.scope == "response"
        else "the check had nothing to test here (see the notes)"
    )
    return CaseResult(chk.name, operation_id, label, "skipped", reason=reason)
