"""The runner: one library call that checks a live server and returns a report.

``run(config)`` discovers ids, fetches every readable operation once, runs the selected checks
and returns a ``Report``; it prints nothing. The CLI and the pytest plugin are thin front ends
over it. ``plan(...)`` gives the same matrix of cases (check x operation) from the spec alone,
without a request, which is what the pytest plugin parametrizes over.

Exit codes live here too, because every front end agrees on them: 0 conforms, 1 findings
(errors; warnings count only under ``--strict``), 2 usage error, 3 could not test.
"""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any, Literal

from conformance import _operations
from conformance.errors import UsageError
from conformance.findings import Finding, Severity, finding_sort_key

if TYPE_CHECKING:
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

EXIT_OK, EXIT_FINDINGS, EXIT_USAGE, EXIT_COULD_NOT_TEST = 0, 1, 2, 3
MAX_FINDINGS_PER_CASE = 25
Outcome = Literal["passed", "failed", "warned", "skipped"]


@dataclass(frozen=True)
class RunConfig:
    """Everything one run needs. Secrets are kept out of ``repr``."""

    api: str
    base_url: str
    api_key: str | None = field(default=None, repr=False)
    headers: Mapping[str, str] = field(default_factory=dict, repr=False)
    """Extra request headers (``--header``); their values are treated as secrets."""
    space: str | None = None
    workflow_id: str | None = None
    run_id: str | None = None
    step_id: str | None = None
    checks: tuple[str, ...] | None = None
    strict: bool = False
    fuzz: int = 0
    fuzz_negative: bool = False
    timeout: float = 10.0
    max_requests: int = 400
    expect_key_enforcement: bool = False
    """Whether the server must refuse a made-up key (see the ``auth_rejects_invalid`` check)."""
    allow_writes: bool = False
    """Run the lifecycle checks, which start, resume and cancel runs (``--allow-writes``)."""
    lifecycle_timeout: float = 60.0
    """Seconds a lifecycle check waits for a run to reach the state it waits for."""
    lifecycle_max_requests: int = 300
    """Requests the lifecycle checks may send, on top of ``max_requests`` (their own pool)."""

    def __post_init__(self) -> None:
        if not self.base_url.startswith(("http://", "https://")):
            raise UsageError(
                f"--base-url must start with http:// or https://, got {self.base_url!r}"
            )
        if self.timeout <= 0:
            raise UsageError(
                f"--timeout must be a positive number of seconds, got {self.timeout!r}"
            )
        if self.max_requests < 1:
            raise UsageError(f"--max-requests must be at least 1, got {self.max_requests!r}")
        if self.lifecycle_timeout <= 0:
            raise UsageError(
                "--lifecycle-timeout must be a positive number of seconds, "
                f"got {self.lifecycle_timeout!r}"
            )
        if self.lifecycle_max_requests < 1:
            raise UsageError(
                f"--max-lifecycle-requests must be at least 1, got {self.lifecycle_max_requests!r}"
            )
        if self.fuzz < 0:
            raise UsageError(f"--fuzz must be 0 or more cases per operation, got {self.fuzz!r}")
        if self.space is not None and self.api != "kibana":
            raise UsageError("--space only applies to --api kibana")
        _operations.profile(self.api)

    @property
    def credential_headers(self) -> dict[str, str]:
        """The credential in the vendor's scheme (empty without ``--api-key``)."""
        if not self.api_key:
            return {}
        return _operations.profile(self.api).credential(self.api_key)

    def secrets(self) -> dict[str, str]:
        """Secret value -> the placeholder reports show instead."""
        found: dict[str, str] = {}
        if self.api_key:
            found[self.api_key] = "$STEPSPEC_API_KEY"
        for name, value in self.headers.items():
            if value:
                found[value] = f"<{name} redacted>"
        return found


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


def run(config: RunConfig, *, recorder: HarWriter | None = None) -> Report:
    """Check the server ``config`` names and return the report (see the module docstring).

    With ``recorder`` every exchange the run had is added to it as a HAR entry (``check
    --record``), also when nothing could be tested; the caller writes the file.
    """
    from conformance._client import BoundedClient
    from conformance._discovery import discover
    from conformance.checks import select
    from conformance.checks._context import Context

    started = time.monotonic()
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
    discover(ctx)

    ctx.current = "baseline"
    for operation in operations:
        if operation.method == "get":
            params = ctx.params_for(operation)
            if params is not None:
                ctx.get(operation, params)

    raw: list[Finding] = []
    for chk in selected:
        ctx.current = chk.name
        if chk.scope == "operation":
            for operation in operations:
                if chk.applies(profile, operation):
                    raw.extend(_safely(chk, ctx, operation))
        elif chk.scope == "target":
            raw.extend(_safely(chk, ctx))
    exercised: dict[str, set[str]] = defaultdict(set)
    for chk in selected:
        if chk.scope != "response":
            continue
        ctx.current = chk.name
        for exchange in list(ctx.exchanges):
            if _matches(chk.statuses, exchange.status, exchange.result.error is not None):
                exercised[chk.name].add(exchange.operation.operation_id)
                raw.extend(_safely(chk, ctx, exchange))

    cases = _cases(ctx, selected, operations, raw, exercised)
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
        notes=tuple(ctx.ids.notes) + ((ctx.stalled,) if ctx.stalled else ()) + _lifecycle_note(ctx),
        duration=time.monotonic() - started,
        checks=tuple(chk.name for chk in selected),
    )


def _lifecycle_note(ctx: Any) -> tuple[str, ...]:
    if not ctx.lifecycle_sent:
        return ()
    return (
        f"the lifecycle checks sent {ctx.lifecycle_sent} of these requests (starts, polls, "
        f"resume, cancel), from their own budget (--max-lifecycle-requests "
        f"{ctx.config.lifecycle_max_requests})",
    )


def _safely(chk: Any, ctx: Any, *subject: Any) -> list[Finding]:
    """Run a check; a check that breaks on a response it did not foresee becomes a finding."""
    from conformance._specs import Operation

    try:
        return [_sourced(finding, chk.source) for finding in chk.run(ctx, *subject)]
    except Exception as error:  # a check must never end the run
        target = subject[0] if subject else None
        operation = target if isinstance(target, Operation) else getattr(target, "operation", None)
        return [
            Finding(
                check=chk.name,
                title="check could not judge the responses",
                operation=operation.operation_id if operation is not None else None,
                expected="responses shaped as documented",
                found=f"{type(error).__name__}: {error}"[:300],
                detail="the responses were not shaped as the check expects; the other findings "
                "usually say how (if not, this is a stepspec bug worth reporting)",
                source=chk.source,
            )
        ]


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
    strict = ctx.config.strict
    by_case: dict[tuple[str, str], list[Finding]] = defaultdict(list)
    seen: set[Finding] = set()
    for finding in raw:
        counted = finding.counted(strict=strict)
        if counted in seen:
            continue
        seen.add(counted)
        by_case[(finding.check, finding.operation or "")].append(counted)
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
