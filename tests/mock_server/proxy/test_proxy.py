"""``stepspec proxy`` in-process: forwarding, judging, recording, faults, CORS and the Host guard.

The proxy runs on a real socket in front of a real server (the stepspec mock, a mutant of it, or
a small misbehaving WSGI app); the traffic is the kit's own (``stepspec check --base-url
<proxy>``) or plain ``http.client`` requests. Browser behaviour is in
``tests/frontend/test_proxy_browser.py``, the served command in ``test_proxy_serve.py``.
"""

from __future__ import annotations

import gzip
import http.client
import itertools
import json
import re
import threading
import time
import urllib.parse
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from conformance import _operations
from conformance._validation import validator
from conformance.checks import CHECKS
from conformance.har import read_har
from tests.conformance.conftest import invoke
from tests.conformance.mutants import MUTANTS, Mutant, MutantMiddleware
from tests.mock_server.proxy.conftest import Proxied, ProxyFor

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIEnvironment
    from flask import Flask

pytestmark = pytest.mark.slow

KEYS = {"kibana": "Authorization", "arcee": "Authorization", "trigify": "x-api-key"}
SCHEMES = {"kibana": "ApiKey ", "arcee": "Bearer ", "trigify": ""}
PASSIVE_MUTANTS = [
    m
    for m in MUTANTS
    if not m.live and CHECKS[m.expected].scope != "operation" and not CHECKS[m.expected].opt_in
]
"""Mutants whose check needs no request of its own: the proxy must catch them from the kit's
traffic alone. Left out: ``operation`` checks (auth, unknown ids: they send probes), fuzzing
(it generates requests) and lifecycle checks (they start runs)."""


def request(
    url: str, path: str, *, method: str = "GET", headers: dict[str, str] | None = None
) -> tuple[int, dict[str, str], bytes]:
    """One request with ``http.client`` (which sends ``Host`` as given in ``headers``)."""
    parts = urllib.parse.urlsplit(url)
    connection = http.client.HTTPConnection(parts.hostname or "", parts.port, timeout=30)
    try:
        given = dict(headers or {})
        skip_host = any(name.lower() == "host" for name in given)
        connection.putrequest(method, path, skip_host=skip_host, skip_accept_encoding=True)
        for name, value in given.items():
            connection.putheader(name, value)
        connection.endheaders()
        response = connection.getresponse()
        return response.status, {k.lower(): v for k, v in response.getheaders()}, response.read()
    finally:
        connection.close()


def key_header(api: str, key: str = "test-key") -> dict[str, str]:
    return {KEYS[api]: SCHEMES[api] + key}


def assert_envelope(api: str, body: bytes) -> dict[str, Any]:
    """``body`` is the vendor's error envelope (validated against its schema)."""
    payload = json.loads(body)
    schema_id = _operations.profile(api).error_schema
    assert not validator(schema_id).violations(payload), payload
    assert isinstance(payload, dict)
    return payload


def message_of(api: str, payload: dict[str, Any]) -> str:
    if api == "kibana":
        return str(payload["message"])
    if api == "arcee":
        return str(payload["detail"])
    return str(payload["error"]["message"])


def _mock(app_factory: Callable[..., Flask], **config: Any) -> Flask:
    app = app_factory(**config)
    app.testing = False
    return app


def _keys(findings: list[dict[str, Any]]) -> set[tuple[str, str, str, str]]:
    """The problems found: one per check, operation, JSON path whatever its list index
    (``conformance._problems``), and severity."""
    return {
        (f["check"], f["operation"] or "", re.sub(r"\[\d+\]", "[*]", f["path"]), f["severity"])
        for f in findings
    }


# -- the kit's own traffic ---------------------------------------------------------------------


@pytest.mark.parametrize("api", ["kibana", "arcee", "trigify"])
def test_clean_traffic_gives_no_finding(
    api: str, app_factory: Callable[..., Flask], upstream: Any, proxy_for: ProxyFor
) -> None:
    proxy = proxy_for(upstream(_mock(app_factory)), api=api)
    result = invoke("--api", api, "--base-url", proxy.url, "--format", "json", "--strict")
    assert result.exit_code == 0, result.output
    seen = proxy.settle(exchanges=json.loads(result.stdout)["requests"])
    assert seen["counts"]["exchanges"] >= 10
    assert seen["findings"] == []
    assert not [line for line in proxy.lines if "error" in line or "warning" in line]


@pytest.mark.parametrize("mutant", PASSIVE_MUTANTS, ids=[m.name for m in PASSIVE_MUTANTS])
def test_proxy_reports_the_mutant_and_the_recording_says_the_same(
    mutant: Mutant,
    app_factory: Callable[..., Flask],
    upstream: Any,
    proxy_for: ProxyFor,
    tmp_path: Path,
) -> None:
    app = _mock(app_factory, **mutant.app_config)
    app.wsgi_app = MutantMiddleware(app.wsgi_app, mutant)  # type: ignore[method-assign]
    har = tmp_path / "session.har"
    proxy = proxy_for(upstream(app), api=mutant.api, strict=mutant.strict, record=str(har))
    strict = ("--strict",) if mutant.strict else ()
    result = invoke(
        "--api",
        mutant.api,
        "--base-url",
        proxy.url,
        "--format",
        "json",
        "--timeout",
        "2",
        "--api-key",
        mutant.api_key,
        *mutant.args,
        *strict,
    )
    seen = proxy.settle(exchanges=json.loads(result.stdout)["requests"])
    live = [f for f in seen["findings"] if f["severity"] == "error"]
    assert mutant.expected in {f["check"] for f in live}, seen["findings"]
    assert any(f" {mutant.expected} " in line for line in proxy.lines), proxy.lines
    proxy.close()

    offline = invoke("--api", mutant.api, "--har", str(har), "--format", "json", *strict)
    assert offline.exit_code == 1, offline.output
    assert _keys(json.loads(offline.stdout)["findings"]) == _keys(seen["findings"])


def test_each_finding_is_one_line_once(
    app_factory: Callable[..., Flask], upstream: Any, proxy_for: ProxyFor
) -> None:
    mutant = next(m for m in MUTANTS if m.name == "wrong_error_envelope")
    app = _mock(app_factory)
    app.wsgi_app = MutantMiddleware(app.wsgi_app, mutant)  # type: ignore[method-assign]
    proxy = proxy_for(upstream(app))
    for _ in range(3):
        status, _, _ = request(
            proxy.url, "/api/workflows/executions/nope", headers=key_header("kibana")
        )
        assert status == 404
    seen = proxy.settle(exchanges=3)
    envelope = [line for line in proxy.lines if " error_envelope " in line]
    assert envelope, proxy.lines
    assert len(envelope) == len({f["path"] for f in seen["findings"]}), proxy.lines
    prefix = "stepspec proxy: error: error_envelope [getExecution] $"
    assert all(line.startswith(prefix) for line in envelope)
    assert all("\n" not in line for line in proxy.lines)
    assert [row["findings"] != [] for row in seen["exchanges"]] == [False, False, True]


# -- forwarding ----------------------------------------------------------------------------------


def test_requests_and_bodies_pass_unchanged(upstream: Any, proxy_for: ProxyFor) -> None:
    """Method, path, query, headers and body reach the upstream as sent; a gzip body comes back
    byte for byte (still compressed) and is judged decompressed."""
    seen: list[dict[str, Any]] = []
    payload = gzip.compress(json.dumps({"page": 1, "size": 1, "total": 0, "results": []}).encode())

    def app(environ: WSGIEnvironment, start_response: StartResponse) -> list[bytes]:
        length = int(environ.get("CONTENT_LENGTH") or 0)
        seen.append(
            {
                "method": environ["REQUEST_METHOD"],
                "uri": environ.get("RAW_URI") or environ.get("REQUEST_URI"),
                "auth": environ.get("HTTP_AUTHORIZATION"),
                "xsrf": environ.get("HTTP_KBN_XSRF"),
                "agent": environ.get("HTTP_USER_AGENT"),
                "body": environ["wsgi.input"].read(length),
            }
        )
        start_response(
            "200 OK",
            [
                ("Content-Type", "application/json"),
                ("Content-Encoding", "gzip"),
                ("Content-Length", str(len(payload))),
                ("elastic-api-version", "2023-10-31"),
            ],
        )
        return [payload]

    proxy = proxy_for(upstream(app))
    status, headers, body = request(
        proxy.url,
        "/api/workflows?size=0&query=a%2Fb",
        headers={"Authorization": "ApiKey abc", "Accept-Encoding": "gzip"},
    )
    assert (status, body, headers["content-encoding"]) == (200, payload, "gzip")
    parts = urllib.parse.urlsplit(proxy.url)
    connection = http.client.HTTPConnection(parts.hostname or "", parts.port, timeout=30)
    connection.request(
        "POST",
        "/api/workflows/w-1/run",
        body=b'{"inputs":{}}',
        headers={
            "Authorization": "ApiKey abc",
            "kbn-xsrf": "x",
            "Content-Type": "application/json",
        },
    )
    connection.getresponse().read()
    connection.close()
    assert seen[0] == {
        "method": "GET",
        "uri": "/api/workflows?size=0&query=a%2Fb",
        "auth": "ApiKey abc",
        "xsrf": None,
        "agent": None,
        "body": b"",
    }
    assert (seen[1]["method"], seen[1]["xsrf"], seen[1]["body"]) == ("POST", "x", b'{"inputs":{}}')
    snapshot = proxy.settle(exchanges=2)
    first = snapshot["exchanges"][-1]
    assert (first["operation"], first["judged"]) == ("listWorkflows", True)
    assert not [f for f in snapshot["findings"] if f["exchange"] == first["id"]]


def test_upstream_header_is_added_and_replaces_the_clients(
    upstream: Any, proxy_for: ProxyFor
) -> None:
    received: list[str | None] = []

    def app(environ: WSGIEnvironment, start_response: StartResponse) -> list[bytes]:
        received.append(environ.get("HTTP_AUTHORIZATION"))
        start_response("404 Not Found", [("Content-Type", "application/json")])
        return [b'{"statusCode":404,"error":"Not Found","message":"Not Found"}']

    plain = proxy_for(upstream(app))
    request(plain.url, "/api/workflows/executions/x")
    adding = proxy_for(upstream(app), upstream_headers=(("Authorization", "ApiKey proxy-key"),))
    request(adding.url, "/api/workflows/executions/x", headers={"Authorization": "ApiKey mine"})
    assert received == [None, "ApiKey proxy-key"]


# -- recording -----------------------------------------------------------------------------------


def test_recording_holds_no_trace_of_secrets(
    app_factory: Callable[..., Flask], upstream: Any, proxy_for: ProxyFor, tmp_path: Path
) -> None:
    secret, client_secret = "sk-proxy-0123456789abcdef", "sk-client-fedcba9876543210"
    har = tmp_path / "secret.har"
    proxy = proxy_for(
        upstream(_mock(app_factory)),
        api="trigify",
        record=str(har),
        upstream_headers=(("x-api-key", secret),),
        redact_fields=("name",),
    )
    # The kit's traffic (its auth probes fail here: the proxy adds a key to each of them).
    invoke("--api", "trigify", "--base-url", proxy.url, "--api-key", client_secret)
    request(proxy.url, f"/v1/workflows?api_key={client_secret}", headers={"Cookie": f"s={secret}"})
    proxy.settle(exchanges=2)
    proxy.close()
    raw = har.read_bytes()
    assert len(read_har(har)) > 10
    for value in (secret, client_secret):
        for form in (value, urllib.parse.quote(value), json.dumps(value)[1:-1]):
            assert form.encode() not in raw
    recorded = json.loads(raw)["log"]["entries"]
    assert any(
        h["name"].lower() == "x-api-key" and h["value"] == "[redacted]"
        for e in recorded
        for h in e["request"]["headers"]
    )
    bodies = [e["response"]["content"].get("text", "") for e in recorded]
    assert any('"name": "[redacted]"' in b or '"name":"[redacted]"' in b for b in bodies)


def test_recording_is_bounded(
    app_factory: Callable[..., Flask], upstream: Any, proxy_for: ProxyFor, tmp_path: Path
) -> None:
    har = tmp_path / "small.har"
    proxy = proxy_for(upstream(_mock(app_factory)), record=str(har), record_max_mb=0.02)
    for _ in range(12):
        request(proxy.url, "/api/workflows?size=2", headers=key_header("kibana"))
    snapshot = proxy.settle(exchanges=12)
    proxy.close()
    assert har.stat().st_size <= 0.02 * 1024 * 1024
    assert snapshot["recording"]["dropped"] >= 1
    assert 1 <= len(read_har(har)) == 12 - snapshot["recording"]["dropped"]


# -- faults --------------------------------------------------------------------------------------


@pytest.mark.parametrize("api", ["kibana", "arcee", "trigify"])
def test_refused_upstream_is_a_502_in_the_envelope(api: str, proxy_for: ProxyFor) -> None:
    import socket

    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
    target = f"http://127.0.0.1:{port}"
    proxy = proxy_for(target, api=api)
    status, headers, body = request(proxy.url, "/v1/workflows", headers=key_header(api))
    assert status == 502
    assert headers["x-stepspec-proxy"] == "upstream-unreachable"
    message = message_of(api, assert_envelope(api, body))
    assert target in message
    assert "refused" in message


def test_stalling_upstream_is_a_504_in_the_envelope(upstream: Any, proxy_for: ProxyFor) -> None:
    release = threading.Event()

    def stalls(environ: WSGIEnvironment, start_response: StartResponse) -> list[bytes]:
        release.wait(10)
        start_response("200 OK", [("Content-Type", "application/json")])
        return [b"{}"]

    target = upstream(stalls)
    proxy = proxy_for(target, api="arcee", upstream_timeout=0.3)
    try:
        status, headers, body = request(
            proxy.url, "/api/v1/workflow/workflows", headers=key_header("arcee")
        )
    finally:
        release.set()
    assert status == 504
    assert headers["x-stepspec-proxy"] == "upstream-timeout"
    message = message_of("arcee", assert_envelope("arcee", body))
    assert target in message
    assert "0.3 s" in message
    snapshot = proxy.settle(exchanges=1)
    assert snapshot["exchanges"][0]["note"].startswith("timeout: ")


def test_body_stalling_midway_is_cut_and_recorded_as_a_timeout(
    upstream: Any, proxy_for: ProxyFor, tmp_path: Path
) -> None:
    release = threading.Event()

    def stalls_midway(environ: WSGIEnvironment, start_response: StartResponse) -> Any:
        start_response("200 OK", [("Content-Type", "application/json"), ("Content-Length", "40")])
        yield b'{"page": 1, "size": 1, '
        release.wait(10)
        yield b'"total": 0, "results": []}'

    har = tmp_path / "cut.har"
    proxy = proxy_for(upstream(stalls_midway), record=str(har), upstream_timeout=0.3)
    try:
        with pytest.raises(http.client.IncompleteRead):
            request(proxy.url, "/api/workflows", headers=key_header("kibana"))
    finally:
        release.set()
    seen = proxy.settle(exchanges=1)
    assert seen["exchanges"][0]["note"].startswith("timeout: the body stalled after 23 bytes")
    assert [f["check"] for f in seen["findings"]] == ["response_complete"]
    proxy.close()
    assert read_har(har)[0].error.startswith("timeout: ")


# -- the Host guard and CORS ---------------------------------------------------------------------


@pytest.mark.parametrize("api", ["kibana", "arcee", "trigify"])
def test_foreign_host_is_refused_by_proxy_and_mock(
    api: str, app_factory: Callable[..., Flask], upstream: Any, proxy_for: ProxyFor
) -> None:
    mock_url = upstream(_mock(app_factory))
    proxy = proxy_for(mock_url, api=api)
    path = {
        "kibana": "/api/workflows",
        "arcee": "/api/v1/workflow/workflows",
        "trigify": "/v1/workflows",
    }[api]
    hostile = {"Host": "attacker.example", **key_header(api)}
    for url in (proxy.url, mock_url):
        status, _, body = request(url, path, headers=hostile)
        assert status == 403, (url, body)
        assert "attacker.example" in message_of(api, assert_envelope(api, body))
    port = urllib.parse.urlsplit(proxy.url).port
    for host in (f"localhost:{port}", f"127.0.0.2:{port}", f"[::1]:{port}", "LOCALHOST"):
        status, _, _ = request(proxy.url, path, headers={"Host": host, **key_header(api)})
        assert status == 200, host
    assert proxy.settle(exchanges=4)["counts"]["exchanges"] == 4  # refused ones never forwarded


def test_allowed_host_is_answered(
    app_factory: Callable[..., Flask], upstream: Any, proxy_for: ProxyFor
) -> None:
    mock_url = upstream(_mock(app_factory, allowed_hosts=("dev.example.test",)))
    proxy = proxy_for(mock_url, allowed_hosts=("dev.example.test",))
    for url in (proxy.url, mock_url):
        named = {"Host": "dev.example.test:8080", **key_header("kibana")}
        assert request(url, "/api/workflows", headers=named)[0] == 200
        assert request(url, "/api/workflows", headers={"Host": "other.test"})[0] == 403


def test_preflight_is_answered_as_the_mock_answers_it(
    app_factory: Callable[..., Flask], upstream: Any, proxy_for: ProxyFor
) -> None:
    mock_url = upstream(_mock(app_factory))
    proxy = proxy_for(mock_url)
    ask = {
        "Origin": "http://localhost:5173",
        "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "authorization,kbn-xsrf",
    }
    answers = [
        request(url, "/api/workflows", method="OPTIONS", headers=ask)
        for url in (mock_url, proxy.url)
    ]
    cors = [
        {k: v for k, v in headers.items() if k.startswith("access-control-") or k == "vary"}
        for _, headers, _ in answers
    ]
    assert answers[0][0] == answers[1][0] == 200
    assert cors[0] == cors[1]
    assert cors[1]["access-control-allow-origin"] == "http://localhost:5173"
    assert proxy.settle()["counts"]["exchanges"] == 0  # preflights are the proxy's own


def test_restricted_cors_answers_only_listed_origins(
    app_factory: Callable[..., Flask], upstream: Any, proxy_for: ProxyFor
) -> None:
    proxy = proxy_for(
        upstream(_mock(app_factory)),
        upstream_headers=(("Authorization", "ApiKey proxy-key"),),
        cors_origins=("http://localhost:5173",),
    )
    good, evil = "http://localhost:5173", "http://localhost:6666"
    status, headers, _ = request(proxy.url, "/api/workflows", headers={"Origin": good})
    assert (status, headers.get("access-control-allow-origin")) == (200, good)
    status, headers, body = request(proxy.url, "/api/workflows", headers={"Origin": evil})
    assert status == 403
    assert "access-control-allow-origin" not in headers
    assert "--cors-origin" in message_of("kibana", assert_envelope("kibana", body))
    ask = {"Origin": evil, "Access-Control-Request-Method": "GET"}
    _, headers, _ = request(proxy.url, "/api/workflows", method="OPTIONS", headers=ask)
    assert "access-control-allow-origin" not in headers
    assert proxy.settle(exchanges=1)["counts"]["exchanges"] == 1  # the refused one never went


# -- the Traffic view ------------------------------------------------------------------------------


def test_traffic_view_lists_exchanges_and_findings_as_they_come(
    app_factory: Callable[..., Flask], upstream: Any, proxy_for: ProxyFor
) -> None:
    mutant = next(m for m in MUTANTS if m.name == "required_field_dropped")
    app = _mock(app_factory)
    app.wsgi_app = MutantMiddleware(app.wsgi_app, mutant)  # type: ignore[method-assign]
    proxy = proxy_for(upstream(app))
    status, headers, page = request(proxy.url, "/_stepspec/traffic")
    assert (status, headers["content-type"]) == (200, "text/html; charset=utf-8")
    assert b"traffic.js" in page
    for name in ("traffic.js", "traffic.css", "viewer.css"):
        assert request(proxy.url, f"/_stepspec/{name}")[0] == 200
    empty = json.loads(request(proxy.url, "/_stepspec/traffic?format=json")[2])
    assert (empty["counts"]["exchanges"], empty["findings"]) == (0, [])

    execution = _first_execution(proxy)
    step = execution["stepExecutions"][0]["id"]
    request(
        proxy.url,
        f"/api/workflows/executions/{execution['id']}/step/{step}",
        headers=key_header("kibana"),
    )
    proxy.settle(exchanges=4)
    later = json.loads(request(proxy.url, "/_stepspec/traffic?format=json")[2])
    assert later["counts"]["exchanges"] == 4
    newest = later["exchanges"][0]
    assert (newest["operation"], newest["status"]) == ("getStepExecution", 200)
    assert [later["findings"][i]["check"] for i in newest["findings"]] == ["body_matches_schema"]
    assert later["findings"][0]["exchange"] == newest["id"]


def _first_execution(proxy: Proxied) -> dict[str, Any]:
    auth = key_header("kibana")
    workflow = json.loads(request(proxy.url, "/api/workflows", headers=auth)[2])["results"][0]
    runs = json.loads(
        request(proxy.url, f"/api/workflows/workflow/{workflow['id']}/executions", headers=auth)[2]
    )["results"]
    found: dict[str, Any] = json.loads(
        request(proxy.url, f"/api/workflows/executions/{runs[0]['id']}", headers=auth)[2]
    )
    return found


def test_report_is_written_on_close(
    app_factory: Callable[..., Flask], upstream: Any, proxy_for: ProxyFor, tmp_path: Path
) -> None:
    report = tmp_path / "report.xml"
    proxy = proxy_for(upstream(_mock(app_factory)), report=str(report), report_format="junit")
    request(proxy.url, "/api/workflows", headers=key_header("kibana"))
    proxy.settle(exchanges=1)
    started = time.monotonic()
    proxy.close()
    assert time.monotonic() - started < 10
    text = report.read_text()
    assert text.startswith("<?xml")
    assert "listWorkflows" in text
    assert any(line.endswith(f"report written to {report}") for line in proxy.lines)


def test_cross_exchange_checks_are_rate_limited_under_traffic(
    app_factory: Callable[..., Flask], upstream: Any, proxy_for: ProxyFor
) -> None:
    """Under a burst the costly comparisons run at most every ``CROSS_EVERY`` seconds, and once
    more when the burst ends, so findings that need several exchanges still arrive."""
    from mock_server.proxy import _traffic

    mutant = next(m for m in MUTANTS if m.name == "step_from_another_run")
    app = _mock(app_factory)
    app.wsgi_app = MutantMiddleware(app.wsgi_app, mutant)  # type: ignore[method-assign]
    proxy = proxy_for(upstream(app))
    judge = proxy.app.traffic.judge
    calls: list[tuple[str, float]] = []
    observe, findings = judge.observe, judge.findings

    def counted_observe(entry: Any) -> Any:
        calls.append(("observe", time.monotonic()))
        return observe(entry)

    def counted_findings() -> Any:
        calls.append(("findings", time.monotonic()))
        return findings()

    judge.observe = counted_observe  # type: ignore[method-assign]
    judge.findings = counted_findings  # type: ignore[method-assign]
    execution = _first_execution(proxy)
    step = execution["stepExecutions"][0]["id"]
    for _ in range(40):
        request(
            proxy.url,
            f"/api/workflows/executions/{execution['id']}/step/{step}",
            headers=key_header("kibana"),
        )
    seen = proxy.settle(exchanges=43)
    observed = [at for kind, at in calls if kind == "observe"]
    assert len(observed) < 43
    gaps = [later - earlier for earlier, later in itertools.pairwise(observed)]
    assert all(gap >= _traffic.CROSS_EVERY * 0.9 for gap in gaps), gaps
    assert "path_ids_echoed" in {f["check"] for f in seen["findings"]}
    assert [row["judged"] for row in seen["exchanges"]] == [True] * 43
