"""``stepspec mock --server granian`` against the default gunicorn, over real sockets.

The same requests get the same answers, byte for byte (but for the headers that name the
server or the time); live runs are shared by granian's workers; SIGTERM lets requests in flight
finish and writes the coverage report, under both servers. What granian answers differently is
pinned too: hyper answers a request it cannot parse itself, with a bare status and no body, so
if a granian release ever lets the app answer those, a test here says so. The signal and port
tests shared with gunicorn are parametrized in ``test_serve.py`` and ``test_serve_mistakes.py``.
"""

from __future__ import annotations

import json
import signal
import socket
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from conformance.cli import main
from mock_server.kibana import DOCUMENTED_EXECUTION_ID
from tests.mock_server._process import SERVERS, ServedMock, served
from tests.mock_server.test_http_layer import raw
from tests.mock_server.test_live_workers import poll, start, start_mock

pytestmark = pytest.mark.slow

KEY = "granian-key"
KIBANA = {"Authorization": f"ApiKey {KEY}", "kbn-xsrf": "true"}
ARCEE = {"Authorization": f"Bearer {KEY}"}
TRIGIFY = {"x-api-key": KEY}
WORLD = (
    "--workers", "1", "--auto-runs", "0", "--seed", "5", "--workflows", "3",
    "--runs-per-workflow", "4", "--api-key", KEY,
)  # fmt: skip
# One worker each: Trigify's RateLimit-Remaining (without --rate-limit) counts per worker.
VARYING = {"date", "server", "ratelimit-reset", "connection"}
"""Headers that name the server or the time, and ``Connection`` (gunicorn spells out HTTP/1.1's
default ``keep-alive``); every other header and the body must be equal."""


@pytest.fixture(scope="module")
def mocks() -> Iterator[dict[str, ServedMock]]:
    with served(*WORLD) as gunicorn, served(*WORLD, server="granian") as granian:
        yield {"gunicorn": gunicorn, "granian": granian}


def answer(
    mock: ServedMock, method: str, path: str, headers: dict[str, str], body: bytes | None = None
) -> tuple[int, list[tuple[str, str]], bytes]:
    response = requests.request(method, mock.url + path, headers=headers, data=body, timeout=30)
    kept = sorted(
        (name.lower(), value)
        for name, value in response.headers.items()
        if name.lower() not in VARYING
    )
    return response.status_code, kept, response.content


def test_granian_answers_the_three_apis_like_gunicorn(mocks: dict[str, ServedMock]) -> None:
    arcee_id = requests.get(
        mocks["gunicorn"].url + "/api/v1/workflow/workflows", headers=ARCEE, timeout=30
    ).json()[0]["workflow_id"]
    step = f"/api/workflows/executions/{DOCUMENTED_EXECUTION_ID}/step/step-exec-001"
    origin = {"Origin": "http://localhost:3000"}
    cases = [
        ("GET", "/api/workflows", KIBANA, None),
        ("GET", f"/api/workflows/executions/{DOCUMENTED_EXECUTION_ID}", KIBANA, None),
        ("GET", step, {**KIBANA, **origin}, None),
        ("GET", "/api/workflows", {"kbn-xsrf": "true"}, None),  # 401
        ("GET", "/api/v1/workflow/workflows", ARCEE, None),
        ("GET", f"/api/v1/workflow/workflows/{arcee_id}", ARCEE, None),
        ("POST", f"/api/v1/workflow/workflows/{arcee_id}/execute", ARCEE, b"not json"),  # 400
        ("GET", "/v1/workflows", TRIGIFY, None),
        ("GET", "/v1/workflows/wf_nope", TRIGIFY, None),  # 404
        ("GET", "/v1/workflows", {**TRIGIFY, "Prefer": "code=429"}, None),
        ("GET", "/v1/workflows", {**TRIGIFY, "Host": "rebind.example"}, None),  # 403
        ("OPTIONS", "/v1/workflows", {**origin, "Access-Control-Request-Method": "GET"}, None),
        ("GET", "/no/api/here", {}, None),
        ("GET", "/_stepspec/", {}, None),
    ]
    statuses = set()
    for method, path, headers, body in cases:
        expected = answer(mocks["gunicorn"], method, path, headers, body)
        assert answer(mocks["granian"], method, path, headers, body) == expected, (method, path)
        statuses.add(expected[0])
    assert {200, 400, 401, 403, 404, 429} <= statuses
    served_by = requests.get(mocks["granian"].url + "/v1/workflows", headers=TRIGIFY, timeout=30)
    assert served_by.headers["server"] == "granian"  # granian sets it; it cannot be left out
    assert "Server   granian" in mocks["granian"].stderr  # the banner says what differs


def _line(extra: bytes) -> bytes:
    head = [b"GET /api/workflows HTTP/1.1", b"Host: 127.0.0.1", b"Connection: close", extra]
    return b"\r\n".join([*head, b"", b""])


@pytest.mark.parametrize(
    ("data", "status"),
    [
        pytest.param(_line(b"Content-Length: abc"), 400, id="invalid-content-length"),
        pytest.param(_line(b"Transfer-Encoding: foo"), 400, id="unknown-transfer-coding"),
        pytest.param(_line(b"Not a header line"), 400, id="malformed-header"),
        pytest.param(b"garbage\r\n\r\n", 400, id="no-http-request-line"),
        pytest.param(
            b"GET /api/workflows?q=" + b"a" * 70_000 + b" HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n",
            414,
            id="request-line-over-64-kb",
        ),
        pytest.param(
            _line(b"\r\n".join(b"X-H%d: v" % i for i in range(120))), 431, id="over-100-headers"
        ),
    ],
)
def test_what_hyper_cannot_parse_gets_its_bare_answer_not_the_envelope(
    mocks: dict[str, ServedMock], data: bytes, status: int
) -> None:
    """The known difference (README, ``mock_server._granian``): gunicorn's worker answers these
    in the vendor's envelope (``test_http_layer.py``); granian answers before the app is asked."""
    got, headers, body = raw(mocks["granian"], data)
    assert (got, body) == (status, b"")
    assert "content-type" not in headers
    got, headers, body = raw(mocks["gunicorn"], data)
    assert headers["content-type"].startswith("application/json")
    assert json.loads(body)


def test_live_runs_are_shared_by_two_granian_workers(tmp_path: Path) -> None:
    mock = start_mock(tmp_path / "live.sqlite3", server="granian")
    try:
        execution_id = start(mock, "foreach-fanout")
        poll(mock, execution_id, {"completed"})
        detail = f"/api/workflows/executions/{execution_id}?includeInput=true&includeOutput=true"
        bodies = {mock.get(detail).content for _ in range(16)}  # fresh connections: any worker
    finally:
        errors = mock.stop()
    assert len(bodies) == 1
    assert mock.process.returncode == 0, errors
    assert "Traceback" not in errors


@pytest.mark.parametrize("server", SERVERS)
def test_sigterm_lets_a_request_in_flight_finish_and_writes_the_coverage_report(
    tmp_path: Path, server: str
) -> None:
    report = tmp_path / "coverage.json"
    mock = ServedMock(
        "--workers", "2", "--latency", "1500", "--coverage-report", str(report), server=server
    )  # fmt: skip
    answers: list[int] = []

    def slow_request() -> None:
        response = requests.get(f"{mock.url}/v1/workflows", headers=TRIGIFY, timeout=30)
        answers.append(response.status_code)

    slow = threading.Thread(target=slow_request, daemon=True)
    try:
        slow.start()
        time.sleep(0.5)  # the request sleeps in a worker now
    finally:
        mock.interrupt(signal.SIGTERM, group=False)  # `kill PID`: the master alone
    slow.join(timeout=10)
    assert answers == [200], mock.stderr
    assert mock.process.returncode == 0, mock.stderr
    assert "Traceback" not in mock.stderr
    written = json.loads(report.read_text())
    assert sum(client["requests"] for client in written["clients"]) == 1


def test_granian_asked_for_but_not_installed_is_one_line(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setitem(sys.modules, "granian", None)  # `import granian` fails as if absent
    with socket.socket() as other:  # were the check missing, the busy port would be the error
        other.bind(("127.0.0.1", 0))
        other.listen()
        with pytest.raises(SystemExit) as stopped:
            main(["mock", "--server", "granian", "--port", str(other.getsockname()[1])])
    assert stopped.value.code == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert lines == [
        "stepspec: usage error: --server: granian is not installed (pip install granian, "
        "or stepspec's fast extra); or use --server gunicorn"
    ]
