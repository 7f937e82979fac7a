"""``stepspec drift``: what recorded traffic says about the schemas.

A mutant of the Trigify mock adds a field to the execution detail, drops its optional ``error``,
answers a status outside the documented enum and a negative ``duration_ms`` (which an inferred
rule forbids); drift reports each. The clean mock's traffic contradicts nothing.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from conformance._cli_drift import drift_command
from conformance._drift import as_dict, drift
from tests.conformance.mutants import TRIGIFY_EXECUTION, Mutant, edit_json, on
from tests.conformance.recording import record_kit_run

pytestmark = pytest.mark.slow

DURATION_RULE = "trigify:execution#/properties/duration_ms/allOf/0"


def _drifted(body: Any) -> None:
    data = body["data"]
    data["region"] = "eu-west-1"
    data.pop("error", None)
    data["status"] = "paused"
    data["duration_ms"] = -5


DRIFTING = Mutant(
    "drifting_execution",
    "trigify",
    "body_matches_schema",
    "an execution with a new field, without its optional error, an unknown status",
    response=on(TRIGIFY_EXECUTION)(edit_json(_drifted)),
)


def _drift(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(drift_command, list(args), catch_exceptions=False)
    return result.exit_code, result.stdout, result.stderr


def _schema(report: dict[str, Any], label: str) -> dict[str, Any]:
    return next(item for item in report["schemas"] if item["schema"] == label)


def _rule(report: dict[str, Any], label: str) -> dict[str, Any]:
    return next(item for item in report["inferred_rules"] if item["rule"] == label)


def test_drift_reports_each_kind_of_drift(tmp_path: Path, app_factory: Any) -> None:
    recording = record_kit_run(tmp_path, app_factory, "trigify", DRIFTING)
    code, out, _ = _drift(str(recording.path), "--api", "trigify", "--format", "json")
    assert code == 0
    report = json.loads(out)
    execution = _schema(report, "trigify:execution")
    assert [f["field"] for f in execution["undocumented_fields"]] == ["region"]
    added = execution["undocumented_fields"][0]
    assert added["example"] == "eu-west-1"
    assert added["count"] == execution["observed"] > 0
    assert added["at"] == "$.data.region"
    assert "error" in execution["never_seen"]
    outside = [v for v in report["values_outside"] if v["schema"] == "trigify:execution-status"]
    assert [(v["kind"], v["value"], v["at"]) for v in outside] == [
        ("enum", "paused", "$.data.status")
    ]
    duration = _rule(report, DURATION_RULE)
    assert duration["verdict"] == "contradicted"
    assert duration["example"] == -5
    assert duration["at"] == "$.data.duration_ms"
    assert duration["why"] == "-5 is less than the minimum of 0"
    # The list items were not touched: their own inferred duration rule still holds.
    listed = _rule(report, "trigify:execution-list-item#/properties/duration/allOf/0")
    assert listed["verdict"] == "confirmed"


def test_drift_on_clean_traffic_confirms_and_contradicts_nothing(
    tmp_path: Path, app_factory: Any
) -> None:
    recording = record_kit_run(tmp_path, app_factory, "trigify")
    report = as_dict(drift(recording.entries, api="trigify"))
    assert report["compared"] == len(recording.entries)
    assert all(not item["undocumented_fields"] for item in report["schemas"])
    assert report["values_outside"] == []
    verdicts = {rule["verdict"] for rule in report["inferred_rules"]}
    assert "contradicted" not in verdicts
    assert _rule(report, DURATION_RULE)["verdict"] == "confirmed"
    held = _rule(report, DURATION_RULE)
    assert held["held"] == held["observed"] > 0


def test_text_and_html_formats(tmp_path: Path, app_factory: Any) -> None:
    recording = record_kit_run(tmp_path, app_factory, "trigify", DRIFTING)
    code, text, _ = _drift(str(recording.path))
    assert code == 0
    assert "region: seen" in text
    assert f"CONTRADICTED  {DURATION_RULE}" in text
    assert "'paused'" in text
    target = tmp_path / "drift.html"
    code, out, err = _drift(str(recording.path), "--format", "html", "-o", str(target))
    assert code == 0
    assert out == ""
    assert "report written to" in err
    page = target.read_text(encoding="utf-8")
    assert page.startswith("<!doctype html>")
    assert "eu-west-1" in page
    assert "<script" not in page


def test_drift_on_a_file_that_is_not_har_is_exit_2(tmp_path: Path) -> None:
    target = tmp_path / "notes.har"
    target.write_text("[1, 2, 3]", encoding="utf-8")
    code, out, err = _drift(str(target))
    assert code == 2
    assert out == ""
    assert "is not a HAR file" in err
    assert err.count("\n") == 1
