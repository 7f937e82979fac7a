"""``stepspec mock`` as a user meets it: mistakes are one line and exit 2, Ctrl-C is quick.

Every test runs the real command in its own process group on a free 127.0.0.1 port, the way a
user would (walkthrough rows 42-44, 5 and 7 of ``newcomer-walkthrough.md``).
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from tests.mock_server._process import LAUNCH, SERVERS, ServedMock, free_port

pytestmark = pytest.mark.slow

USAGE = 2


def run_mock(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """``stepspec mock ARGS`` that is expected to refuse to start (bounded by a timeout)."""
    return subprocess.run(
        [sys.executable, "-c", LAUNCH, "mock", *args],
        capture_output=True,
        text=True,
        timeout=20,
        env={**os.environ, **(env or {})},
    )


def assert_one_line_usage_error(result: subprocess.CompletedProcess[str], *needles: str) -> None:
    assert result.returncode == USAGE, result.stderr
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    for needle in needles:
        assert needle in lines[0], lines[0]


@pytest.fixture
def busy_port() -> Iterator[int]:
    """A port some other program listens on."""
    with socket.socket() as other:
        other.bind(("127.0.0.1", 0))
        other.listen()
        yield int(other.getsockname()[1])


@pytest.mark.parametrize("server", SERVERS)
def test_a_busy_port_is_one_line_naming_the_port(busy_port: int, server: str) -> None:
    result = run_mock("--port", str(busy_port), "--server", server)
    assert_one_line_usage_error(result, "--port", str(busy_port), "in use")
    assert "Connection in use" not in result.stderr  # no gunicorn retries


@pytest.mark.parametrize(
    ("host", "needle"),
    [("192.0.2.1", "not an address of this machine"), ("no-such-host.invalid", "not a known")],
)
def test_a_host_that_cannot_be_bound_is_one_line(host: str, needle: str) -> None:
    result = run_mock("--host", host, "--port", str(free_port()))
    assert_one_line_usage_error(result, "--host", needle)


def test_a_store_in_a_missing_folder_is_one_line(tmp_path: Path) -> None:
    store = tmp_path / "missing" / "state.sqlite3"
    result = run_mock("--port", str(free_port()), "--store", str(store))
    assert_one_line_usage_error(result, "--store", "does not exist")


def test_a_store_that_is_not_sqlite_is_one_line(tmp_path: Path) -> None:
    store = tmp_path / "notes.sqlite3"
    store.write_text("these are my notes, not a database\n" * 100)
    result = run_mock("--port", str(free_port()), "--store", str(store))
    assert_one_line_usage_error(result, "--store", "not a SQLite database")
    assert store.read_text().startswith("these are my notes")  # left as it was


def test_a_folder_as_store_and_an_unwritable_report_are_one_line(tmp_path: Path) -> None:
    assert_one_line_usage_error(
        run_mock("--port", str(free_port()), "--store", str(tmp_path)), "--store", "folder"
    )
    report = tmp_path / "missing" / "coverage.json"
    assert_one_line_usage_error(
        run_mock("--port", str(free_port()), "--coverage-report", str(report)),
        "--coverage-report",
    )


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (("--latency", "garbage"), "--latency: expected MS or MS-MS, got 'garbage'"),
        (("--latency", "800-100"), "--latency: range 800-100"),
        (("--error-rate", "1.5"), "--error-rate: 1.5 is not a share"),
        (("--error-rate", "abc"), "--error-rate: expected a number"),
        (("--seed", "abc"), "--seed: expected an integer, got 'abc'"),
        (("--seed", "-1"), "--seed: -1 is outside"),
        (("--workflows", "0"), "--workflows: 0 is outside"),
        (("--port", "70000"), "--port: 70000 is outside"),
        (("--time-scale", "0"), "--time-scale:"),
        (("--workers", "x"), "--workers: expected an integer"),
        (("--store", "http://h:1/0"), "--store: 'http://h:1/0' is neither a file path nor"),
        (("--store-prefix", "a b"), "--store-prefix: 'a b' must be 1-64 letters"),
        (("--server", "nginx"), "--server: 'nginx' is not one of gunicorn, granian"),
    ],
)
def test_a_bad_option_value_is_one_line_with_the_option_name(
    args: tuple[str, ...], needle: str
) -> None:
    assert_one_line_usage_error(run_mock(*args), needle)


@pytest.mark.parametrize(
    ("variable", "value", "needle"),
    [
        ("STEPSPEC_PORT", "abc", "STEPSPEC_PORT: expected an integer, got 'abc'"),
        ("STEPSPEC_LATENCY_MS", "-5", "STEPSPEC_LATENCY_MS: expected MS or MS-MS"),
        ("STEPSPEC_ERROR_RATE", "2", "STEPSPEC_ERROR_RATE: 2.0 is not a share"),
        ("STEPSPEC_STORE", "redis:///0", "STEPSPEC_STORE: 'redis:///0' must look like redis://"),
        ("STEPSPEC_STATE_PATH", "ftp://x", "STEPSPEC_STATE_PATH: 'ftp://x' is neither"),
        ("STEPSPEC_STORE_PREFIX", "a:b", "STEPSPEC_STORE_PREFIX: 'a:b' must be 1-64"),
        ("STEPSPEC_SERVER", "uwsgi", "STEPSPEC_SERVER: 'uwsgi' is not one of gunicorn"),
    ],
)
def test_a_bad_environment_variable_is_named(variable: str, value: str, needle: str) -> None:
    assert_one_line_usage_error(run_mock(env={variable: value}), needle)


@pytest.mark.parametrize(
    ("server", "group"),
    [("gunicorn", True), ("granian", True), ("granian", False)],
    ids=["gunicorn", "granian", "granian-master-alone"],
)
def test_ctrl_c_stops_at_once_even_with_a_request_in_flight(server: str, group: bool) -> None:
    # A request that sleeps 30 s holds a worker thread: gunicorn's own quick exit would wait
    # for that thread until the master kills the worker ("was sent SIGKILL"), granian's would
    # let it finish. ``kill -INT`` of granian's master alone must stop its workers as quickly.
    mock = ServedMock("--latency", "30000", "--workers", "1", server=server)
    try:
        slow = threading.Thread(target=_slow_request, args=(mock.url,), daemon=True)
        slow.start()
        time.sleep(0.5)  # the request is in the worker now
    finally:
        elapsed = mock.interrupt(group=group)
    assert mock.process.returncode == 0, mock.stderr
    assert elapsed < 2.0, (elapsed, mock.stderr)
    assert "SIGKILL" not in mock.stderr
    assert "Traceback" not in mock.stderr
    assert "[ERROR]" not in mock.stderr


def _slow_request(url: str) -> None:
    with contextlib.suppress(requests.RequestException):  # the server goes away mid-request
        requests.get(f"{url}/v1/workflows", timeout=40)


def test_a_temporary_store_is_removed_on_exit() -> None:
    mock = ServedMock("--workers", "1")
    try:
        found = re.search(r"live state in (\S+)\)", mock.stderr)
        assert found is not None, mock.stderr
        folder = Path(found.group(1)).parent
        assert folder.name.startswith("stepspec-mock-")
        assert requests.get(f"{mock.url}/v1/workflows", headers={"x-api-key": "k"}).ok
        assert folder.is_dir()
    finally:
        mock.interrupt()
    assert not folder.exists()


def test_a_given_store_is_kept_and_the_banner_lists_active_settings(tmp_path: Path) -> None:
    store = tmp_path / "state.sqlite3"
    mock = ServedMock(
        "--workers", "1", "--store", str(store), "--latency", "5-10", "--error-rate", "0.2",
        "--validate-responses", "--api-key", "secret",
    )  # fmt: skip
    mock.interrupt()
    assert store.is_file()
    banner = mock.stderr
    assert "Latency  5-10 ms" in banner
    assert "Errors   20% of requests" in banner
    assert "Validate every response" in banner
    assert "only the 1 key given with --api-key" in banner


@pytest.mark.parametrize("server", SERVERS)
def test_ctrl_c_keeps_every_counted_request_in_the_coverage_report(
    tmp_path: Path, server: str
) -> None:
    """Workers leave at once on Ctrl-C, but first write the coverage counts they hold."""
    report = tmp_path / "coverage.json"
    mock = ServedMock("--workers", "2", "--coverage-report", str(report), server=server)
    try:
        for _ in range(30):  # repeats: counted in memory, written later or on the way out
            requests.get(
                f"{mock.url}/v1/workflows",
                headers={"x-api-key": "k", "Connection": "close"},
                timeout=10,
            )
    finally:
        mock.interrupt()
    assert mock.process.returncode == 0, mock.stderr
    written = json.loads(report.read_text())
    assert sum(client["requests"] for client in written["clients"]) == 30


def test_an_app_without_a_store_path_removes_its_temporary_store_at_exit() -> None:
    """``create_app()`` without ``state_path`` (tests, notebooks) leaves no folder behind."""
    script = (
        "from mock_server import create_app\n"
        "app = create_app({'seed': 1})\n"
        "print(app.extensions['stepspec'].context.store.path)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60, check=True
    )
    store = Path(result.stdout.strip())
    assert store.parent.name.startswith("stepspec-mock-")
    assert not store.parent.exists()
