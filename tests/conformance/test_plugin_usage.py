"""The pytest plugin's user mistakes (rows 29, 30, 31, 32), in a subprocess as a user runs pytest:
one line, a documented exit code, no traceback, and messages that name ``--stepspec-*`` options.

Exit codes: pytest's own 4 for a usage error found at configuration time; the CLI's 3 (could not
test) and 2 (an id the server does not know) when the session stops at its first case.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

pytestmark = pytest.mark.slow

USER_TEST = "def test_stepspec(stepspec_case):\n    stepspec_case.verify()\n"
PYTEST_USAGE_ERROR = 4


def user_pytest(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    (tmp_path / "test_api.py").write_text(USER_TEST)
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *args],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.mark.parametrize(
    ("args", "said"),
    [
        ((), "--stepspec-api (kibana, arcee or trigify) is required"),
        (("--stepspec-api", "kibanna"), "unknown API 'kibanna'"),
        (("--stepspec-api", "arcee", "--stepspec-space", "s"), "--stepspec-space only applies"),
        (("--stepspec-api", "arcee", "--stepspec-fuzz", "many"), "--stepspec-fuzz must be an"),
        (("--stepspec-api", "kibana", "--stepspec-header", "garbage"), "--stepspec-header"),
        (("--stepspec-api", "kibana", "--stepspec-checks", "nope"), "unknown check"),
        (
            ("--stepspec-api", "trigify", "--stepspec-run-id", "r"),
            "--stepspec-run-id needs --stepspec-workflow-id",
        ),
    ],
)
def test_plugin_usage_errors_are_one_line(
    args: tuple[str, ...], said: str, tmp_path: Path, live_server: Any
) -> None:
    """Row 30: a 50-line traceback through schemathesis' hook wrapper."""
    result = user_pytest(tmp_path, "--stepspec-base-url", live_server.url, *args)
    assert result.returncode == PYTEST_USAGE_ERROR, result.stdout + result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("ERROR: stepspec:")
    assert said in lines[0]
    assert "Traceback" not in result.stdout + result.stderr


def test_plugin_refused_key_names_the_pytest_option(
    tmp_path: Path, app_factory: Any, served: Any
) -> None:
    """Row 29: 106 failures telling the user to "pass --api-key", a CLI-only option."""
    app = app_factory(api_keys=("the-right-key",))
    app.testing = False
    with served(app) as url:
        without = user_pytest(tmp_path, "--stepspec-api", "kibana", "--stepspec-base-url", url)
        refused = user_pytest(
            tmp_path, "--stepspec-api", "arcee", "--stepspec-base-url", url,
            "--stepspec-api-key", "wrong-key-123456",
        )  # fmt: skip
    for result in (without, refused):
        output = result.stdout + result.stderr
        assert result.returncode == 3, output
        assert output.count("stepspec: could not test") == 1
        assert "--stepspec-api-key" in output
        assert "pass --api-key" not in output
        assert "Traceback" not in output
        assert " failed" not in output
    assert "wrong-key-123456" not in refused.stdout + refused.stderr


def test_plugin_unknown_run_id_is_exit_2(tmp_path: Path, live_server: Any) -> None:
    result = user_pytest(
        tmp_path, "--stepspec-api", "kibana", "--stepspec-base-url", live_server.url,
        "--stepspec-api-key", "k", "--stepspec-run-id", "exec-nope-nope",
    )  # fmt: skip
    output = result.stdout + result.stderr
    assert result.returncode == 2, output
    assert "--stepspec-run-id 'exec-nope-nope' is not known to the server" in output


def test_plugin_options_match_the_cli(tmp_path: Path, live_server: Any) -> None:
    """Row 32: no --stepspec-space/-header/-max-requests/-fuzz-negative/ids; row 34: case."""
    result = user_pytest(
        tmp_path, "--stepspec-api", "Kibana", "--stepspec-base-url", live_server.url,
        "--stepspec-api-key", "k", "--stepspec-space", "default",
        "--stepspec-header", "X-Trace: abc", "--stepspec-max-requests", "300",
        "--stepspec-checks", "body_parses,fuzz", "--stepspec-fuzz", "2",
        "--stepspec-fuzz-negative", "--stepspec-fuzz-seed", "5",
        "--stepspec-max-fuzz-requests", "100", "-v",
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    assert " passed" in result.stdout
    # The session header names the seed that generates the same cases again.
    assert "--stepspec-fuzz 2 --stepspec-fuzz-seed 5" in result.stdout
    assert "X-Trace" not in result.stdout


@pytest.mark.parametrize(
    ("setting", "field"),
    [
        ("timeout", "timeout"),
        ("lifecycle_timeout", "lifecycle_timeout"),
        ("max_requests", "max_requests"),
        ("max_lifecycle_requests", "lifecycle_max_requests"),
        ("max_fuzz_requests", "max_fuzz_requests"),
        ("fuzz", "fuzz"),
    ],
)
def test_plugin_help_names_the_run_config_default(setting: str, field: str) -> None:
    """The help texts spell the defaults out (a cheap import); they are RunConfig's own."""
    from conformance._config import default
    from conformance.pytest_plugin import _SETTINGS

    value = default(field)
    shown = f"{value:g}" if isinstance(value, float) else str(value)
    assert f"(default {shown}" in _SETTINGS[setting][0]
