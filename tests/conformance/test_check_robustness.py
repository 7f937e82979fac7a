"""Bad servers: each misbehaviour becomes a finding or exit 3 - never a hang or a traceback.

Tiny raw-socket servers on 127.0.0.1 play one misbehaviour each (stall, drip, huge body,
redirect loop, non-JSON, truncated body); the runs use small timeouts so the suite stays fast.
"""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import pytest

from conformance._client import MAX_BODY, BoundedClient, ErrorKind

pytestmark = pytest.mark.slow

TIMEOUT = 0.5
Behaviour = Callable[[socket.socket, bytes], None]
WORKFLOWS = json.dumps([{"workflow_id": "wf-1"}]).encode()


@contextmanager
def raw_server(behaviour: Behaviour) -> Iterator[str]:
    """A server that hands every connection (and its request bytes) to ``behaviour``."""
    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(0.2)
    stop = threading.Event()

    def handle(conn: socket.socket) -> None:
        with conn:
            conn.settimeout(5)
            try:
                request = conn.recv(65536)
                behaviour(conn, request)
            except OSError:
                pass

    def accept() -> None:
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            threading.Thread(target=handle, args=(conn,), daemon=True).start()

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{listener.getsockname()[1]}"
    finally:
        stop.set()
        thread.join(timeout=2)
        listener.close()


def respond(
    body: bytes, *, status: str = "200 OK", ctype: str = "application/json", extra: str = ""
) -> bytes:
    head = (
        f"HTTP/1.1 {status}\r\nContent-Type: {ctype}\r\nContent-Length: {len(body)}\r\n"
        f"{extra}Connection: close\r\n\r\n"
    )
    return head.encode() + body


def stall(conn: socket.socket, request: bytes) -> None:
    time.sleep(3)


def drip(conn: socket.socket, request: bytes) -> None:
    conn.sendall(
        b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n"
    )
    for _ in range(50):
        conn.sendall(b" ")
        time.sleep(0.1)


def header_drip(conn: socket.socket, request: bytes) -> None:
    for byte in b"HTTP/1.1 200 OK\r\nX-Slow: " + b"a" * 100:
        conn.sendall(bytes([byte]))
        time.sleep(0.05)


def huge(conn: socket.socket, request: bytes) -> None:
    size = MAX_BODY + 5 * 1024 * 1024
    head = f"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {size}\r\n\r\n"
    conn.sendall(head.encode())
    chunk = b" " * 65536
    for _ in range(size // len(chunk)):
        conn.sendall(chunk)


def redirect_loop(conn: socket.socket, request: bytes) -> None:
    path = request.split(b" ")[1].decode()
    conn.sendall(respond(b"", status="302 Found", extra=f"Location: {path}\r\n"))


def html(conn: socket.socket, request: bytes) -> None:
    conn.sendall(respond(b"<html>hello</html>", ctype="text/html"))


def bad_gateway(conn: socket.socket, request: bytes) -> None:
    conn.sendall(
        respond(b"<html>502 Bad Gateway</html>", status="502 Bad Gateway", ctype="text/html")
    )


def not_json(conn: socket.socket, request: bytes) -> None:
    conn.sendall(respond(b"{not json"))


def truncated(conn: socket.socket, request: bytes) -> None:
    conn.sendall(
        b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 500\r\n\r\n[{"
    )


def rate_limited(conn: socket.socket, request: bytes) -> None:
    body = b'{"success":false,"message":"Rate limit exceeded","error":"RATE_LIMIT_EXCEEDED"}'
    conn.sendall(respond(body, status="429 Too Many Requests", extra="RateLimit-Reset: 60\r\n"))


def stall_after_discovery(conn: socket.socket, request: bytes) -> None:
    """Answers the workflow list, then stalls on everything else."""
    path = request.split(b" ")[1]
    if path.startswith(b"/api/v1/workflow/workflows?") or path == b"/api/v1/workflow/workflows":
        conn.sendall(respond(WORKFLOWS))
    else:
        time.sleep(3)


def speaks_the_api(behaviour: Behaviour) -> Behaviour:
    """Answers the Arcee workflow list (the kit's discovery root), ``behaviour`` elsewhere."""

    def answer(conn: socket.socket, request: bytes) -> None:
        path = request.split(b" ")[1]
        if path.split(b"?")[0] == b"/api/v1/workflow/workflows":
            conn.sendall(respond(WORKFLOWS))
        else:
            behaviour(conn, request)

    answer.__name__ = behaviour.__name__
    return answer


def _check(run_check: Any, url: str, *args: str) -> tuple[Any, float]:
    started = time.monotonic()
    result = run_check("--api", "arcee", "--base-url", url, "--timeout", str(TIMEOUT), *args)
    return result, time.monotonic() - started


def _report(result: Any) -> dict[str, Any]:
    report: dict[str, Any] = json.loads(result.stdout)
    return report


def test_connection_refused_is_exit_3(run_check: Any) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    result, elapsed = _check(run_check, f"http://127.0.0.1:{port}")
    assert result.exit_code == 3
    assert "could not test" in result.stderr
    assert "Traceback" not in result.output
    assert elapsed < 5


@pytest.mark.parametrize("behaviour", [stall, drip, header_drip], ids=lambda b: b.__name__)
def test_a_server_that_never_finishes_is_exit_3_within_the_timeout(
    behaviour: Behaviour, run_check: Any
) -> None:
    with raw_server(behaviour) as url:
        result, elapsed = _check(run_check, url)
    assert result.exit_code == 3, result.output
    assert "did not answer" in result.stderr
    assert elapsed < 10 * TIMEOUT


def test_stalling_operations_are_not_called_again(run_check: Any) -> None:
    with raw_server(stall_after_discovery) as url:
        result, elapsed = _check(run_check, url, "--format", "json")
    report = _report(result)
    assert result.exit_code == 1
    assert elapsed < 10 * TIMEOUT + 2
    titles = {f["title"] for f in report["findings"] if f["check"] == "response_complete"}
    assert titles == {"no complete response within the timeout"}
    assert "executionHistory" in report["not_tested"]
    assert report["operations_called"]["executionHistory"] == 1


@pytest.mark.parametrize(
    ("behaviour", "check", "title"),
    [
        (huge, "response_complete", "response body larger than 10 MB"),
        (redirect_loop, "response_complete", "redirect loop"),
        (truncated, "response_complete", "response body truncated"),
        (not_json, "body_parses", "body is not valid JSON"),
        (html, "content_type_json", "response is not declared as JSON"),
    ],
    ids=["huge-body", "redirect-loop", "truncated", "not-json", "html"],
)
def test_bad_responses_become_findings(
    behaviour: Behaviour, check: str, title: str, run_check: Any
) -> None:
    with raw_server(speaks_the_api(behaviour)) as url:
        result, elapsed = _check(run_check, url, "--format", "json")
    report = _report(result)
    assert result.exit_code == 1, result.output
    assert (check, title) in {(f["check"], f["title"]) for f in report["findings"]}
    assert elapsed < 10 * TIMEOUT + 2


@pytest.mark.parametrize(
    ("behaviour", "said"),
    [
        (huge, "answered 200 application/json"),
        (redirect_loop, "answered 302"),
        (truncated, "answered 200 application/json"),
        (not_json, "answered 200 application/json"),
        (html, "answered 200 text/html"),
        (bad_gateway, "answered 502 text/html: the server, or a proxy in front of it, failed"),
    ],
    ids=["huge-body", "redirect-loop", "truncated", "not-json", "html", "bad-gateway"],
)
def test_a_discovery_root_that_is_not_the_api_is_exit_3(
    behaviour: Behaviour, said: str, run_check: Any
) -> None:
    """No verdict on a server that was never shown to speak the API: one line, exit 3."""
    with raw_server(behaviour) as url:
        result, _ = _check(run_check, url)
    assert result.exit_code == 3, result.output
    assert said in result.stderr
    assert "GET /api/v1/workflow/workflows" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert result.stdout == ""


def test_client_bounds_a_drip_to_its_timeout() -> None:
    client = BoundedClient(timeout=TIMEOUT)
    with raw_server(drip) as url:
        started = time.monotonic()
        result = client.request("GET", url + "/x", {})
        elapsed = time.monotonic() - started
    assert result.error is not None
    assert result.error.kind is ErrorKind.TIMEOUT
    assert elapsed < TIMEOUT + 0.5


def test_client_never_sends_credentials_to_another_origin() -> None:
    seen: list[bytes] = []

    def record(conn: socket.socket, request: bytes) -> None:
        seen.append(request)
        conn.sendall(respond(b"{}"))

    with raw_server(record) as other:

        def bounce(conn: socket.socket, request: bytes) -> None:
            conn.sendall(respond(b"", status="302 Found", extra=f"Location: {other}/x\r\n"))

        with raw_server(bounce) as url:
            client = BoundedClient(timeout=2, secrets={"s3cret": "<key>"})
            result = client.request("GET", url + "/start", {"Authorization": "Bearer s3cret"})
    assert result.response is not None
    assert result.response.status == 200
    assert seen
    assert b"s3cret" not in seen[0]


def test_a_window_beyond_the_wait_budget_is_exit_3_without_waiting(run_check: Any) -> None:
    with raw_server(rate_limited) as url:
        started = time.monotonic()
        result = run_check(
            "--api",
            "trigify",
            "--base-url",
            url,
            "--timeout",
            str(TIMEOUT),
            "--max-rate-limit-wait",
            "1",
        )
        elapsed = time.monotonic() - started
    assert result.exit_code == 3
    assert "rate-limits" in result.stderr
    assert "resets in 60 s" in result.stderr
    assert elapsed < 5


def test_client_builds_its_tls_context_only_for_an_https_request(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import ssl

    from conformance._passive import PassiveJudge

    built: list[ssl.SSLContext] = []
    original = ssl.create_default_context

    def counting(*args: Any, **kwargs: Any) -> ssl.SSLContext:
        built.append(original(*args, **kwargs))
        return built[-1]

    monkeypatch.setattr(ssl, "create_default_context", counting)
    PassiveJudge("arcee")  # the offline judge sends nothing: no certificates to load
    client = BoundedClient(timeout=TIMEOUT)
    with raw_server(lambda conn, _: conn.sendall(respond(b"{}"))) as url:
        assert client.request("GET", url + "/x", {}).response is not None
        assert built == []
        # A TLS handshake against a plain server fails, but only after the context is built.
        assert client.request("GET", url.replace("http:", "https:") + "/x", {}).error
    assert len(built) == 1
    assert built[0].verify_mode is ssl.CERT_REQUIRED
    client.request("GET", url.replace("http:", "https:") + "/y", {})
    assert len(built) == 1  # built once per client


def test_one_shared_thread_watches_every_request_deadline() -> None:
    client = BoundedClient(timeout=TIMEOUT)
    with raw_server(lambda conn, _: conn.sendall(respond(b"{}"))) as url:
        before = threading.active_count()
        for _ in range(10):
            assert client.request("GET", url + "/x", {}).response is not None
        watchers = [t for t in threading.enumerate() if t.name == "stepspec-deadlines"]
        assert len(watchers) == 1
        assert threading.active_count() <= before + 1  # not a thread per request


def test_a_watchdog_fires_only_while_its_request_runs() -> None:
    from conformance._client import _Watchdog

    class Connection:
        def __init__(self) -> None:
            self.sock = self
            self.shut: list[int] = []

        def shutdown(self, how: int) -> None:
            self.shut.append(how)

    ended, stuck = Connection(), Connection()
    with _Watchdog(ended, 0.05) as done:  # type: ignore[arg-type]
        pass
    with _Watchdog(stuck, 0.05) as late:  # type: ignore[arg-type]
        time.sleep(0.3)
    time.sleep(0.1)
    assert not done.fired
    assert ended.shut == []
    assert late.fired
    assert stuck.shut == [socket.SHUT_RDWR]
