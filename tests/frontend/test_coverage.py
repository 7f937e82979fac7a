"""Coverage of what a consumer exercised: recorded per client, read at ``/_stepspec/coverage``.

Through the Flask test client (which goes through the same WSGI layers as a real server, the
response cache included), and once under gunicorn with two workers, where the report must be
the union of both workers and is written to a file at shutdown.
"""

from __future__ import annotations

import json
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
import requests
from flask import Flask
from flask.testing import FlaskClient

from mock_server._app import state
from mock_server._openapi import api_index
from mock_server.coverage import EXTENSION, canonical_operations, fingerprint
from mock_server.kibana import DOCUMENTED_EXECUTION_ID, DOCUMENTED_WORKFLOW_ID
from tests.conftest import AppFactory, TestClock

TEAM_A = "team-a-key"
TEAM_B = "team-b-key"
KIBANA_A = {"Authorization": f"ApiKey {TEAM_A}"}
TRIGIFY_B = {"x-api-key": TEAM_B}
JSON = {"Accept": "application/json"}
EXECUTION = f"/api/workflows/executions/{DOCUMENTED_EXECUTION_ID}"


def report(client: FlaskClient, query: str = "", **headers: str) -> dict[str, Any]:
    answer = client.get(f"/_stepspec/coverage{query}", headers={**JSON, **headers})
    assert answer.status_code == 200
    assert answer.mimetype == "application/json"
    found: dict[str, Any] = answer.get_json()
    return found


def section(found: dict[str, Any], client: str, api: str) -> dict[str, Any]:
    entry = next(c for c in found["clients"] if c["client"] == client)
    return next(a for a in entry["apis"] if a["api"] == api)


def operation(api_section: dict[str, Any], operation_id: str | None) -> dict[str, Any]:
    return next(op for op in api_section["operations"] if op["operation_id"] == operation_id)


def test_records_operations_statuses_states_and_errors_per_client(client: FlaskClient) -> None:
    assert client.get("/api/workflows", headers=KIBANA_A).status_code == 200
    assert client.get(EXECUTION, headers=KIBANA_A).status_code == 200
    # the same operation in a space counts for the operation
    assert client.get(f"/s/default{EXECUTION}", headers=KIBANA_A).status_code == 200
    assert client.get(f"{EXECUTION}/step/step-nope", headers=KIBANA_A).status_code == 404
    forced = client.get("/api/workflows", headers={**KIBANA_A, "Prefer": "code=403"})
    assert forced.status_code == 403
    assert client.get("/v1/workflows", headers=TRIGIFY_B).status_code == 200
    assert client.get("/v1/workflows").status_code == 401

    found = report(client)
    names = [c["client"] for c in found["clients"]]
    assert sorted(names[:2]) == sorted([fingerprint(TEAM_A), fingerprint(TEAM_B)])
    assert names[2] == "anonymous"

    kibana = section(found, fingerprint(TEAM_A), "kibana")
    documented = set(canonical_operations(api_index("kibana")).values())
    assert kibana["operations_documented"] == len(documented)
    assert {op["operation_id"] for op in kibana["operations"]} == documented
    assert kibana["operations_exercised"] == 3
    assert kibana["requests"] == 5
    workflows = operation(kibana, "listWorkflows")
    assert workflows["statuses"] == {"200": 1, "403": 1}
    assert {"401", "404", "500"} <= set(workflows["missing_statuses"])
    assert "200" not in workflows["missing_statuses"]
    assert operation(kibana, "getExecution")["statuses"] == {"200": 2}
    assert operation(kibana, "getStepExecution")["statuses"] == {"404": 1}
    assert operation(kibana, "cancelExecution")["requests"] == 0
    assert operation(kibana, "cancelExecution")["statuses"] == {}
    cases = {(case["status"], case["case"]) for case in kibana["error_cases"]}
    assert cases == {(403, "Forbidden [Prefer]"), (404, "Not Found")}
    assert "completed" in kibana["run_states"]["seen"]
    assert "completed" in kibana["step_states"]["seen"]
    assert "waiting_for_input" in kibana["step_states"]["missing"]

    anonymous = section(found, "anonymous", "trigify")
    assert anonymous["error_cases"] == [
        {"operation_id": "listWorkflows", "status": 401, "case": "AUTH_REQUIRED", "count": 1}
    ]
    trigify = section(found, fingerprint(TEAM_B), "trigify")
    assert trigify["run_states"]["seen"] == []  # a workflow's status (PUBLISHED) is not a run's
    assert trigify["run_states"]["missing"] == ["running", "completed", "failed"]


def test_a_waiting_for_input_step_counts_once_a_client_has_seen_one(
    client: FlaskClient, clock: TestClock
) -> None:
    kibana = {**KIBANA_A, "kbn-xsrf": "true"}
    started = client.post(
        f"/api/workflows/workflow/{DOCUMENTED_WORKFLOW_ID}/run", headers=kibana, json={"inputs": {}}
    )
    run = started.get_json()["workflowExecutionId"]
    assert "waiting_for_input" in report(client)["clients"][0]["apis"][0]["step_states"]["missing"]
    clock.advance(5)
    steps = client.get(f"/api/workflows/executions/{run}/steps", headers=KIBANA_A).get_json()
    assert steps["results"][-1]["status"] == "waiting_for_input"
    kibana = section(report(client), fingerprint(TEAM_A), "kibana")
    assert "waiting_for_input" in kibana["step_states"]["seen"]
    assert "waiting_for_input" in kibana["run_states"]["missing"]  # /steps shows steps only
    assert operation(kibana, "runWorkflow")["statuses"] == {"200": 1}


def test_answers_replayed_by_the_response_cache_are_counted(app: Flask) -> None:
    client = app.test_client()
    for _ in range(3):
        assert client.get(EXECUTION, headers=KIBANA_A).status_code == 200
    with app.app_context():
        assert len(state().cache) == 1, "the second and third answers came from the cache"
    kibana = section(report(client), fingerprint(TEAM_A), "kibana")
    assert operation(kibana, "getExecution")["statuses"] == {"200": 3}
    assert "completed" in kibana["step_states"]["seen"]


def test_keys_are_stored_only_as_fingerprints(app: Flask) -> None:
    secret = "sk-live-0123456789-very-secret"
    client = app.test_client()
    client.get("/api/v1/workflow/workflows", headers={"Authorization": f"Bearer {secret}"})
    client.get("/api/workflows", headers={"Authorization": f"ApiKey {secret}"})
    found = report(client)
    assert [c["client"] for c in found["clients"]] == [fingerprint(secret)]
    html = client.get("/_stepspec/coverage").get_data(as_text=True)
    assert fingerprint(secret) in html
    coverage = app.extensions[EXTENSION]
    coverage.flush()
    database = Path(coverage.store.path)
    assert database.parent == Path(app.config["STEPSPEC_CONFIG"].state_path).parent
    stored = b"".join(p.read_bytes() for p in database.parent.glob(database.name + "*"))
    for text in (json.dumps(found), html, stored.decode("latin-1")):
        assert secret not in text


def test_the_viewer_and_preflights_are_not_counted(client: FlaskClient) -> None:
    client.get("/api/workflows", headers={**KIBANA_A, "X-Stepspec-Viewer": "1"})
    client.options(
        "/api/workflows",
        headers={"Origin": "http://localhost:5173", "Access-Control-Request-Method": "GET"},
    )
    client.get("/_stepspec/meta")
    assert report(client)["clients"] == []
    page = client.get("/_stepspec/coverage")
    assert page.mimetype == "text/html"
    assert 'id="no-clients"' in page.get_data(as_text=True)


def test_one_client_can_read_and_reset_its_own_record(client: FlaskClient) -> None:
    client.get("/api/workflows", headers=KIBANA_A)
    client.get("/v1/workflows", headers=TRIGIFY_B)
    mine = report(client, "?client=me", **KIBANA_A)
    assert [c["client"] for c in mine["clients"]] == [fingerprint(TEAM_A)]
    assert [c["client"] for c in report(client, f"?client={fingerprint(TEAM_B)}")["clients"]] == [
        fingerprint(TEAM_B)
    ]
    assert client.delete("/_stepspec/coverage?client=me", headers=KIBANA_A).status_code == 204
    assert [c["client"] for c in report(client)["clients"]] == [fingerprint(TEAM_B)]
    assert client.delete("/_stepspec/coverage").status_code == 204
    assert report(client)["clients"] == []


def test_html_report_shows_exercised_and_missing_codes(client: FlaskClient) -> None:
    client.get(f"{EXECUTION}/step/step-nope", headers=KIBANA_A)
    page = client.get("/_stepspec/coverage")
    assert page.mimetype == "text/html"
    assert "default-src 'self'" in page.headers["Content-Security-Policy"]
    html = page.get_data(as_text=True)
    assert f'data-client="{fingerprint(TEAM_A)}"' in html
    assert '<tr class="op" data-operation="getStepExecution">' in html
    assert '<tr class="op unexercised" data-operation="cancelExecution">' in html
    assert '<span class="chip missing" title="documented, never returned">200</span>' in html
    assert "<code>Not Found</code>" in html
    assert client.get("/_stepspec/coverage?format=json").mimetype == "application/json"


def test_injected_faults_and_undocumented_paths_are_told_apart(app_factory: AppFactory) -> None:
    client = app_factory(error_rate=1.0).test_client()
    assert client.get("/v1/workflows", headers=TRIGIFY_B).status_code == 500
    assert client.get("/v1/no-such-thing", headers=TRIGIFY_B).status_code in (404, 500)
    trigify = section(report(client), fingerprint(TEAM_B), "trigify")
    assert any(case["case"].endswith("[injected]") for case in trigify["error_cases"])
    assert operation(trigify, None)["requests"] == 1  # the path no operation documents


def test_report_file_on_shutdown(app_factory: AppFactory, tmp_path: Path) -> None:
    app = app_factory()
    app.test_client().get("/api/workflows", headers=KIBANA_A)
    coverage = app.extensions[EXTENSION]
    html = coverage.write_report(tmp_path / "coverage.html").read_text()
    assert html.startswith("<!doctype html>")
    assert "<style>" in html, "a report file carries its stylesheet"
    assert fingerprint(TEAM_A) in html
    written = json.loads(coverage.write_report(tmp_path / "out" / "coverage.json").read_text())
    assert written["clients"][0]["client"] == fingerprint(TEAM_A)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.mark.slow
def test_gunicorn_workers_share_one_record_and_write_it_at_shutdown(tmp_path: Path) -> None:
    port, report_file = free_port(), tmp_path / "coverage.json"
    command = [
        str(Path(sys.executable).with_name("stepspec")),
        "mock",
        "--port", str(port),
        "--workers", "2",
        "--state", str(tmp_path / "state.sqlite3"),
        "--coverage-report", str(report_file),
    ]  # fmt: skip
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            assert process.poll() is None, process.communicate()[1].decode()
            try:
                requests.get(f"{base}/_stepspec/meta", timeout=1)
                break
            except requests.ConnectionError:
                assert time.monotonic() < deadline, "the mock did not come up"
                time.sleep(0.1)
        # New connections each time, so both workers answer some of them.
        for index in range(40):
            headers = KIBANA_A if index % 2 else {"Authorization": f"ApiKey {TEAM_B}"}
            path = EXECUTION if index % 4 < 2 else f"{EXECUTION}/step/step-nope"
            requests.get(base + path, headers={**headers, "Connection": "close"}, timeout=10)
        live = requests.get(f"{base}/_stepspec/coverage", headers=JSON, timeout=10).json()
        assert {c["client"] for c in live["clients"]} == {fingerprint(TEAM_A), fingerprint(TEAM_B)}
        for entry in live["clients"]:
            statuses = {
                op["operation_id"]: set(op["statuses"]) for op in entry["apis"][0]["operations"]
            }
            assert statuses["getExecution"] == {"200"}
            assert statuses["getStepExecution"] == {"404"}
    finally:
        process.send_signal(signal.SIGTERM)
        _, stderr = process.communicate(timeout=30)
    assert process.returncode == 0, stderr.decode()
    written = json.loads(report_file.read_text())
    assert sum(c["requests"] for c in written["clients"]) == 40, "counts from both workers"
    assert (tmp_path / "state.coverage.sqlite3").is_file()
    assert b"coverage report written to" in stderr
