"""Progress on stderr (row 55): shown when stderr is a terminal, absent otherwise or with --quiet.

The commands run in a subprocess whose stderr is the slave side of a pseudo-terminal
(``os.openpty``), as in a user's terminal; the test reads what appeared on the master side.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

pytestmark = pytest.mark.slow

ENTRY = [sys.executable, "-c", "from conformance.cli import main; main()"]


def run_with_tty_stderr(*args: str) -> tuple[int, str, str]:
    """Run ``stepspec *args`` with stderr on a pty; (exit code, stdout, what the tty showed)."""
    master, slave = os.openpty()
    try:
        process = subprocess.Popen(
            [*ENTRY, *args], stdout=subprocess.PIPE, stderr=slave, stdin=subprocess.DEVNULL
        )
    finally:
        os.close(slave)
    shown = bytearray()
    while True:
        try:
            chunk = os.read(master, 65536)
        except OSError:  # EIO: the child closed the terminal
            break
        if not chunk:
            break
        shown += chunk
    os.close(master)
    stdout, _ = process.communicate(timeout=120)
    return process.returncode, stdout.decode(), shown.decode(errors="replace")


def test_check_shows_progress_on_a_terminal(live_server: Any) -> None:
    code, stdout, shown = run_with_tty_stderr(
        "check", "--api", "kibana", "--base-url", live_server.url, "--api-key", "k",
        "--fuzz", "3", "--fuzz-seed", "0",
    )  # fmt: skip
    assert code == 0, stdout + shown
    assert "stepspec check: discovery" in shown
    assert "stepspec check: fuzz" in shown
    assert " requests" in shown
    assert re.search(r"\d+/\d+ cases", shown)
    assert "findings so far" in shown or "finding so far" in shown
    assert shown.endswith("\r\x1b[K")  # the line is erased before the report
    assert "CONFORMS" in stdout


def test_check_is_silent_without_a_terminal_or_with_quiet(live_server: Any) -> None:
    piped = subprocess.run(
        [*ENTRY, "check", "--api", "arcee", "--base-url", live_server.url, "--api-key", "k"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert piped.returncode == 0
    assert piped.stderr == ""
    code, stdout, shown = run_with_tty_stderr(
        "check", "--api", "arcee", "--base-url", live_server.url, "--api-key", "k", "--quiet"
    )
    assert code == 0
    assert shown == ""
    assert "CONFORMS" in stdout


def test_validate_shows_progress_over_many_files(tmp_path: Path) -> None:
    files = []
    for index in range(3):
        path = tmp_path / f"error-{index}.json"
        path.write_text('{"statusCode": 404, "error": "Not Found", "message": "Not Found"}')
        files.append(str(path))
    code, stdout, shown = run_with_tty_stderr("validate", "--schema", "kibana:error", *files)
    assert code == 0, stdout + shown
    assert "stepspec validate: validating - 0/3 files" in shown
    assert stdout.count("valid against urn:stepspec:kibana:error") == 3
    code, _, shown = run_with_tty_stderr("validate", "-q", "--schema", "kibana:error", *files)
    assert code == 0
    assert shown == ""
