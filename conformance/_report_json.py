"""The JSON report, for machines: the run, every case and every finding, in a stable order.

A case the kit could not test has the outcome ``not_tested`` (counted under ``not_tested``), the
words the text report uses; JUnit keeps its standard ``<skipped>`` element for it.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from conformance.runner import Report

FORMAT_VERSION = 2
"""2: a case that was not tested is ``not_tested`` (was ``skipped``), in outcomes and counts."""

NOT_TESTED = "not_tested"


def _outcome(outcome: str) -> str:
    """The JSON word for a case's outcome: the text report's "not tested", not ``skipped``."""
    return NOT_TESTED if outcome == "skipped" else outcome


def as_dict(report: Report) -> dict[str, Any]:
    """The report as plain JSON-ready data."""
    return {
        "format": "stepspec-check",
        "version": FORMAT_VERSION,
        "api": report.api,
        "base_url": report.base_url,
        "strict": report.strict,
        "fuzz_seed": report.fuzz_seed,
        "flags": list(report.flags),
        "warning": report.untested_warning(),
        "exit_code": report.exit_code,
        "conforms": report.exit_code == 0,
        "duration_seconds": round(report.duration, 3),
        "requests": report.requests,
        "ids": dict(report.ids),
        "operations_called": dict(report.operations_called),
        "not_tested": dict(report.not_tested),
        "notes": list(report.notes),
        "checks": list(report.checks),
        "counts": {_outcome(name): count for name, count in report.counts().items()},
        "cases": [
            {
                "check": case.check,
                "operation": case.operation,
                "label": case.label,
                "outcome": _outcome(case.outcome),
                "duration_seconds": round(case.duration, 3),
                "reason": case.reason or None,
                "findings": [finding.as_dict() for finding in case.findings],
                "findings_left_out": case.truncated,
            }
            for case in report.cases
        ],
        "findings": [finding.as_dict() for finding in report.findings],
    }


def render(report: Report) -> str:
    """The JSON report as text."""
    return json.dumps(as_dict(report), indent=2, sort_keys=False) + "\n"
