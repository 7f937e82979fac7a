"""The walkthrough's "major" rows about the kit, as a user hits them: ``stepspec check`` in a
subprocess against real ports. A user's mistake or a target that is not the API is one line on
stderr with a documented exit code (2 usage, 3 could not test), never findings or a traceback.
"""

from __future__ import annotations

import http.server
import json
import re
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

pytestmark = pytest.mark.slow

KEY = "test-key"
SECRET = "sk-live-never-shown-0123456789"


def stepspec(*args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    """``stepspec`` through its console-script entry point, as a user runs it."""
    return subprocess.run(
        [sys.executable, "-c", "from conformance.cli import main; main()", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def one_line(result: subprocess.CompletedProcess[str]) -> str:
    """The single stderr line (asserting there is exactly one, and no traceback)."""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert "Traceback" not in result.stdout + result.stderr
    return lines[0]


@pytest.fixture
def static_server(tmp_path: Path) -> Iterator[str]:
    """``python3 -m http.server`` on a free port: a web server that is not any of the APIs."""

    def handler(*args: Any) -> http.server.SimpleHTTPRequestHandler:
        return _Quiet(*args, directory=str(tmp_path))

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass


ROOTS = {
    "kibana": "/api/workflows",
    "arcee": "/api/v1/workflow/workflows",
    "trigify": "/v1/workflows",
}


@pytest.mark.parametrize("api", ROOTS)
def test_a_web_server_that_is_not_the_api_is_exit_3_not_findings(
    api: str, static_server: str
) -> None:
    """Row 36: ``python3 -m http.server`` gave exit 1, ~20 findings and a false note."""
    result = stepspec("check", "--api", api, "--base-url", static_server, "--api-key", KEY)
    assert result.returncode == 3
    line = one_line(result)
    assert f"GET {ROOTS[api]} answered 404 text/html" in line
    assert "--base-url" in line
    assert "empty" not in line
    assert result.stdout == ""


@pytest.mark.parametrize(
    ("api", "path"),
    [("kibana", "/api/workflows"), ("arcee", "/api/v1/workflow"), ("trigify", "/v1")],
)
def test_a_base_url_that_holds_the_api_path_names_the_origin(
    api: str, path: str, live_server: Any
) -> None:
    """Row 37: ``--base-url http://host/api/workflows`` gave exit 1 and 2 fake findings."""
    result = stepspec("check", "--api", api, "--base-url", live_server.url + path, "--api-key", KEY)
    assert result.returncode == 3
    line = one_line(result)
    assert "answered 404" in line
    assert f"try --base-url {live_server.url}" in line
    assert "must be the" in line


@pytest.mark.parametrize(
    ("api", "ids", "option"),
    [
        ("kibana", ("--run-id", "exec-nope-nope"), "--run-id"),
        ("trigify", ("--workflow-id", "nope"), "--workflow-id"),
        ("arcee", ("--workflow-id", "nope"), "--workflow-id"),
    ],
)
def test_an_id_the_server_does_not_know_is_a_usage_error(
    api: str, ids: tuple[str, ...], option: str, live_server: Any
) -> None:
    """Row 38: a typo in ``--run-id`` gave exit 1 blaming the server (no 401, found 404)."""
    result = stepspec("check", "--api", api, "--base-url", live_server.url, "--api-key", KEY, *ids)
    assert result.returncode == 2
    line = one_line(result)
    assert f"{option} {ids[1]!r} is not known to the server" in line
    assert "answered 404" in line


def test_an_unknown_step_id_is_a_usage_error(live_server: Any) -> None:
    found = stepspec(
        "check", "--api", "kibana", "--base-url", live_server.url, "--api-key", KEY,
        "--checks", "body_parses", "--format", "json",
    )  # fmt: skip
    run = json.loads(found.stdout)["ids"]["run"]
    result = stepspec(
        "check", "--api", "kibana", "--base-url", live_server.url, "--api-key", KEY,
        "--run-id", run, "--step-id", "step-nope",
    )  # fmt: skip
    assert result.returncode == 2
    assert "--step-id 'step-nope' is not known to the server" in one_line(result)


def test_output_into_a_missing_folder_is_exit_2_before_any_request(tmp_path: Path) -> None:
    """Row 39: the whole run, then a FileNotFoundError traceback and exit 1."""
    missing = tmp_path / "no-such-folder" / "report.xml"
    # A closed port: had the run started, it would be exit 3 ("did not answer").
    result = stepspec(
        "check", "--api", "kibana", "--base-url", "http://127.0.0.1:9", "--api-key", KEY,
        "--format", "junit", "--output", str(missing),
    )  # fmt: skip
    assert result.returncode == 2
    line = one_line(result)
    assert "--output" in line
    assert "does not exist" in line
    assert not missing.parent.exists()


def test_a_refused_credential_names_the_cli_option(app_factory: Any, served: Any) -> None:
    """Rows 22/41: exit 3 with advice that names the option of this front end."""
    app = app_factory(api_keys=("the-right-key",))
    app.testing = False
    with served(app) as url:
        without = stepspec("check", "--api", "kibana", "--base-url", url)
        refused = stepspec("check", "--api", "arcee", "--base-url", url, "--api-key", SECRET)
    assert without.returncode == 3
    assert "pass --api-key" in one_line(without)
    assert refused.returncode == 3
    line = one_line(refused)
    assert "refused the first request with 401" in line
    assert "--api-key" in line
    assert "--stepspec-api-key" not in line
    assert SECRET not in refused.stdout + refused.stderr


def test_api_is_case_insensitive_and_click_errors_are_one_line(live_server: Any) -> None:
    """Row 34: ``--api Kibana`` was refused; click's errors took four lines."""
    ok = stepspec(
        "check", "--api", "Kibana", "--base-url", live_server.url, "--api-key", KEY,
        "--checks", "body_parses",
    )  # fmt: skip
    assert ok.returncode == 0, ok.stderr
    typo = stepspec("check", "--api", "kibanna", "--base-url", live_server.url)
    assert typo.returncode == 2
    line = one_line(typo)
    assert line.startswith("stepspec check: usage error:")
    assert "'kibanna'" in line
    unknown_option = stepspec("check", "--no-such-option")
    assert unknown_option.returncode == 2
    assert "--no-such-option" in one_line(unknown_option)


def test_the_empty_list_note_only_for_a_valid_empty_list(served: Any) -> None:
    """Row 36's false note: "the workflow list was empty" only when it was."""

    def app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        if environ["PATH_INFO"] == "/api/workflows":
            body = {"results": [], "page": 1, "size": 10, "total": 0}
            status = "200 OK"
        else:
            body = {"statusCode": 404, "error": "Not Found", "message": "Not Found"}
            status = "404 Not Found"
        start_response(status, [("Content-Type", "application/json")])
        return [json.dumps(body).encode()]

    with served(app) as url:
        result = stepspec(
            "check", "--api", "kibana", "--base-url", url, "--api-key", KEY, "--format", "json"
        )
    report = json.loads(result.stdout)
    assert any("the workflow list was empty" in note for note in report["notes"])


def test_an_unknown_kibana_workflow_answered_with_an_empty_list_is_noted(
    app_factory: Any, served: Any
) -> None:
    """A real Kibana answers an unknown workflow id with 200 and an empty list: say so."""
    app = app_factory()
    app.testing = False
    inner = app.wsgi_app

    def empty_for_nope(environ: dict[str, Any], start_response: Any) -> Any:
        if environ["PATH_INFO"].startswith("/api/workflows/workflow/nope/"):
            start_response("200 OK", [("Content-Type", "application/json")])
            return [json.dumps({"results": [], "page": 1, "size": 20, "total": 0}).encode()]
        return inner(environ, start_response)

    app.wsgi_app = empty_for_nope
    with served(app) as url:
        result = stepspec(
            "check", "--api", "kibana", "--base-url", url, "--api-key", KEY,
            "--workflow-id", "nope", "--format", "json",
        )  # fmt: skip
    notes = json.loads(result.stdout)["notes"]
    assert any("--workflow-id 'nope' has no runs on the server" in note for note in notes)
    assert not any("empty" in note and "workflow list" in note for note in notes)


def test_a_run_that_tested_little_warns_on_stderr(live_server: Any) -> None:
    """Row 40: ``--max-requests 5`` gave a silent CONFORMS with 63 of 106 cases untested."""
    result = stepspec(
        "check", "--api", "kibana", "--base-url", live_server.url, "--api-key", KEY,
        "--max-requests", "5",
    )  # fmt: skip
    assert result.returncode == 0
    line = one_line(result)
    assert line.startswith("stepspec check: warning:")
    assert "cases were not tested" in line
    assert "warning: " in result.stdout


def test_reports_echo_the_options_and_time_each_case(live_server: Any) -> None:
    """Row 23 (polish): JUnit ``time="0"`` everywhere; the header echoed only three options."""
    junit = stepspec(
        "check", "--api", "arcee", "--base-url", live_server.url, "--api-key", KEY,
        "--format", "junit",
    )  # fmt: skip
    times = [float(t) for t in re.findall(r'<testcase [^>]*time="([0-9.]+)"', junit.stdout)]
    assert times
    assert sum(times) > 0
    text = stepspec(
        "check", "--api", "arcee", "--base-url", live_server.url, "--api-key", KEY,
        "--strict", "--checks", "body_parses,fuzz", "--fuzz", "2", "--fuzz-seed", "9",
    )  # fmt: skip
    header = text.stdout.splitlines()[0]
    assert "--strict --checks body_parses,fuzz --fuzz 2 --fuzz-seed 9" in header
    assert "(warnings fail only with --strict)" not in text.stdout
