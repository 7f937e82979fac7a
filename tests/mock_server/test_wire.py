"""``_wire``: what gunicorn could not parse is still answered in the vendor's envelope."""

from __future__ import annotations

import json

import pytest

from conformance._validation import validator
from mock_server._app import load_vendors
from mock_server._wire import framing_error, path_of_head


@pytest.mark.parametrize(
    ("head", "path"),
    [
        (b"GET /v1/workflows?limit=5 HTTP/1.1\r\nHost: x\r\n", "/v1/workflows"),
        (b"GET /api/workflows/executions/" + b"a" * 9000,  # cut at 8,192 bytes
         "/api/workflows/executions/" + "a" * 8162),
        (b"POST http://127.0.0.1:8080/api/v1/workflow/workflows/x/execute HTTP/1.1\r\n",
         "/api/v1/workflow/workflows/x/execute"),
        (b"garbage\r\n\r\n", None),
        (b"", None),
    ],
)  # fmt: skip
def test_the_path_is_read_from_the_first_bytes(head: bytes, path: str | None) -> None:
    assert path_of_head(head) == path


@pytest.mark.parametrize(
    ("api", "path"),
    [("kibana", "/s/ops/api/workflows"), ("arcee", "/api/v1/workflow/x"), ("trigify", "/v1/x")],
)
def test_a_framing_error_is_a_400_in_the_envelope_of_the_api_named(api: str, path: str) -> None:
    answer = framing_error("Invalid HTTP Header: 'CONTENT-LENGTH'", path, load_vendors())
    head, _, body = answer.partition(b"\r\n\r\n")
    lines = head.decode().split("\r\n")
    assert lines[0] == "HTTP/1.1 400 Bad Request"
    assert "Connection: close" in lines
    assert f"Content-Length: {len(body)}" in lines
    assert not validator(f"urn:stepspec:{api}:error").violations(json.loads(body))
    assert "CONTENT-LENGTH" in body.decode()
