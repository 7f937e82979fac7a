"""``stepspec check`` as a front end: options, exit codes, reports, secrets kept out."""

from __future__ import annotations

import json
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest

from conformance.checks import CHECKS, FAMILIES
from conformance.runner import plan
from tests.conformance.mutants import MUTANTS, MutantMiddleware

SECRET = "sk-live-5ecret-value-that-must-never-leak"


def test_list_documents_every_check(run_check: Any) -> None:
    result = run_check("--list")
    assert result.exit_code == 0
    for name, chk in CHECKS.items():
        assert name in result.stdout
        assert chk.description.split()[0] in result.stdout
    for family in FAMILIES:
        assert f"{family}:" in result.stdout


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--base-url", "http://127.0.0.1:1"], "--api is required"),
        (["--api", "kibana"], "--base-url is required"),
        (["--api", "kibana", "--base-url", "ftp://x"], "must start with http"),
        (["--api", "kibana", "--base-url", "http://x", "--checks", "nope"], "unknown check"),
        (["--api", "kibana", "--base-url", "http://x", "--header", "no-colon"], "--header"),
        (["--api", "arcee", "--base-url", "http://x", "--space", "s"], "--space only applies"),
        (["--api", "arcee", "--base-url", "http://x", "--run-id", "r"], "needs --workflow-id"),
    ],
)
def test_usage_errors_exit_2_with_one_line(args: list[str], message: str, run_check: Any) -> None:
    result = run_check(*args)
    assert result.exit_code == 2
    assert message in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert "Traceback" not in result.output


def test_unknown_check_lists_the_known_ones(run_check: Any) -> None:
    result = run_check("--api", "kibana", "--base-url", "http://x", "--checks", "fuz")
    assert "known checks:" in result.stderr
    assert "body_matches_schema" in result.stderr


def test_a_refused_credential_is_exit_3_with_advice(
    app_factory: Any, served: Any, run_check: Any
) -> None:
    app = app_factory(api_keys=("the-right-key",))
    app.testing = False
    with served(app) as url:
        result = run_check("--api", "kibana", "--base-url", url, "--api-key", SECRET)
    assert result.exit_code == 3
    assert "refused the first request with 401" in result.stderr
    assert SECRET not in result.output


def test_the_console_script_exits_3_without_a_traceback() -> None:
    completed = subprocess.run(
        [
            sys.executable,
            "-c",
            "from conformance.cli import main; main()",
            "check",
            "--api",
            "trigify",
            "--base-url",
            "http://127.0.0.1:9",
            "--timeout",
            "1",
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert completed.returncode == 3, completed.stderr
    assert "could not test" in completed.stderr
    assert "Traceback" not in completed.stderr


def _leaky_app(app_factory: Any) -> Any:
    """The mock, made to echo the credential into 404 bodies (the worst case for leaks)."""
    mutant = next(m for m in MUTANTS if m.name == "wrong_error_envelope")
    app = app_factory()
    app.testing = False
    inner = MutantMiddleware(app.wsgi_app, mutant)

    def capture(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
        captured.update(s=status, h=headers)
        return lambda data: None

    def echo(environ: dict[str, Any], start_response: Any) -> Any:
        seen = environ.get("HTTP_AUTHORIZATION", "")
        body = b"".join(inner(environ, capture))
        if captured["s"].startswith("4") and seen:  # the probes without a key echo nothing
            body = json.dumps({"statusCode": f"rejected {seen}", "error": "x"}).encode()
        headers = [(k, v) for k, v in captured["h"] if k.lower() != "content-length"]
        start_response(captured["s"], [*headers, ("Content-Length", str(len(body)))])
        return [body]

    captured: dict[str, Any] = {}
    return echo


@pytest.mark.parametrize("fmt", ["text", "json", "junit"])
def test_secrets_never_appear_in_any_report(
    fmt: str, app_factory: Any, served: Any, run_check: Any, tmp_path: Path
) -> None:
    out = tmp_path / f"report.{fmt}"
    with served(_leaky_app(app_factory)) as url:
        result = run_check(
            "--api",
            "kibana",
            "--base-url",
            url,
            "--api-key",
            SECRET,
            "--header",
            f"X-Extra: {SECRET}-header",
            "--format",
            fmt,
            "--output",
            str(out),
        )
    text = out.read_text()
    assert result.exit_code == 1
    assert "error_envelope" in text  # the leak path was exercised
    assert SECRET not in text
    assert SECRET not in result.output
    assert "rejected ApiKey $STEPSPEC_API_KEY" in text  # the echoed key, masked


def test_api_key_from_the_environment(live_server: Any, run_check: Any) -> None:
    result = run_check(
        "--api",
        "arcee",
        "--base-url",
        live_server.url,
        "--checks",
        "auth_required",
        env={"STEPSPEC_API_KEY": SECRET},
    )
    assert result.exit_code == 0, result.output
    assert SECRET not in result.output


def test_junit_has_one_case_per_check_and_operation(
    live_server: Any, run_check: Any, tmp_path: Path
) -> None:
    out = tmp_path / "report.xml"
    result = run_check(
        "--api", "trigify", "--base-url", live_server.url, "--format", "junit", "--output", str(out)
    )
    assert result.exit_code == 0
    suite = ET.parse(out).getroot().find("testsuite")
    assert suite is not None
    cases = {(c.get("name"), c.get("classname")) for c in suite.iter("testcase")}
    expected = {(check, f"stepspec.trigify.{op}") for check, op, _ in plan("trigify")}
    assert cases == expected
    assert suite.get("failures") == "0"
    skipped = [c for c in suite.iter("testcase") if c.find("skipped") is not None]
    assert all(c.find("skipped").get("message") for c in skipped)  # type: ignore[union-attr]


def test_json_report_shape(live_server: Any, run_check: Any) -> None:
    result = run_check("--api", "arcee", "--base-url", live_server.url, "--format", "json")
    report = json.loads(result.stdout)
    assert report["format"] == "stepspec-check"
    assert report["conforms"] is True
    assert report["version"] == 2
    assert set(report["counts"]) == {"passed", "failed", "warned", "not_tested"}
    assert report["operations_called"]
    assert report["requests"] > 0
    assert {case["outcome"] for case in report["cases"]} <= {"passed", "not_tested"}
