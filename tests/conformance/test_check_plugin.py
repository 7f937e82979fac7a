"""The pytest plugin, run with ``pytester``: passes on the clean mock, fails on a mutant, and is
silent without a base URL. Also ``assert_conforms`` for users' own tests."""

from __future__ import annotations

from typing import Any

import pytest

from conformance import _specs
from conformance.errors import ConformanceFailure
from conformance.findings import assert_conforms
from tests.conformance.mutants import MUTANTS, MutantMiddleware

pytest_plugins = ["pytester"]

USER_TEST = """
def test_stepspec(stepspec_case):
    stepspec_case.verify()
"""


def _run(pytester: pytest.Pytester, *args: str) -> pytest.RunResult:
    pytester.makepyfile(test_api=USER_TEST)
    # The plugin is loaded through its pytest11 entry point, as in a user's project.
    return pytester.runpytest_inprocess(*args)


def test_plugin_passes_against_the_clean_mock(pytester: pytest.Pytester, live_server: Any) -> None:
    result = _run(
        pytester,
        "--stepspec-api",
        "arcee",
        "--stepspec-base-url",
        live_server.url,
        "--stepspec-api-key",
        "test-key",
        "-v",
    )
    outcomes = result.parseoutcomes()
    assert outcomes.get("failed", 0) == 0
    assert outcomes["passed"] >= 40
    result.stdout.fnmatch_lines(["*test_stepspec?body_matches_schema-getRunSteps? PASSED*"])


def test_plugin_fails_with_readable_findings_on_a_mutant(
    pytester: pytest.Pytester, app_factory: Any, served: Any
) -> None:
    mutant = next(m for m in MUTANTS if m.name == "wrong_type")
    app = app_factory()
    app.testing = False
    app.wsgi_app = MutantMiddleware(app.wsgi_app, mutant)
    with served(app) as url:
        pytester.makeini("[pytest]\nstepspec_api = arcee\n")
        result = _run(pytester, "--stepspec-base-url", url, "--stepspec-api-key", "test-key")
    outcomes = result.parseoutcomes()
    assert outcomes["failed"] >= 1
    result.stdout.fnmatch_lines(
        [
            "*test_stepspec?body_matches_schema-getRunSteps?*",
            "*ConformanceFailure*",
            "*body breaks schema rule 'type'*",
        ]
    )
    assert "test-key" not in result.stdout.str()


def test_plugin_settings_from_the_environment(
    pytester: pytest.Pytester, live_server: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("STEPSPEC_API", "trigify")
    monkeypatch.setenv("STEPSPEC_BASE_URL", live_server.url)
    monkeypatch.setenv("STEPSPEC_API_KEY", "test-key")
    result = _run(pytester, "--stepspec-checks", "body_matches_schema")
    result.assert_outcomes(passed=4)


def test_plugin_is_silent_without_a_base_url(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("STEPSPEC_BASE_URL", "STEPSPEC_API"):
        monkeypatch.delenv(name, raising=False)
    pytester.makepyfile(test_other="def test_other():\n    assert True\n")
    result = pytester.runpytest_inprocess()
    result.assert_outcomes(passed=1)
    mentions = [line for line in result.outlines if "stepspec" in line]
    assert all(line.startswith("plugins:") for line in mentions), mentions


def test_a_stepspec_test_without_a_base_url_is_skipped_with_advice(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("STEPSPEC_BASE_URL", raising=False)
    result = _run(pytester, "-rs")
    result.assert_outcomes(skipped=1)
    result.stdout.fnmatch_lines(["*--stepspec-base-url*"])


def test_plugin_unreachable_server_stops_the_session_once_without_traceback(
    pytester: pytest.Pytester,
) -> None:
    result = _run(
        pytester,
        "--stepspec-api",
        "trigify",
        "--stepspec-base-url",
        "http://127.0.0.1:9",
        "--stepspec-timeout",
        "1",
        "--stepspec-checks",
        "body_parses",
    )
    # One line and the CLI's exit code, not one identical failure per case.
    assert result.ret == 3
    assert result.parseoutcomes().get("failed", 0) == 0
    assert result.stdout.str().count("stepspec: could not test") == 1
    assert "Traceback" not in result.stdout.str()


def test_assert_conforms_accepts_a_valid_payload() -> None:
    schema_id = _specs.schema_id("kibana", "error")
    assert_conforms({"statusCode": 404, "error": "Not Found", "message": "Not Found"}, schema_id)


def test_assert_conforms_raises_readable_findings() -> None:
    schema_id = _specs.schema_id("kibana", "error")
    with pytest.raises(ConformanceFailure) as caught:
        assert_conforms({"statusCode": "404"}, schema_id)
    assert isinstance(caught.value, AssertionError)
    assert caught.value.findings
    text = str(caught.value)
    assert "does not conform to urn:stepspec:kibana:error" in text
    assert "expected:" in text
    assert "found:" in text


def test_plugin_runs_the_lifecycle_checks_with_allow_writes(
    pytester: pytest.Pytester, fast_app_factory: Any, served: Any
) -> None:
    app = fast_app_factory()
    with served(app) as url:
        result = _run(
            pytester,
            "--stepspec-api",
            "arcee",
            "--stepspec-base-url",
            url,
            "--stepspec-api-key",
            "test-key",
            "--stepspec-allow-writes",
            "--stepspec-lifecycle-timeout",
            "20",
            "--stepspec-checks",
            "run_starts,run_final_coherent",
            "-v",
        )
    result.assert_outcomes(passed=3)
    result.stdout.fnmatch_lines(["*test_stepspec?run_starts-executeWorkflow? PASSED*"])


def test_assert_conforms_lists_each_violation_once() -> None:
    """Walkthrough row 33: jsonschema reports `required` once per missing property and its own
    message restated expected/found, so every violation read twice."""
    schema_id = _specs.schema_id("kibana", "step-execution")
    with pytest.raises(ConformanceFailure) as caught:
        assert_conforms({"id": "step-1", "status": 7}, schema_id)
    text = str(caught.value)
    # One `required` (all missing names), then `enum` and `type` on $.status.
    assert len(caught.value.findings) == 3
    assert text.count("expected: required properties") == 1
    assert "is a required property" not in text
    assert "is not of type" not in text
    assert "is not one of" not in text
    assert 'missing ["spaceId"' in text
    assert "found:    integer 7" in text
