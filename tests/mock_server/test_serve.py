"""``serve``: the mock under gunicorn (and granian) on 127.0.0.1, answering, and stopping cleanly
on SIGTERM."""

from __future__ import annotations

import gc
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

from mock_server import MockConfig
from mock_server._serve import build_app
from mock_server.kibana import DOCUMENTED_EXECUTION_ID
from tests.mock_server._process import SERVERS

pytestmark = pytest.mark.slow

SCRIPT = """
import sys
from mock_server import MockConfig
from mock_server._serve import serve
serve(MockConfig(port=int(sys.argv[1]), workers=2, state_path=sys.argv[2], server=sys.argv[3]))
"""


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def wait_until_up(url: str, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        assert process.poll() is None, "server exited early"
        try:
            requests.get(url, timeout=1)
            return
        except requests.ConnectionError:
            time.sleep(0.1)
    raise AssertionError(f"{url} did not come up")


@pytest.mark.parametrize("server", SERVERS)
def test_real_server_answers_on_loopback_and_stops_on_sigterm(tmp_path: Path, server: str) -> None:
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-c", SCRIPT, str(port), str(tmp_path / "state.sqlite3"), server],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        base = f"http://127.0.0.1:{port}"
        wait_until_up(base, process)
        step = f"{base}/api/workflows/executions/{DOCUMENTED_EXECUTION_ID}/step/step-exec-001"
        answer = requests.get(step, headers={"Authorization": "ApiKey eDp5"}, timeout=5)
        assert answer.status_code == 200
        assert answer.json()["id"] == "step-exec-001"
        workflow = answer.json()["workflowId"]
        started = requests.post(
            f"{base}/api/workflows/workflow/{workflow}/run",
            headers={"Authorization": "ApiKey eDp5", "kbn-xsrf": "true"},
            json={"inputs": {}},
            timeout=5,
        ).json()["workflowExecutionId"]
        for _ in range(6):  # whichever worker answers, the run started by another is there
            seen = requests.get(
                f"{base}/api/workflows/executions/{started}",
                headers={"Authorization": "ApiKey eDp5"},
                timeout=5,
            )
            assert seen.status_code == 200
    finally:
        process.send_signal(signal.SIGTERM)
        _, errors = process.communicate(timeout=30)
    assert process.returncode == 0, errors.decode()
    assert b"Traceback" not in errors
    banner = errors.decode()
    assert f"listening on http://127.0.0.1:{port}" in banner
    for where in ("/api/workflows", "/api/v1/workflow/workflows", "/v1/workflows", "/_stepspec/"):
        assert f"http://127.0.0.1:{port}{where}" in banner


def test_the_app_the_workers_fork_with_is_frozen_out_of_the_collectors_reach(
    tmp_path: Path,
) -> None:
    """``build_app`` freezes what start-up made, so the workers' full collections skip it."""
    gc.unfreeze()
    try:
        app = build_app(MockConfig(state_path=str(tmp_path / "s.sqlite3")), None)
        assert gc.get_freeze_count() > 0
        assert all(o is not app for o in gc.get_objects())  # frozen objects are not listed
    finally:
        gc.unfreeze()
