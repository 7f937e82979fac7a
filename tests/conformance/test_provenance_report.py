"""Every finding a report shows says where its rule comes from (``rule from: ...``).

Each mutant of ``tests/conformance/mutants.py`` is checked with the text report: every finding
block carries a ``rule from:`` line naming a recorded source (a schema rule's
``x-stepspec-source``, or the check's registered source). The JSON report carries the same as
``source`` and the JUnit failure message names it.
"""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from typing import Any

import pytest

from tests.conformance.mutants import MUTANTS, Mutant, MutantMiddleware

pytestmark = pytest.mark.slow

FINDING = re.compile(r"^  (error|warning): ")
RULE_FROM = re.compile(r"^    rule from: (.+)$")


def _check(mutant: Mutant, factory: Any, served: Any, run_check: Any, fmt: str) -> Any:
    app = factory(**mutant.app_config)
    app.testing = False
    app.wsgi_app = MutantMiddleware(app.wsgi_app, mutant)
    extra = ("--allow-writes",) if mutant.live else ()
    strict = ("--strict",) if mutant.strict else ()
    with served(app) as url:
        return run_check(
            "--api", mutant.api, "--base-url", url, "--format", fmt, "--timeout", "2",
            "--api-key", mutant.api_key, *mutant.args, *extra, *strict,
        )  # fmt: skip


def _blocks(text: str) -> list[list[str]]:
    blocks: list[list[str]] = []
    for line in text.splitlines():
        if FINDING.match(line):
            blocks.append([line])
        elif blocks and line.startswith("    "):
            blocks[-1].append(line)
    return blocks


@pytest.mark.parametrize("mutant", MUTANTS, ids=[m.name for m in MUTANTS])
def test_every_finding_of_a_mutant_run_shows_its_rule_source(
    mutant: Mutant, app_factory: Any, fast_app_factory: Any, served: Any, run_check: Any
) -> None:
    factory = fast_app_factory if mutant.live else app_factory
    result = _check(mutant, factory, served, run_check, "text")
    blocks = _blocks(result.stdout)
    assert blocks, f"{mutant.name}: the run reported no finding:\n{result.stdout[-2000:]}"
    for block in blocks:
        sources = [m.group(1) for line in block if (m := RULE_FROM.match(line))]
        assert len(sources) == 1, "\n".join(block)
        assert sources[0] != "not recorded", "\n".join(block)


def test_json_and_junit_reports_name_the_source(
    app_factory: Any, served: Any, run_check: Any
) -> None:
    mutant = next(m for m in MUTANTS if m.api == "kibana" and not m.live and not m.strict)
    report = json.loads(_check(mutant, app_factory, served, run_check, "json").stdout)
    assert report["findings"]
    assert all(finding["source"] for finding in report["findings"])
    junit = ET.fromstring(_check(mutant, app_factory, served, run_check, "junit").stdout)
    failures = junit.findall(".//failure")
    assert failures
    assert all("(rule from: " in str(failure.get("message")) for failure in failures)
