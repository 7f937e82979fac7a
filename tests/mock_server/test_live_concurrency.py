"""Concurrency against ``stepspec mock --workers 2`` (a real subprocess on 127.0.0.1).

50 concurrent resumes of one waiting execution: exactly one 200, 49 Kibana 409s. 200 concurrent
starts: 200 distinct execution ids, every one listed afterwards. No 500 anywhere.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor

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


@pytest.fixture(scope="module")
def mock(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MockProcess]:
    server = start_mock(tmp_path_factory.mktemp("live-concurrency") / "live.sqlite3")
    try:
        yield server
    finally:
        errors = server.stop()
        assert "Traceback" not in errors, errors


def all_at_once(count: int, call: Callable[[], requests.Response]) -> list[requests.Response]:
    """Run ``call()`` ``count`` times in parallel, released together by a barrier."""
    barrier = threading.Barrier(count)

    def go() -> requests.Response:
        barrier.wait()
        return call()

    with ThreadPoolExecutor(max_workers=count) as pool:
        futures = [pool.submit(go) for _ in range(count)]
        return [future.result() for future in futures]


def test_fifty_concurrent_resumes_have_exactly_one_winner(mock: MockProcess) -> None:
    execution_id = start(mock, "approval")
    poll(mock, execution_id, {"waiting_for_input"})
    path = f"{mock.url}/api/workflows/executions/{execution_id}/resume"

    def resume() -> requests.Response:
        return requests.post(path, headers=KIBANA, json={"input": {"approved": True}}, timeout=60)

    answers = all_at_once(50, resume)
    codes = sorted(answer.status_code for answer in answers)
    assert codes == [200] + [409] * 49
    documented = re.compile(
        rf'Workflow execution "{execution_id}" is in status "[^"]+" but expected '
        r'"waiting_for_input"\.'
    )
    for answer in answers:
        if answer.status_code == 409:
            body = answer.json()
            assert (body["statusCode"], body["error"]) == (409, "Conflict")
            assert documented.fullmatch(body["message"]), body["message"]
    assert poll(mock, execution_id, {"completed"})[-1]["status"] == "completed"


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
