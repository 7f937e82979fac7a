"""The JUnit XML report, for CI: one test case per check x operation.

A failed case carries a ``<failure>`` with its findings (as in the text report); a case that was
not tested is ``<skipped>`` with the reason; a case with only warnings passes and lists them in
``<system-out>``. Test case names are ``<check>`` in the class ``stepspec.<api>.<operationId>``
so CI dashboards group the checks under each operation.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from typing import TYPE_CHECKING

from conformance._report_text import finding_lines

if TYPE_CHECKING:
    from conformance.runner import CaseResult, Report


def _body(case: CaseResult) -> str:
    lines: list[str] = []
    for finding in case.findings:
        lines.extend(finding_lines(finding))
    if case.truncated:
        lines.append(f"  ... and {case.truncated} more findings like these")
    return "\n".join(line.strip() if index == 0 else line for index, line in enumerate(lines))


def render(report: Report) -> str:
    """The JUnit XML document as text."""
    counts = report.counts()
    suites = ET.Element("testsuites", name="stepspec check")
    suite = ET.SubElement(
        suites,
        "testsuite",
        name=f"stepspec.{report.api}",
        tests=str(len(report.cases)),
        failures=str(counts["failed"]),
        errors="0",
        skipped=str(counts["skipped"]),
        time=f"{report.duration:.3f}",
    )
    properties = ET.SubElement(suite, "properties")
    for name, value in (
        ("api", report.api),
        ("base_url", report.base_url),
        ("strict", str(report.strict).lower()),
        ("requests", str(report.requests)),
        *([("fuzz_seed", str(report.fuzz_seed))] if report.fuzz_seed is not None else []),
    ):
        ET.SubElement(properties, "property", name=name, value=value)
    for case in report.cases:
        element = ET.SubElement(
            suite,
            "testcase",
            classname=f"stepspec.{report.api}.{case.operation or 'target'}",
            name=case.check,
            time=f"{case.duration:.3f}",
        )
        if case.outcome == "failed":
            first = (
                f"{case.findings[0].title} (rule from: {case.findings[0].source or 'not recorded'})"
                if case.findings
                else "failed"
            )
            failure = ET.SubElement(element, "failure", message=first, type="ConformanceFailure")
            failure.text = _body(case)
        elif case.outcome == "skipped":
            ET.SubElement(element, "skipped", message=case.reason)
        elif case.outcome == "warned":
            out = ET.SubElement(element, "system-out")
            out.text = _body(case)
    ET.indent(suites)
    return (
        '<?xml version="1.0" encoding="utf-8"?>\n' + ET.tostring(suites, encoding="unicode") + "\n"
    )
