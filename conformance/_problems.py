"""One problem, one finding: the runner merges what the checks report about the same problem.

Checks judge one response at a time and report every property that breaks a rule, so the same
document seen through several responses (a step in its execution and in two lists, on each page
the pagination check reads), or one document missing several ``required`` keys, would otherwise
count many times. Findings with the same check, operation, JSON path (whatever the list index)
and title are one problem: the first in report order stands for it, with the number of distinct
responses that showed it (``Finding.responses``).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import replace

from conformance.findings import Finding, finding_sort_key

__all__ = ["merge_findings", "problem_key"]

_INDEX = re.compile(r"\[\d+\]")


def problem_key(finding: Finding) -> tuple[str, ...]:
    """What makes two findings one problem: check, operation, JSON path (any list index), rule."""
    return (
        finding.check,
        finding.operation or "",
        _INDEX.sub("[*]", finding.path),
        finding.title,
        str(finding.severity),
    )


def merge_findings(raw: Sequence[Finding], *, strict: bool) -> list[Finding]:
    """One finding per problem (``problem_key``) as the verdict counts it (``strict``)."""
    groups: dict[tuple[str, ...], list[Finding]] = {}
    for finding in raw:
        counted = finding.counted(strict=strict)
        groups.setdefault(problem_key(counted), []).append(counted)
    merged: list[Finding] = []
    for group in groups.values():
        group.sort(key=finding_sort_key)
        requests = {f.request for f in group if f.request is not None}
        unrecorded = len({f for f in group if f.request is None})
        merged.append(replace(group[0], responses=max(1, len(requests) + unrecorded)))
    return merged
