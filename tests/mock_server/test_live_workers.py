"""Issue 5's "done when", against ``stepspec mock --workers 2`` on 127.0.0.1 (a real subprocess).

A run started over HTTP progresses to completion; an approval run waits, is resumed and
completes; a cancel ends a run; every read is the same whichever worker answers; runs survive a
restart on the same store file. ``--time-scale`` makes a minute of run time a few seconds.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import requests

from conformance._validation import validator
from tests.mock_server.test_serve import free_port, wait_until_up

pytestmark = pytest.mark.slow

KIBANA = {"Authorization": "ApiKey dGVzdDprZXk=", "kbn-xsrf": "true"}
TIME_SCALE = 20.0
"""Run time passes 20x faster than the wall clock."""
_LAUNCH = "from conformance.cli import main; main()"


@dataclass
class MockProcess:
    """``stepspec mock`` running in its own process group."""

    url: str
    process: subprocess.Popen[bytes]

    def stop(self) -> str:
        """SIGTERM (gunicorn stops gracefully); returns what the server wrote to stderr."""
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
        try:
            _, errors = self.process.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            _, errors = self.process.communicate()
        return errors.decode(errors="replace")

    def get(self, path: str, **kwargs: Any) -> requests.Response:
        """A GET on a fresh connection (so either worker may answer)."""
        return requests.get(self.url + path, headers=KIBANA, timeout=30, **kwargs)

    def post(
        self, path: str, body: Any, headers: dict[str, str] | None = None
    ) -> requests.Response:
        """A POST on a fresh connection."""
        return requests.post(
            self.url + path, headers={**KIBANA, **(headers or {})}, json=body, timeout=30
        )


def start_mock(
    store: Path, *, time_scale: float = TIME_SCALE, workers: int = 2, server: str = "gunicorn"
) -> MockProcess:
    """``stepspec mock --workers N --port <free> --store STORE --time-scale S --auto-runs 0``
    (and ``--server SERVER``)."""
    port = free_port()
    command = [
        sys.executable, "-c", _LAUNCH, "mock", "--workers", str(workers), "--port", str(port),
        "--store", str(store), "--time-scale", str(time_scale), "--auto-runs", "0",
        "--server", server,
    ]  # fmt: skip
    process = subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True
    )
    server = MockProcess(f"http://127.0.0.1:{port}", process)
    try:
        wait_until_up(server.url, process)
    except BaseException:
        server.stop()
        raise
    return server


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("live-workers") / "live.sqlite3"


@pytest.fixture(scope="module")
def mock(store: Path) -> Iterator[MockProcess]:
    server = start_mock(store)
    try:
        yield server
    finally:
        errors = server.stop()
        assert "Traceback" not in errors, errors


def valid(schema: str, response: requests.Response) -> Any:
    assert response.status_code == 200, (response.status_code, response.text)
    body = response.json()
    problems = validator(f"urn:stepspec:kibana:{schema}").violations(body)
    assert not problems, [str(p) for p in problems]
    return body


def workflow_id(mock: MockProcess) -> str:
    return str(valid("workflow-list", mock.get("/api/workflows"))["results"][0]["id"])


def start(mock: MockProcess, scenario: str) -> str:
    answer = mock.post(
        f"/api/workflows/workflow/{workflow_id(mock)}/run",
        {"inputs": {}},
        {"X-Stepspec-Scenario": scenario},
    )
    return str(valid("run-workflow-response", answer)["workflowExecutionId"])


def poll(mock: MockProcess, execution_id: str, until: set[str]) -> list[dict[str, Any]]:
    """Every detail seen (with outputs) until the status is in ``until``."""
    seen = []
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        path = f"/api/workflows/executions/{execution_id}?includeInput=true&includeOutput=true"
        seen.append(valid("execution", mock.get(path)))
        if seen[-1]["status"] in until:
            return seen
        time.sleep(0.05)
    raise AssertionError(f"{execution_id} never reached {until}: {seen[-1]['status']}")


def test_a_started_run_progresses_to_completion(mock: MockProcess) -> None:
    seen = poll(mock, start(mock, "llm-then-slack"), {"completed", "failed"})
    assert seen[-1]["status"] == "completed"
    statuses = [detail["status"] for detail in seen]
    assert set(statuses) <= {"pending", "running", "completed"}  # pending until picked up
    assert statuses == sorted(statuses, key=["pending", "running", "completed"].index)
    done = [sum(s["status"] == "completed" for s in d["stepExecutions"]) for d in seen]
    assert done == sorted(done)  # progress never goes backwards, whichever worker answers
    assert [s["stepId"] for s in seen[-1]["stepExecutions"]] == [
        "error_rates",
        "summarize",
        "post_digest",
    ]
    assert seen[-1]["finishedAt"] >= seen[-1]["startedAt"]


def test_an_approval_run_waits_then_resumes_and_completes(mock: MockProcess) -> None:
    execution_id = start(mock, "approval")
    waiting = poll(mock, execution_id, {"waiting_for_input"})[-1]
    step = waiting["stepExecutions"][-1]
    assert (step["stepId"], step["status"]) == ("approve_change", "waiting_for_input")
    answer = mock.post(
        f"/api/workflows/executions/{execution_id}/resume",
        {"input": {"approved": True, "comment": "ship it"}, "stepExecutionId": step["id"]},
    )
    assert valid("resume-execution-response", answer) == {
        "success": True,
        "executionId": execution_id,
        "message": "Workflow resume scheduled",
    }
    answered = valid(
        "step-execution", mock.get(f"/api/workflows/executions/{execution_id}/step/{step['id']}")
    )
    assert set(answered["hitl"]) >= {"respondedBy", "respondedAt", "channel"}
    assert answered["hitl"]["respondedBy"] == "elastic"
    done = poll(mock, execution_id, {"completed", "failed"})[-1]
    assert done["status"] == "completed"
    steps = {s["stepId"]: s for s in done["stepExecutions"]}
    assert steps["approve_change"]["output"]["input"] == {"approved": True, "comment": "ship it"}
    assert steps["approve_change"]["hitl"] == answered["hitl"]
    assert steps["deploy_change"]["status"] == "completed"
    assert steps["log_rejection"]["status"] == "skipped"


def test_a_cancel_ends_a_run_with_its_unfinished_step_cancelled(mock: MockProcess) -> None:
    execution_id = start(mock, "approval")
    poll(mock, execution_id, {"waiting_for_input"})
    cancel = mock.post(f"/api/workflows/executions/{execution_id}/cancel", None)
    assert cancel.status_code == 200
    done = poll(mock, execution_id, {"cancelled"})[-1]
    statuses = [(s["stepId"], s["status"]) for s in done["stepExecutions"]]
    assert statuses == [("announce_change", "completed"), ("approve_change", "cancelled")]
    resume = mock.post(f"/api/workflows/executions/{execution_id}/resume", {"input": {}})
    assert resume.status_code == 409


def test_every_read_is_the_same_whichever_worker_answers(mock: MockProcess) -> None:
    execution_id = start(mock, "foreach-fanout")
    final = poll(mock, execution_id, {"completed"})[-1]
    detail_path = f"/api/workflows/executions/{execution_id}?includeInput=true&includeOutput=true"
    bodies = {mock.get(detail_path).content for _ in range(16)}
    assert len(bodies) == 1
    steps = valid(
        "step-execution-list", mock.get(f"/api/workflows/executions/{execution_id}/steps")
    )
    embedded = {s["id"]: s for s in final["stepExecutions"]}
    for listed in steps["results"]:
        alone = valid(
            "step-execution",
            mock.get(f"/api/workflows/executions/{execution_id}/step/{listed['id']}"),
        )
        assert alone == embedded[listed["id"]]
        assert listed == {k: v for k, v in alone.items() if k not in ("input", "output")}
    runs = valid(
        "execution-list",
        mock.get(f"/api/workflows/workflow/{workflow_id(mock)}/executions?size=100"),
    )
    item = next(run for run in runs["results"] if run["id"] == execution_id)
    assert (item["status"], item["startedAt"], item["finishedAt"]) == (
        final["status"],
        final["startedAt"],
        final["finishedAt"],
    )


def test_runs_survive_a_restart_on_the_same_store(tmp_path: Path) -> None:
    store = tmp_path / "live.sqlite3"
    first = start_mock(store)
    try:
        execution_id = start(first, "flaky-http")
        before = poll(first, execution_id, {"failed"})[-1]
    finally:
        assert "Traceback" not in first.stop()
    second = start_mock(store)
    try:
        path = f"/api/workflows/executions/{execution_id}?includeInput=true&includeOutput=true"
        assert valid("execution", second.get(path)) == before
    finally:
        assert "Traceback" not in second.stop()
