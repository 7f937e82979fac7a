"""Fuzzing the kit can trust: seeded, own budget, only what the document describes, the kit's own
errors never reported as findings, and a curl line that carries what was sent (rows 25, 26)."""

from __future__ import annotations

import json
import subprocess
import sys
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterable, Iterator
from dataclasses import replace
from typing import Any

import pytest

from conformance import _specs
from conformance.checks import CHECKS
from conformance.checks import fuzz as fuzz_module
from tests.conformance.mutants import MUTANTS, MutantMiddleware
from tests.mock_server._process import ServedMock

pytestmark = pytest.mark.slow

Recorded = list[tuple[str, str, tuple[tuple[str, str], ...]]]
# Headers every request carries whatever was generated (transport, client and credential).
TRANSPORT = {
    "host",
    "user-agent",
    "accept",
    "accept-encoding",
    "connection",
    "authorization",
    "x-api-key",
    "x-schemathesis-testcaseid",
}


def recording(app: Any) -> Recorded:
    """Record (path, query, headers) of every request the app receives."""
    seen: Recorded = []
    inner = app.wsgi_app

    def wsgi(environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        headers = [
            (key[5:].replace("_", "-").lower(), str(value))
            for key, value in environ.items()
            if key.startswith("HTTP_")
        ]
        for key in ("CONTENT_LENGTH", "CONTENT_TYPE"):
            if environ.get(key):
                headers.append((key.replace("_", "-").lower(), str(environ[key])))
        seen.append((environ["PATH_INFO"], environ.get("QUERY_STRING", ""), tuple(sorted(headers))))
        result: Iterable[bytes] = inner(environ, start_response)
        return result

    app.wsgi_app = wsgi
    return seen


def _declared_headers(api: str) -> set[str]:
    return {
        str(parameter["name"]).lower()
        for operation in _specs.operations(api)
        for parameter in operation.parameters
        if parameter and parameter.get("in") == "header"
    }


@pytest.fixture(scope="module")
def served_mock() -> Iterator[ServedMock]:
    """``stepspec mock`` as a user serves it: gunicorn and the envelope worker answer what the
    HTTP layer rejects (a werkzeug test server would answer a long request line with its own
    HTML 414, which the mock never sends)."""
    mock = ServedMock("--workers", "1", "--auto-runs", "0", "--seed", "0")
    try:
        yield mock
    finally:
        mock.interrupt()


@pytest.mark.parametrize("api", _specs.APIS)
def test_negative_fuzzing_conforms_on_the_clean_mock(
    api: str, served_mock: ServedMock, run_check: Callable[..., Any]
) -> None:
    """Rows 25/26: Arcee/Trigify failed on Hypothesis' Unsatisfiable, Kibana on a generated
    Content-Length that gunicorn answered with HTML, and fuzzing starved 17 other cases."""
    result = run_check(
        "--api", api, "--base-url", served_mock.url, "--fuzz", "20", "--fuzz-negative",
        "--fuzz-seed", "1", "--format", "json",
    )  # fmt: skip
    report = json.loads(result.stdout)
    assert report["findings"] == [], json.dumps(report["findings"], indent=2)[:3000]
    assert result.exit_code == 0
    assert report["fuzz_seed"] == 1
    # Fuzzing has its own budget: nothing else went untested for want of requests.
    skipped = {case["check"] for case in report["cases"] if case["outcome"] == "not_tested"}
    assert skipped <= {"auth_rejects_invalid"}, skipped
    assert any("--fuzz-seed 1 generates the same cases again" in n for n in report["notes"])


def test_the_same_seed_generates_the_same_cases(app_factory: Any, served: Any) -> None:
    """Two runs of ``stepspec check --fuzz-seed N`` (two processes, as a user reruns a failing
    job) send the same generated requests; another seed sends others."""
    app = app_factory()
    app.testing = False
    seen = recording(app)
    runs: list[Recorded] = []
    with served(app) as url:
        for seed in ("42", "42", "43"):
            seen.clear()
            result = subprocess.run(
                [
                    sys.executable, "-c", "from conformance.cli import main; main()", "check",
                    "--api", "kibana", "--base-url", url, "--api-key", "k", "--checks", "fuzz",
                    "--fuzz", "5", "--fuzz-negative", "--fuzz-seed", seed,
                ],
                capture_output=True, text=True, timeout=120, check=False,
            )  # fmt: skip
            assert result.returncode == 0, result.stdout + result.stderr
            runs.append(
                [
                    (path, query, tuple(h for h in headers if h[0] != "x-schemathesis-testcaseid"))
                    for path, query, headers in seen
                ]
            )
    assert len(runs[0]) > 20
    assert runs[0] == runs[1]
    assert runs[0] != runs[2]


def test_negative_fuzzing_sends_only_headers_the_document_describes(
    app_factory: Any, served: Any, run_check: Callable[..., Any]
) -> None:
    """Row 26: undeclared headers (a mutated Content-Length among them) reached the server."""
    app = app_factory()
    app.testing = False
    seen = recording(app)
    with served(app) as url:
        result = run_check(
            "--api", "kibana", "--base-url", url, "--checks", "fuzz", "--fuzz", "20",
            "--fuzz-negative", "--fuzz-seed", "7",
        )  # fmt: skip
    assert result.exit_code == 0, result.output
    allowed = TRANSPORT | _declared_headers("kibana")
    sent = {name for _, _, headers in seen for name, _ in headers}
    assert len(seen) > 100
    assert sent <= allowed, sent - allowed


def test_a_fuzz_finding_reproduces_with_every_header_sent(
    app_factory: Any, served: Any, run_check: Callable[..., Any]
) -> None:
    mutant = next(m for m in MUTANTS if m.name == "server_error_on_big_limits")
    app = app_factory()
    app.testing = False
    app.wsgi_app = MutantMiddleware(app.wsgi_app, mutant)
    with served(app) as url:
        result = run_check(
            "--api", "arcee", "--base-url", url, "--checks", "fuzz", "--fuzz", "10",
            "--fuzz-seed", "3", "--format", "json",
        )  # fmt: skip
    report = json.loads(result.stdout)
    assert result.exit_code == 1
    finding = next(f for f in report["findings"] if f["check"] == "fuzz")
    for header in ("User-Agent:", "Accept:", "X-Schemathesis-TestCaseId:", "Authorization:"):
        assert header in finding["curl"], finding["curl"]
    assert "$STEPSPEC_API_KEY" in finding["curl"]
    assert "--fuzz-seed 3" in finding["detail"]


def test_nothing_to_make_invalid_is_a_note_not_a_finding(
    live_server: Any, run_check: Callable[..., Any]
) -> None:
    """Row 25: ``Unsatisfiable`` was reported as ``FAIL fuzz - ((target))``."""
    result = run_check(
        "--api", "arcee", "--base-url", live_server.url, "--checks", "fuzz", "--fuzz", "5",
        "--fuzz-negative", "--fuzz-seed", "2",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "((target))" not in result.stdout
    assert "leaves nothing to make invalid in listWorkflows (negative)" in result.stdout


def _boom(*_: Any) -> Any:
    raise RuntimeError("the kit broke")


@pytest.mark.parametrize("fmt", ["text", "json", "junit"])
def test_a_check_that_breaks_is_not_tested_in_every_format(
    fmt: str, live_server: Any, run_check: Callable[..., Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(CHECKS, "body_parses", replace(CHECKS["body_parses"], func=_boom))
    monkeypatch.setattr(fuzz_module, "_call", _boom)
    result = run_check(
        "--api", "trigify", "--base-url", live_server.url,
        "--checks", "body_parses,fuzz,content_type_json",
        "--fuzz", "2", "--fuzz-seed", "0", "--format", fmt,
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    own = "the check itself failed (RuntimeError: the kit broke)"
    fuzzer = "failed inside schemathesis/Hypothesis, not on the server: RuntimeError"
    if fmt == "text":
        assert own in result.stdout
        assert fuzzer in result.stdout
        assert "FAIL" not in result.stdout
    elif fmt == "json":
        report = json.loads(result.stdout)
        assert report["findings"] == []
        reasons = {case["check"]: case["reason"] for case in report["cases"]}
        outcomes = {(case["check"], case["outcome"]) for case in report["cases"]}
        assert outcomes == {
            ("body_parses", "not_tested"),
            ("fuzz", "not_tested"),
            ("content_type_json", "passed"),
        }
        assert own in reasons["body_parses"]
        assert fuzzer in reasons["fuzz"]
    else:
        suite = ET.fromstring(result.stdout).find("testsuite")
        assert suite is not None
        assert suite.get("failures") == "0"
        messages = [s.get("message", "") for s in suite.iter("skipped")]
        assert any(own in m for m in messages)
        assert any(fuzzer in m for m in messages)
        seed = [p for p in suite.iter("property") if p.get("name") == "fuzz_seed"]
        assert seed
        assert seed[0].get("value") == "0"


def test_fuzzing_has_its_own_budget(live_server: Any, run_check: Callable[..., Any]) -> None:
    """Row 26: fuzzing used up --max-requests, and 17 other cases went untested."""
    result = run_check(
        "--api", "kibana", "--base-url", live_server.url, "--fuzz", "20", "--fuzz-negative",
        "--fuzz-seed", "4", "--max-fuzz-requests", "30", "--max-requests", "150",
        "--format", "json",
    )  # fmt: skip
    report = json.loads(result.stdout)
    assert result.exit_code == 0, report["findings"]
    assert any("30 requests from their own budget" in note for note in report["notes"])
    skipped = [case for case in report["cases"] if case["outcome"] == "not_tested"]
    assert any("--max-fuzz-requests 30" in case["reason"] for case in skipped)
    # Every other case ran: only the fuzzer and the key-enforcement probe were left out.
    assert {case["check"] for case in skipped} <= {"fuzz", "auth_rejects_invalid"}
    assert not any("--max-requests" in (case["reason"] or "") for case in skipped)
