"""The mutation suite: each defect injected into the mock is caught by the check made for it.

For every mutant the run exits 1, the expected check reports at least one error, and no other
check reports an error (the few mutants that legitimately break a second rule are listed, with
the reason, in ``ALSO_CAUGHT_BY``). Mutants of
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

_ONE_ENDPOINT = (
    "the edit reaches one endpoint's answer and not the others', so a cross-endpoint check "
    "sees the same run or step read two ways"
)
_SAME_POLLS = "the other lifecycle checks poll the same started runs and see the same defect"
ALSO_CAUGHT_BY: dict[str, tuple[frozenset[str], str]] = {
    "duration_contradicts_timestamps": (frozenset({"step_consistent"}), _ONE_ENDPOINT),
    "end_before_start": (
        frozenset({"run_consistent", "body_matches_schema", "terminal_has_end_time"}),
        _ONE_ENDPOINT + "; the edit also gives running executions an ended_at, which their "
        "schema and the end-time rule forbid",
    ),
    "finished_run_without_end": (
        frozenset({"run_cancels", "terminal_has_end_time"}),
        _SAME_POLLS + "; a finished run without an end time is also what terminal_has_end_time "
        "is for",
    ),
    "finished_step_end_moves": (
        frozenset({"run_resumes", "run_cancels", "durations_agree", "run_final_coherent"}),
        _SAME_POLLS + "; the moved finishedAt no longer matches executionTimeMs",
    ),
    "found_for_unknown_id": (
        frozenset({"body_matches_schema", "space_isolation"}),
        "the made-up 200 {} is no valid execution, and it also answers in the other space "
        "the space check probes with an id it never issued",
    ),
    "indexes_repeated": (frozenset({"step_consistent"}), _ONE_ENDPOINT),
    "malformed_timestamp": (
        frozenset({"run_consistent", "terminal_has_end_time"}),
        _ONE_ENDPOINT + "; an unreadable startedAt also leaves the end-time rule nothing to "
        "compare",
    ),
    "status_back_to_pending": (frozenset({"run_resumes", "run_cancels"}), _SAME_POLLS),
    "step_from_another_run": (frozenset({"step_consistent"}), _ONE_ENDPOINT),
    "step_index_from_one": (frozenset({"step_consistent"}), _ONE_ENDPOINT),
    "terminal_without_end": (frozenset({"run_consistent"}), _ONE_ENDPOINT),
    "unknown_workflow_lists_runs": (
        frozenset({"path_ids_echoed"}),
        "the runs listed for the made-up workflow id name another workflow, which is what "
        "path_ids_echoed checks",
    ),
}
"""Mutant -> (other checks that report an error on it too, why that is right)."""


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
    allowed = ALSO_CAUGHT_BY.get(mutant.name, (frozenset(), ""))[0]
    others = reported - {mutant.expected} - allowed
    assert not others, f"{mutant.name}: only {mutant.expected!r} should report it; also {others}"
    assert result.exit_code == 1


def test_every_check_is_triggered_by_some_mutant() -> None:
    triggered = {mutant.expected for mutant in MUTANTS}
    untested = sorted(set(CHECKS) - triggered)
    assert not untested, f"no mutant triggers {untested}: a check never shown to fail is no check"


def test_also_caught_by_names_real_mutants_and_checks() -> None:
    names = {mutant.name for mutant in MUTANTS}
    for name, (checks, reason) in ALSO_CAUGHT_BY.items():
        assert name in names, f"ALSO_CAUGHT_BY names no mutant {name!r}"
        assert checks, name
        assert checks <= set(CHECKS), name
        assert reason, name


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
