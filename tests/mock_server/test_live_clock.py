"""``--time-scale`` keeps the clock honest: faster runs, and never a timestamp from the future.

A real ``stepspec mock --time-scale 10`` runs Kibana scenarios (one that completes by itself,
one a human approves) and an Arcee run while the test polls them. On every answer, every
timestamp in the body is at most the server's own ``Date`` (which has whole seconds, so "at
most" is "before the next second"), and every duration equals finish minus start. A run that
completes takes about a tenth of its plan, so its reported duration fits in the wall time the
test saw pass (a virtual clock running ten times as fast would report ten times as much).
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any

import pytest
import requests

from tests.mock_server._process import ServedMock, served

pytestmark = pytest.mark.slow

KEY = "clock-key"
KIBANA = {"Authorization": f"ApiKey {KEY}", "kbn-xsrf": "true"}
ARCEE = {"Authorization": f"Bearer {KEY}"}
ISO = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})?$")


@pytest.fixture(scope="module")
def mock() -> Iterator[ServedMock]:
    with served(
        "--workers", "1", "--auto-runs", "0", "--api-key", KEY, "--time-scale", "10",
        "--workflows", "3", "--runs-per-workflow", "2",
    ) as mock:  # fmt: skip
        yield mock


def moment(text: str) -> float:
    """Seconds since the epoch of an ISO 8601 timestamp (UTC when it names no zone)."""
    parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    return (parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)).timestamp()


def timestamps(value: Any, where: str = "$") -> Iterator[tuple[str, str]]:
    """Every (JSON path, ISO timestamp string) in ``value``."""
    if isinstance(value, dict):
        for key, item in value.items():
            yield from timestamps(item, f"{where}.{key}")
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from timestamps(item, f"{where}[{index}]")
    elif isinstance(value, str) and ISO.match(value):
        yield where, value


def honest(answer: requests.Response) -> Any:
    """The body of ``answer``, after checking no timestamp in it is later than its ``Date``."""
    assert answer.status_code == 200, (answer.status_code, answer.text[:500])
    date = parsedate_to_datetime(answer.headers["Date"]).timestamp()
    body = answer.json()
    future = [
        (path, text) for path, text in timestamps(body) if moment(text) >= date + 1.0
    ]  # Date has whole seconds: a timestamp within its second is not in the future
    assert not future, (answer.headers["Date"], future)
    return body


def millis(text: str) -> int:
    return round(moment(text) * 1000)


def check_kibana_durations(detail: dict[str, Any]) -> None:
    if detail.get("finishedAt"):
        assert detail["duration"] == millis(detail["finishedAt"]) - millis(detail["startedAt"])
    for step in detail["stepExecutions"]:
        if step.get("finishedAt"):
            spent = millis(step["finishedAt"]) - millis(step["startedAt"])
            assert step["executionTimeMs"] == spent, step["stepId"]


def kibana_run(mock: ServedMock, scenario: str) -> str:
    workflows = honest(requests.get(f"{mock.url}/api/workflows", headers=KIBANA, timeout=10))
    answer = requests.post(
        f"{mock.url}/api/workflows/workflow/{workflows['results'][0]['id']}/run",
        headers={**KIBANA, "X-Stepspec-Scenario": scenario},
        json={"inputs": {}},
        timeout=10,
    )
    return str(honest(answer)["workflowExecutionId"])


def poll_kibana(mock: ServedMock, execution_id: str, until: set[str]) -> dict[str, Any]:
    deadline = time.monotonic() + 30
    while True:
        answer = requests.get(
            f"{mock.url}/api/workflows/executions/{execution_id}", headers=KIBANA, timeout=10
        )
        detail: dict[str, Any] = honest(answer)
        check_kibana_durations(detail)
        if detail["status"] in until:
            return detail
        assert time.monotonic() < deadline, detail["status"]
        time.sleep(0.1)


def test_a_kibana_run_takes_a_tenth_of_its_plan_and_stays_in_the_present(
    mock: ServedMock,
) -> None:
    began = time.time()
    execution_id = kibana_run(mock, "llm-then-slack")  # 11.5 s of steps at time scale 1
    done = poll_kibana(mock, execution_id, {"completed", "failed"})
    wall_ms = (time.time() - began) * 1000
    assert done["status"] == "completed"
    assert done["duration"] <= wall_ms + 50, (done["duration"], wall_ms)
    assert done["duration"] >= 11_500 / 10


def test_an_approved_run_answers_and_finishes_in_the_present(mock: ServedMock) -> None:
    execution_id = kibana_run(mock, "approval")
    waiting = poll_kibana(mock, execution_id, {"waiting_for_input"})
    step = waiting["stepExecutions"][-1]
    resumed = requests.post(
        f"{mock.url}/api/workflows/executions/{execution_id}/resume",
        headers=KIBANA,
        json={"input": {"approved": True}, "stepExecutionId": step["id"]},
        timeout=10,
    )
    honest(resumed)
    done = poll_kibana(mock, execution_id, {"completed", "failed"})
    assert done["status"] == "completed"
    answered = {s["stepId"]: s for s in done["stepExecutions"]}["approve_change"]
    assert answered["hitl"]["respondedAt"] <= answered["finishedAt"]


def test_an_arcee_run_stays_in_the_present(mock: ServedMock) -> None:
    base = f"{mock.url}/api/v1/workflow/workflows"
    workflows = honest(requests.get(base, headers=ARCEE, timeout=30))
    workflow_id = workflows[0]["workflow_id"]
    started = requests.post(f"{base}/{workflow_id}/execute", headers=ARCEE, json={}, timeout=10)
    run_id = honest(started)["run_id"]
    deadline = time.monotonic() + 30
    while True:
        path = f"{base}/{workflow_id}/runs/{run_id}"
        (run,) = honest(requests.get(path, headers=ARCEE, timeout=10))  # a one-run list
        honest(requests.get(f"{path}/steps", headers=ARCEE, timeout=10))
        if run["end_time"] is not None:
            break
        assert time.monotonic() < deadline, run["status"]
        time.sleep(0.1)
