"""Concurrency against ``stepspec mock --workers 2`` (a real subprocess on 127.0.0.1).

50 concurrent resumes of one waiting execution: each is a 200 while the run still waits for input
(Kibana records the input and schedules one resume task; the last answer wins) or, once the run
has moved on, Kibana's 409; the step's output is one of the accepted answers and its ``hitl``
envelope names one responder. 200 concurrent starts: 200 distinct execution ids, every one listed
afterwards. No 500 anywhere.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

import pytest
import requests

from tests.mock_server.test_live_workers import (
    KIBANA,
    MockProcess,
    poll,
    start,
    start_mock,
    workflow_id,
)

pytestmark = pytest.mark.slow
T = TypeVar("T")


@pytest.fixture(scope="module")
def mock(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MockProcess]:
    server = start_mock(tmp_path_factory.mktemp("live-concurrency") / "live.sqlite3")
    try:
        yield server
    finally:
        errors = server.stop()
        assert "Traceback" not in errors, errors


def all_at_once(count: int, call: Callable[[], T]) -> list[T]:
    """Run ``call()`` ``count`` times in parallel, released together by a barrier."""
    barrier = threading.Barrier(count)

    def go() -> T:
        barrier.wait()
        return call()

    with ThreadPoolExecutor(max_workers=count) as pool:
        futures = [pool.submit(go) for _ in range(count)]
        return [future.result() for future in futures]


def test_fifty_concurrent_resumes_are_accepted_until_the_run_moves_on(mock: MockProcess) -> None:
    execution_id = start(mock, "approval")
    poll(mock, execution_id, {"waiting_for_input"})
    path = f"{mock.url}/api/workflows/executions/{execution_id}/resume"
    numbers = iter(range(50))
    lock = threading.Lock()

    def resume() -> tuple[int, requests.Response]:
        with lock:
            number = next(numbers)
        answer = requests.post(
            path, headers=KIBANA, json={"input": {"approved": True, "n": number}}, timeout=60
        )
        return number, answer

    answers = all_at_once(50, resume)
    codes = {answer.status_code for _, answer in answers}
    assert codes <= {200, 409}
    accepted = {number for number, answer in answers if answer.status_code == 200}
    assert accepted  # the first answers came while the run still waited for input
    documented = re.compile(
        rf'Workflow execution "{execution_id}" is in status "(?P<status>[^"]+)" but expected '
        r'"waiting_for_input"\.'
    )
    for _, answer in answers:
        body = answer.json()
        if answer.status_code == 200:
            assert body == {
                "success": True,
                "executionId": execution_id,
                "message": "Workflow resume scheduled",
            }
            continue
        assert (body["statusCode"], body["error"]) == (409, "Conflict")
        matched = documented.fullmatch(body["message"])
        assert matched, body["message"]
        assert matched.group("status") != "waiting_for_input"  # refused only once it moved on
    final = poll(mock, execution_id, {"completed"})[-1]
    step = next(s for s in final["stepExecutions"] if s["stepType"] in ("waitForInput",))
    assert step["output"]["input"]["n"] in accepted  # the last accepted answer wins
    assert step["hitl"]["respondedBy"]
    late = requests.post(path, headers=KIBANA, json={"input": {"approved": True}}, timeout=60)
    assert late.status_code == 409


def test_two_hundred_concurrent_starts_are_all_kept_and_listed(mock: MockProcess) -> None:
    workflow = workflow_id(mock)
    path = f"{mock.url}/api/workflows/workflow/{workflow}/run"
    with ThreadPoolExecutor(max_workers=40) as pool:
        answers = list(
            pool.map(
                lambda _: requests.post(path, headers=KIBANA, json={"inputs": {}}, timeout=60),
                range(200),
            )
        )
    assert [answer.status_code for answer in answers] == [200] * 200
    started = {answer.json()["workflowExecutionId"] for answer in answers}
    assert len(started) == 200
    listed: set[str] = set()
    for page in range(1, 10):
        body = mock.get(f"/api/workflows/workflow/{workflow}/executions?size=100&page={page}")
        assert body.status_code == 200
        listed.update(item["id"] for item in body.json()["results"])
    assert started <= listed
    reads = [mock.get(f"/api/workflows/executions/{run}") for run in sorted(started)[:50]]
    assert {read.status_code for read in reads} == {200}
