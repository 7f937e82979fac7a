"""The text report, for people: a header, one block per finding, what was not tested, a verdict.

Each finding block names the check, the operation, the JSON path, what was expected and what
was found, where the rule comes from (``rule from:``, see ``conformance._provenance``), and a
curl line that reproduces the request (the key appears as
``$STEPSPEC_API_KEY``, other secret headers as ``<Name redacted>``).
"""

from __future__ import annotations

from collections import defaultdict
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from conformance.findings import Finding
    from conformance.runner import Report


def render(report: Report) -> str:
    """The whole text report."""
    lines = _header(report)
    failing = [case for case in report.cases if case.outcome in ("failed", "warned")]
    for case in failing:
        lines.append("")
        mark = "FAIL" if case.outcome == "failed" else "WARN"
        lines.append(f"{mark} {case.check} - {case.operation} ({case.label})")
        for finding in case.findings:
            lines.extend(finding_lines(finding))
        if case.truncated:
            lines.append(f"  ... and {case.truncated} more findings like these")
    lines.extend(_skipped(report))
    lines.append("")
    lines.append(_verdict(report))
    return "\n".join(lines) + "\n"


def _header(report: Report) -> list[str]:
    ids = ", ".join(
        f"{k}={v}" for k, v in report.ids.items() if v is not None and not isinstance(v, int)
    )
    called = ", ".join(f"{op} x{n}" for op, n in report.operations_called.items())
    lines = [
        f"stepspec check --api {report.api} {_target(report.base_url)}"
        + (" --strict" if report.strict else ""),
        f"exercised: {len(report.operations_called)} operations, {report.requests} requests "
        f"in {report.duration:.1f} s; ids: {ids or 'none found'}",
        f"operations: {called or 'none'}",
    ]
    for operation, reason in report.not_tested.items():
        lines.append(f"not tested: {operation}: {reason}")
    lines.extend(f"note: {note}" for note in report.notes)
    return lines


def _target(base_url: str) -> str:
    # An offline report (``check --har``) names its recording as ``har:<file>``.
    if base_url.startswith("har:"):
        return f"--har {base_url.removeprefix('har:')}"
    return f"--base-url {base_url}"


def finding_lines(finding: Finding) -> list[str]:
    tag = " (inferred rule)" if finding.inferred else ""
    lines = [f"  {finding.severity}: {finding.title}{tag}", f"    at:        {finding.path}"]
    if finding.expected:
        lines.append(f"    expected:  {finding.expected}")
    if finding.found:
        lines.append(f"    found:     {finding.found}")
    if finding.detail:
        lines.append(f"    note:      {finding.detail}")
    lines.append(f"    rule from: {finding.source or 'not recorded'}")
    if finding.request is not None:
        lines.append(f"    reproduce: {finding.request.curl()}")
    return lines


def _skipped(report: Report) -> list[str]:
    skipped = [case for case in report.cases if case.outcome == "skipped"]
    if not skipped:
        return []
    by_reason: dict[str, list[str]] = defaultdict(list)
    for case in skipped:
        by_reason[case.reason].append(f"{case.check}/{case.operation}")
    lines = ["", f"not tested ({len(skipped)} cases):"]
    for reason, cases in by_reason.items():
        shown = ", ".join(cases[:6]) + (f", ... ({len(cases)} in all)" if len(cases) > 6 else "")
        lines.append(f"  - {reason}: {shown}")
    return lines


def _verdict(report: Report) -> str:
    counts = report.counts()
    errors = len(report.errors)
    warnings = len(report.findings) - errors
    outcome = "FAILED" if report.exit_code else "CONFORMS"
    return (
        f"{outcome}: {len(report.cases)} cases - {counts['passed']} passed, {counts['failed']} "
        f"failed, {counts['warned']} warned, {counts['skipped']} not tested; {errors} errors, "
        f"{warnings} warnings (warnings fail only with --strict)"
    )
