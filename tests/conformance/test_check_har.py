"""``stepspec check --har``: the kit's checks over a HAR recording, without a request.

Each recording is the kit's own traffic: the mock (or a mutant of it) is wrapped in
``HarRecorder``, ``stepspec check`` runs against it live, and ``HarWriter`` writes what the
server answered. Judged offline, the clean mock conforms and every read-side mutant whose check
needs no request of its own is caught by that check - with the same checks failing as live.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from conformance._cli_check import check_command
from conformance._passive import PassiveJudge
from conformance.checks import CHECKS
from conformance.har import read_har
from tests.conformance.conftest import serve
from tests.conformance.mutants import MUTANTS, Mutant
from tests.conformance.recording import record_kit_run

pytestmark = pytest.mark.slow

OFFLINE_MUTANTS = [
    mutant
    for mutant in MUTANTS
    if not mutant.live
    and CHECKS[mutant.expected].scope != "operation"
    and not CHECKS[mutant.expected].opt_in
]
"""Read-side mutants whose check judges responses the kit sent anyway (no probe of its own)."""


def _offline(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(check_command, list(args), catch_exceptions=False)
    return result.exit_code, result.stdout, result.stderr


def _errors(report: dict[str, Any]) -> set[str]:
    return {f["check"] for f in report["findings"] if f["severity"] == "error"}


@pytest.mark.parametrize("api", ["kibana", "arcee", "trigify"])
def test_a_recording_of_the_clean_mock_conforms(tmp_path: Path, app_factory: Any, api: str) -> None:
    recording = record_kit_run(tmp_path, app_factory, api)
    code, out, _ = _offline("--api", api, "--har", str(recording.path), "--format", "json")
    report = json.loads(out)
    assert code == 0, report["findings"]
    assert report["findings"] == []
    assert report["requests"] == len(recording.entries)
    passed = {case["check"] for case in report["cases"] if case["outcome"] == "passed"}
    # The cross-exchange checks ran on the recording, not only the one-response checks.
    assert {"body_matches_schema", "run_consistent", "pagination_consistent"} <= passed
    offline = [case for case in report["cases"] if case["check"] == "auth_required"]
    assert offline
    assert all(case["outcome"] == "not_tested" for case in offline)
    assert all(case["reason"].startswith("offline: ") for case in offline)


@pytest.mark.parametrize("mutant", OFFLINE_MUTANTS, ids=[m.name for m in OFFLINE_MUTANTS])
def test_a_recording_of_a_mutant_is_caught_by_its_check(
    tmp_path: Path, app_factory: Any, mutant: Mutant
) -> None:
    recording = record_kit_run(tmp_path, app_factory, mutant.api, mutant)
    strict = ("--strict",) if mutant.strict else ()
    code, out, _ = _offline(
        "--api", mutant.api, "--har", str(recording.path), "--format", "json", *strict
    )
    report = json.loads(out)
    assert code == 1
    assert mutant.expected in _errors(report)
    assert _errors(report) == _errors(recording.live)


def test_text_and_junit_reports_work_offline(tmp_path: Path, app_factory: Any) -> None:
    mutant = next(m for m in MUTANTS if m.name == "required_field_dropped")
    recording = record_kit_run(tmp_path, app_factory, "kibana", mutant)
    code, text, _ = _offline("--api", "kibana", "--har", str(recording.path))
    assert code == 1
    assert "body_matches_schema" in text
    assert f"stepspec check --api kibana --har {recording.path}" in text
    assert "offline: the check sends requests of its own: auth_required/" in text
    code, junit, _ = _offline("--api", "kibana", "--har", str(recording.path), "--format", "junit")
    assert code == 1
    assert "<testsuites" in junit
    assert "body_matches_schema" in junit


def test_observe_reports_each_finding_once(tmp_path: Path, app_factory: Any) -> None:
    mutant = next(m for m in MUTANTS if m.name == "step_lists_disagree")
    recording = record_kit_run(tmp_path, app_factory, "kibana", mutant)
    judge = PassiveJudge("kibana")
    seen = [finding for entry in recording.entries for finding in judge.observe(entry)]
    keys = [(f.check, f.operation, f.path) for f in seen]
    assert len(keys) == len(set(keys))
    # The cross-exchange check fired while observing, as a proxy would see it live.
    assert "step_consistent" in {f.check for f in seen}
    assert all(judge.observe(entry) == [] for entry in recording.entries[:5])
    assert judge.report().exit_code == 1


def test_traffic_of_another_api_is_skipped(tmp_path: Path, app_factory: Any) -> None:
    recording = record_kit_run(tmp_path, app_factory, "arcee")
    code, _, err = _offline("--api", "kibana", "--har", str(recording.path))
    assert code == 3
    assert "holds no call of the kibana API" in err
    assert err.count("\n") == 1


def test_redacted_recording_is_still_judged(tmp_path: Path, app_factory: Any) -> None:
    recording = record_kit_run(tmp_path, app_factory, "trigify")
    raw = recording.path.read_text(encoding="utf-8")
    assert "test-key" not in raw
    assert read_har(recording.path)[0].request_header("x-api-key") == "[redacted]"
    code, _, _ = _offline("--api", "trigify", "--har", str(recording.path))
    assert code == 0


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        ("<html>not a recording</html>", "is not a HAR file: it is not JSON"),
        ('{"log": {"version": "1.2"}}', "is not a HAR file: it has no log.entries list"),
    ],
)
def test_a_file_that_is_not_har_is_exit_2_in_one_line(
    tmp_path: Path, content: str, expected: str
) -> None:
    target = tmp_path / "broken.har"
    target.write_text(content, encoding="utf-8")
    code, out, err = _offline("--api", "kibana", "--har", str(target))
    assert code == 2
    assert out == ""
    assert expected in err
    assert err.count("\n") == 1
    assert "Traceback" not in err


def test_har_and_base_url_exclude_each_other(tmp_path: Path) -> None:
    code, _, err = _offline(
        "--api", "kibana", "--har", str(tmp_path / "x.har"), "--base-url", "http://x"
    )
    assert code == 2
    assert "--base-url applies to a live check" in err


def test_check_record_writes_the_live_run_for_an_offline_check(
    tmp_path: Path, app_factory: Any
) -> None:
    secret = "sk-live-0123456789abcdef"
    target = tmp_path / "session.har"
    with serve(app_factory()) as url:
        code, out, _ = _offline(
            "--api", "kibana", "--base-url", url, "--api-key", secret, "--record", str(target),
            "--format", "json",
        )  # fmt: skip
    assert code == 0
    live = json.loads(out)
    assert secret not in target.read_text(encoding="utf-8")
    entries = read_har(target)
    assert len(entries) == live["requests"]
    assert entries[0].request_header("authorization") == "[redacted]"
    code, out, _ = _offline("--api", "kibana", "--har", str(target), "--format", "json")
    offline = json.loads(out)
    assert code == 0
    assert offline["operations_called"] == live["operations_called"]


def test_record_into_a_missing_directory_is_a_usage_error(tmp_path: Path) -> None:
    code, _, err = _offline(
        "--api", "kibana", "--base-url", "http://127.0.0.1:9", "--record",
        str(tmp_path / "nowhere" / "x.har"),
    )  # fmt: skip
    assert code == 2
    assert "is not a directory" in err


def test_checks_select_what_runs_offline(tmp_path: Path, app_factory: Any) -> None:
    mutant = next(m for m in MUTANTS if m.name == "step_lists_disagree")
    recording = record_kit_run(tmp_path, app_factory, "kibana", mutant)
    har = str(recording.path)
    code, out, _ = _offline(
        "--api", "kibana", "--har", har, "--checks", "body_matches_schema", "--format", "json"
    )
    assert code == 0
    assert json.loads(out)["checks"] == ["body_matches_schema"]
    code, _, _ = _offline("--api", "kibana", "--har", har, "--checks", "step_consistent")
    assert code == 1
    # Only checks that need requests of their own: nothing can be tested offline (exit 3).
    code, _, err = _offline("--api", "kibana", "--har", har, "--checks", "auth_required")
    assert code == 3
    assert "could be tested offline" in err
    assert "offline: the check sends requests of its own" in err


def test_a_recording_is_judged_with_fewer_garbage_collections(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import gc

    import conformance._passive
    from conformance._cli_check import OFFLINE_GC_THRESHOLD
    from conformance.errors import TargetUnreachable

    seen: list[tuple[int, int, int]] = []

    def judge(*_: Any, **__: Any) -> Any:
        seen.append(gc.get_threshold())
        raise TargetUnreachable("nothing to judge")

    monkeypatch.setattr(conformance._passive, "judge_entries", judge)
    har = tmp_path / "empty.har"
    har.write_text(json.dumps({"log": {"version": "1.2", "entries": []}}))
    before = gc.get_threshold()
    code, _, err = _offline("--api", "arcee", "--har", str(har))
    assert code == 3, err
    assert seen == [(max(before[0], OFFLINE_GC_THRESHOLD), *before[1:])]
    assert gc.get_threshold() == before  # restored, even when the judging raised
