"""The mutation suite: each defect injected into the mock is caught by the check made for it.

For every mutant the run exits 1 and the expected check reports at least one error. Mutants of
rules that are only inferred run with ``--strict`` (without it they are warnings, exit 0 - shown
by a test below). Lifecycle mutants run against a mock on a fast clock, with ``--allow-writes``.
And no registered check goes without a mutant that triggers it.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from conformance.checks import CHECKS
from tests.conformance.mutants import MUTANTS, Mutant, MutantMiddleware

pytestmark = pytest.mark.slow


def _run(mutant: Mutant, app_factory: Any, served: Any, run_check: Any, *extra: str) -> Any:
    app = app_factory(**mutant.app_config)
    app.testing = False
    if mutant.live:
        extra = ("--allow-writes", *extra)
    app.wsgi_app = MutantMiddleware(app.wsgi_app, mutant)
    with served(app) as url:
        result = run_check(
            "--api",
            mutant.api,
            "--base-url",
            url,
            "--format",
            "json",
            "--timeout",
            "2",
            "--api-key",
            mutant.api_key,
            *mutant.args,
            *extra,
        )
    return result, json.loads(result.stdout)


@pytest.mark.parametrize("mutant", MUTANTS, ids=[m.name for m in MUTANTS])
def test_mutant_is_caught_by_its_check(
    mutant: Mutant, app_factory: Any, fast_app_factory: Any, served: Any, run_check: Any
) -> None:
    strict = ("--strict",) if mutant.strict else ()
    factory = fast_app_factory if mutant.live else app_factory
    result, report = _run(mutant, factory, served, run_check, *strict)
    errors = [f for f in report["findings"] if f["severity"] == "error"]
    reported = {f["check"] for f in errors}
    assert mutant.expected in reported, (
        f"{mutant.name}: expected {mutant.expected!r} to report it; reported {sorted(reported)}"
    )
    assert result.exit_code == 1


def test_every_check_is_triggered_by_some_mutant() -> None:
    triggered = {mutant.expected for mutant in MUTANTS}
    untested = sorted(set(CHECKS) - triggered)
    assert not untested, f"no mutant triggers {untested}: a check never shown to fail is no check"


def test_mutant_names_are_unique() -> None:
    names = [mutant.name for mutant in MUTANTS]
    assert len(names) == len(set(names))


def test_inferred_rules_warn_without_strict(app_factory: Any, served: Any, run_check: Any) -> None:
    mutant = next(m for m in MUTANTS if m.name == "elapsed_time_rounded_up")
    assert mutant.strict
    result, report = _run(mutant, app_factory, served, run_check)
    warnings = [f for f in report["findings"] if f["check"] == mutant.expected]
    assert warnings
    assert all(f["severity"] == "warning" and f["inferred"] for f in warnings)
    assert result.exit_code == 0
