"""``stepspec proxy`` as a command: gunicorn in front of a real mock, mistakes, reports on exit,
and the memory a 10 MB body costs."""

from __future__ import annotations

import http.client
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from mock_server.viewer.screenshot import serve
from tests.mock_server.test_serve import free_port

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIEnvironment

pytestmark = pytest.mark.slow

MAIN = "import sys; from conformance.cli import main; main(sys.argv[1:])"
BIG = 10 * 1024 * 1024
"""A 10 MB answer: over the proxy's 8 MB judging cap, so it only streams through."""


def stepspec(*args: str, **kwargs: Any) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-c", MAIN, *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        **kwargs,
    )


def get(port: int, path: str, headers: dict[str, str] | None = None) -> tuple[int, bytes]:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        connection.request("GET", path, headers=headers or {})
        response = connection.getresponse()
        size, first = 0, b""
        while chunk := response.read(64 * 1024):  # read and drop: the test's memory stays flat
            first = first or chunk[:200]
            size += len(chunk)
        return response.status, first if size <= 200 else str(size).encode()
    finally:
        connection.close()


def wait_until_up(port: int, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        assert process.poll() is None, process.communicate()[1].decode()
        try:
            get(port, "/_stepspec/traffic?format=json")
            return
        except OSError:
            time.sleep(0.1)
    raise AssertionError(f"port {port} did not come up")


def worker_of(pid: int) -> int:
    children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    assert len(children) == 1, children
    return int(children[0])


def peak_rss_kb(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    raise AssertionError("no VmHWM")


@pytest.fixture
def big_upstream() -> Iterator[str]:
    """An upstream whose every answer is a 10 MB JSON body, sent with its length."""
    chunk = b" " * (1024 * 1024)

    def app(environ: WSGIEnvironment, start_response: StartResponse) -> Iterator[bytes]:
        start_response(
            "200 OK", [("Content-Type", "application/json"), ("Content-Length", str(BIG + 2))]
        )
        yield b"["
        for _ in range(BIG // len(chunk)):
            yield chunk
        yield b"]"

    with serve(app) as url:
        yield url


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (["--api", "kibana", "--target", "ftp://example.com"], "--target: 'ftp://example.com'"),
        (
            ["--api", "kibana", "--target", "http://x", "--upstream-header", "Authorization"],
            "--upstream-header: ",
        ),
        (
            ["--api", "kibana", "--target", "http://x", "--upstream-timeout", "0"],
            "--upstream-timeout: ",
        ),
        (
            ["--api", "kibana", "--target", "http://x", "--cors-origin", "localhost"],
            "--cors-origin: ",
        ),
        (["--api", "nope", "--target", "http://x"], "'nope'"),
        (["--api", "arcee", "--target", "http://x", "--record", "/nonexistent/s.har"], "record"),
        (["--api", "arcee", "--target", "http://x", "--report", "/nonexistent/r.txt"], "report"),
    ],
)
def test_mistakes_are_one_line_and_exit_2(args: list[str], says: str) -> None:
    process = stepspec("proxy", *args)
    _, errors = process.communicate(timeout=60)
    lines = errors.decode().strip().splitlines()
    assert process.returncode == 2
    assert len(lines) == 1 or lines[-1].startswith("Error:"), lines
    assert says in errors.decode()
    assert b"Traceback" not in errors


def test_a_port_in_use_is_one_line_and_exit_2() -> None:
    import socket

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        process = stepspec("proxy", "--api", "arcee", "--target", "http://x", "--port", str(port))
        _, errors = process.communicate(timeout=60)
    assert process.returncode == 2
    assert errors.decode().strip().splitlines() == [
        f"stepspec: usage error: --port: cannot listen on 127.0.0.1:{port}: Address already in use"
    ]


@pytest.mark.parametrize("stop", [signal.SIGTERM, signal.SIGINT])
def test_served_proxy_writes_recording_and_report_on_exit(
    stop: signal.Signals, app_factory: Any, tmp_path: Path
) -> None:
    app = app_factory()
    app.testing = False
    port = free_port()
    har, report = tmp_path / "s.har", tmp_path / "r.json"
    with serve(app) as target:
        process = stepspec(
            "proxy",
            "--api",
            "kibana",
            "--target",
            target,
            "--port",
            str(port),
            "--record",
            str(har),
            "--report",
            str(report),
            "--format",
            "json",
        )
        try:
            wait_until_up(port, process)
            assert get(port, "/api/workflows", {"Authorization": "ApiKey k"})[0] == 200
            assert get(port, "/api/workflows/executions/x", {"Authorization": "ApiKey k"})[0] == 404
            time.sleep(0.5)  # the exchange is logged after its body ended
        finally:
            process.send_signal(stop)
            _, errors = process.communicate(timeout=30)
    text = errors.decode()
    assert process.returncode == 0, text
    assert "Traceback" not in text
    assert f"stepspec proxy: http://127.0.0.1:{port} -> {target} (judged as kibana)" in text
    assert "/_stepspec/traffic" in text
    verdict = json.loads(report.read_text())
    assert verdict["operations_called"] == {"getExecution": 1, "listWorkflows": 1}
    assert verdict["findings"] == []
    assert len(json.loads(har.read_text())["log"]["entries"]) == 2


def test_a_10_mb_body_streams_through_in_bounded_memory(big_upstream: str) -> None:
    port = free_port()
    process = stepspec("proxy", "--api", "arcee", "--target", big_upstream, "--port", str(port))
    try:
        wait_until_up(port, process)
        worker = worker_of(process.pid)
        path = "/api/v1/workflow/workflows"
        assert get(port, path)[0] == 200  # warm: imports, judge, connection pool
        before = peak_rss_kb(worker)
        for _ in range(2):
            assert get(port, path) == (200, str(BIG + 2).encode())
        grown = peak_rss_kb(worker) - before
    finally:
        process.send_signal(signal.SIGTERM)
        _, errors = process.communicate(timeout=30)
    assert grown < 4 * 1024, f"the proxy's peak memory grew by {grown} KB for a 10 MB body"
    assert process.returncode == 0, errors.decode()


def test_big_bodies_are_counted_as_not_judged(big_upstream: str, tmp_path: Path) -> None:
    from mock_server.proxy import ProxyConfig, create_proxy

    lines: list[str] = []
    har = tmp_path / "big.har"
    proxy = create_proxy(
        ProxyConfig(api="arcee", target=big_upstream, record=str(har)), emit=lines.append
    )
    with serve(proxy) as url:
        port = int(url.rsplit(":", 1)[1])
        assert get(port, "/api/v1/workflow/workflows") == (200, str(BIG + 2).encode())
        assert proxy.traffic.wait_idle(30, exchanges=1)
        snapshot = proxy.traffic.snapshot()
    proxy.close()
    row = snapshot["exchanges"][0]
    assert (row["judged"], snapshot["counts"]["unjudged"]) == (False, 1)
    assert "over the 8 MB judging cap" in row["note"]
    assert json.loads(har.read_text())["log"]["entries"] == []
    assert os.path.getsize(har) < 4096
