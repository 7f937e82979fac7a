"""The served mock below Flask: nothing a client sends gets an answer outside the vendor's envelope.

A real ``stepspec mock`` (gunicorn) is sent what only the HTTP layer sees: a 5 KB path, a huge
header, an invalid ``Content-Length``, a malformed header line, a request line that is no HTTP.
Each answer is JSON in the envelope of the API the request named (its error schema validates)
with a status that API's OpenAPI document declares. Then schemathesis's ``st run`` (all checks,
positive and negative data) runs against the same server through the network, for every API.
"""

from __future__ import annotations

import json
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
import requests

from conformance import _specs
from conformance._validation import validator
from tests.mock_server._process import ServedMock, served

pytestmark = pytest.mark.slow

KEY = "layer-key"
HEADERS = {
    "kibana": {"Authorization": f"ApiKey {KEY}", "kbn-xsrf": "true"},
    "arcee": {"Authorization": f"Bearer {KEY}"},
    "trigify": {"x-api-key": KEY},
}
LONG = "a" * 5000
LONG_PATHS = {
    "kibana": f"/api/workflows/executions/{LONG}",
    "arcee": f"/api/v1/workflow/workflows/{LONG}/runs",
    "trigify": f"/v1/workflows/{LONG}",
}
LISTS = {
    "kibana": "/api/workflows",
    "arcee": "/api/v1/workflow/workflows",
    "trigify": "/v1/workflows",
}


@pytest.fixture(scope="module")
def mock() -> Iterator[ServedMock]:
    with served(
        "--workers", "1", "--auto-runs", "0", "--api-key", KEY, "--seed", "21",
        "--workflows", "4", "--runs-per-workflow", "6",
    ) as mock:  # fmt: skip
        yield mock


def raw(mock: ServedMock, data: bytes) -> tuple[int, dict[str, str], bytes]:
    """Send ``data`` as is; the status, headers and body of the answer."""
    with socket.create_connection(("127.0.0.1", mock.port), timeout=10) as conn:
        conn.sendall(data)
        answer = b""
        while chunk := conn.recv(65536):
            answer += chunk
    head, _, body = answer.partition(b"\r\n\r\n")
    status_line, *lines = head.decode("latin-1").split("\r\n")
    headers = {
        name.strip().lower(): value.strip()
        for name, _, value in (line.partition(":") for line in lines)
    }
    return int(status_line.split()[1]), headers, body


def documented(api: str, status: int) -> bool:
    return any(str(status) in op.responses for op in _specs.operations(api))


def assert_envelope(api: str, status: int, content_type: str, body: Any) -> None:
    assert content_type.startswith("application/json"), content_type
    assert 400 <= status < 500
    assert documented(api, status), status
    payload = json.loads(body) if isinstance(body, bytes) else body
    problems = validator(f"urn:stepspec:{api}:error").violations(payload)
    assert not problems, [str(problem) for problem in problems]


@pytest.mark.parametrize("api", list(LONG_PATHS))
def test_a_5kb_path_gets_the_apps_own_answer(mock: ServedMock, api: str) -> None:
    answer = requests.get(mock.url + LONG_PATHS[api], headers=HEADERS[api], timeout=10)
    assert_envelope(api, answer.status_code, answer.headers["Content-Type"], answer.content)
    assert answer.status_code in (400, 404)


@pytest.mark.parametrize("api", list(LISTS))
def test_a_big_header_reaches_the_app(mock: ServedMock, api: str) -> None:
    headers = {**HEADERS[api], "X-Trace-Context": "t" * 20_000}  # gunicorn's default: 8,190
    answer = requests.get(mock.url + LISTS[api], headers=headers, timeout=10)
    assert answer.status_code == 200


def _request(api: str, *extra: bytes) -> bytes:
    lines = [f"GET {LISTS[api]} HTTP/1.1".encode(), b"Host: 127.0.0.1"]
    lines += [f"{k}: {v}".encode() for k, v in HEADERS[api].items()]
    return b"\r\n".join([*lines, *extra, b"", b""])


@pytest.mark.parametrize("api", list(LISTS))
@pytest.mark.parametrize(
    "extra",
    [
        pytest.param(b"Content-Length: abc", id="invalid-content-length"),
        pytest.param(b"Content-Length: 1, 2", id="two-content-lengths"),
        pytest.param(b"Transfer-Encoding: foo", id="unknown-transfer-coding"),
        pytest.param(b"Not a header line", id="malformed-header"),
        pytest.param(b"X-Huge: " + b"h" * 70_000, id="header-beyond-the-limit"),
    ],
)
def test_framing_errors_answer_in_the_vendor_envelope(
    mock: ServedMock, api: str, extra: bytes
) -> None:
    status, headers, body = raw(mock, _request(api, extra))
    assert status == 400
    assert_envelope(api, status, headers["content-type"], body)


def test_a_request_line_that_is_no_http_gets_the_neutral_json_body(mock: ServedMock) -> None:
    status, headers, body = raw(mock, b"garbage\r\n\r\n")
    assert status == 400
    assert headers["content-type"] == "application/json"
    payload = json.loads(body)
    assert payload["statusCode"] == 400
    assert set(payload["apis"]) == {"kibana", "arcee", "trigify"}


SCHEMATHESIS_CONFIG = """
[phases.stateful.inference]
# Links schemathesis infers from Kibana's default-space operations into the /s/{space_id}
# ones name a path parameter the source operation does not have ("Invalid OpenAPI Links
# Definition": a fault of the inference, not of the server). The documented links still run.
algorithms = []

[[operations]]
# A schema-valid body of a test run may hold YAML that is no workflow: Kibana's documented
# answer is 400 `Invalid workflow yaml: ...`; likewise a schema-valid date filter string that is
# no date gets Kibana's 400 `failed to parse date field [...]` (as in test_schemathesis.py).
# Arcee's executeWorkflow of an `inactive` workflow is a 400 `{"detail": "Workflow is not
# active"}` whatever the body (the README's Live runs, e2587f7), and the ids st draws may be one.
include-operation-id = [
  "executeWorkflow",
  "testWorkflow", "testWorkflowInSpace",
  "getWorkflowExecutions", "getWorkflowExecutionsInSpace",
  "getWorkflowStepExecutions", "getWorkflowStepExecutionsInSpace",
]
checks.positive_data_acceptance.expected-statuses = ["2xx", "400", "401", "403", "404"]

[[operations]]
# schemathesis reuses workflow ids from the list it fetched, inactive ones included: running an
# inactive Arcee workflow is refused with the documented 400 (invalid input), whatever the body.
include-operation-id = ["executeWorkflow"]
checks.positive_data_acceptance.expected-statuses = ["2xx", "400", "401", "403", "404"]
"""


@pytest.mark.parametrize("api", list(HEADERS))
def test_st_run_with_every_check_finds_nothing(mock: ServedMock, api: str, tmp_path: Path) -> None:
    st_command = [str(Path(sys.executable).with_name("st"))]  # schemathesis's CLI, this venv
    config = tmp_path / "schemathesis.toml"
    config.write_text(SCHEMATHESIS_CONFIG)
    headers = [arg for name, value in HEADERS[api].items() for arg in ("-H", f"{name}: {value}")]
    with _specs.openapi_path(api) as spec:
        result = subprocess.run(
            [
                *st_command, "--config-file", str(config), "run", str(spec), "--url", mock.url,
                *headers, "--checks", "all", "--mode", "all", "--max-examples", "10",
                "--seed", "7", "--generation-database", "none",
                "--generation-with-security-parameters", "false", "--no-color",
            ],
            cwd=tmp_path,  # schemathesis writes .schemathesis/ where it runs
            capture_output=True,
            text=True,
            timeout=600,
        )  # fmt: skip
    assert result.returncode == 0, result.stdout[-6000:] + result.stderr[-2000:]
    assert "Failures:" not in result.stdout
    assert "Errors:" not in result.stdout


def test_a_body_that_cannot_be_decoded_is_a_400_in_the_envelope(mock: ServedMock) -> None:
    """An invalid chunk size surfaces while the view reads the body: a 400, not a 500."""
    arcee = requests.get(mock.url + LISTS["arcee"], headers=HEADERS["arcee"], timeout=30).json()
    targets = {
        "kibana": "/api/workflows/test",
        "arcee": f"/api/v1/workflow/workflows/{arcee[0]['workflow_id']}/execute",
    }
    for api, path in targets.items():
        lines = [f"POST {path} HTTP/1.1".encode(), b"Host: 127.0.0.1", b"Connection: close"]
        lines += [f"{k}: {v}".encode() for k, v in HEADERS[api].items()]
        lines += [b"Content-Type: application/json", b"Transfer-Encoding: chunked"]
        status, headers, body = raw(mock, b"\r\n".join([*lines, b"", b"zz", b"{}", b"0", b"", b""]))
        assert status == 400, (api, body)
        assert_envelope(api, status, headers["content-type"], body)


@pytest.mark.parametrize("api", list(LISTS))
def test_a_request_line_over_64_kb_is_a_400_in_the_envelope_here_and_in_test_servers(
    mock: ServedMock, live_server: Any, api: str
) -> None:
    """The served mock's worker reads request lines up to 64 KB; the werkzeug servers of the
    tests (``tests.conftest.EnvelopeRequestHandler``) must answer a longer one the same way, not
    with http.server's HTML 414 (negative fuzzing sends such lines, e.g. a long ``createdBy``)."""
    line = f"GET {LISTS[api]}?q={'a' * 70_000} HTTP/1.1".encode()
    data = b"\r\n".join([line, b"Host: 127.0.0.1", b"", b""])
    test_server = SimpleNamespace(port=int(live_server.url.rsplit(":", 1)[1]))
    answers = [raw(mock, data), raw(test_server, data)]  # type: ignore[arg-type]
    for status, headers, body in answers:
        assert status == 400
        assert_envelope(api, status, headers["content-type"], body)
    served, tested = (json.loads(body) for _, _, body in answers)
    assert served.keys() == tested.keys()  # the same envelope; the message names the length
    assert all(b"Request Line is too large" in body for _, _, body in answers)
