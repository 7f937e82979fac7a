"""Helpers of the multi-host tests: ``stepspec mock`` replicas on one Redis, polling, concurrency.

Every replica is a real ``stepspec mock`` process (one gunicorn worker, same seed, same Redis
and key prefix), so the tests see what a deployment behind a load balancer sees.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import requests

from conformance._validation import validator
from tests.mock_server.test_live_workers import KIBANA, MockProcess
from tests.real_servers import free_port

SEED = 7
TIME_SCALE = 20.0
_LAUNCH = "from conformance.cli import main; main()"


def start_replica(store: str, prefix: str, *extra: str) -> MockProcess:
    """``stepspec mock --workers 1 --seed 7 --store STORE --store-prefix PREFIX ...``."""
    port = free_port()
    command = [
        sys.executable, "-c", _LAUNCH, "mock", "--workers", "1", "--port", str(port),
        "--seed", str(SEED), "--store", store, "--store-prefix", prefix,
        "--time-scale", str(TIME_SCALE), *extra,
    ]  # fmt: skip
    process = subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True
    )
    server = MockProcess(f"http://127.0.0.1:{port}", process)
    deadline = time.monotonic() + 60
    while True:
        if process.poll() is not None:
            raise AssertionError(f"replica exited early: {server.stop()}")
        try:
            requests.get(server.url + "/_stepspec/meta", timeout=1)
            return server
        except requests.ConnectionError:
            if time.monotonic() > deadline:
                raise AssertionError(f"replica did not come up: {server.stop()}") from None
            time.sleep(0.1)


def kill(server: MockProcess) -> None:
    """SIGKILL the replica's whole process group (master and workers), as a crash would."""
    os.killpg(server.process.pid, signal.SIGKILL)
    server.process.wait()


def body(schema: str, response: requests.Response) -> Any:
    """The JSON of a 200 that validates against the Kibana schema ``schema``."""
    assert response.status_code == 200, (response.status_code, response.text)
    found = response.json()
    problems = validator(f"urn:stepspec:kibana:{schema}").violations(found)
    assert not problems, [str(p) for p in problems]
    return found


def detail(url: str, execution_id: str) -> requests.Response:
    """GET an execution with inputs and outputs, on a fresh connection."""
    path = f"{url}/api/workflows/executions/{execution_id}?includeInput=true&includeOutput=true"
    return requests.get(path, headers=KIBANA, timeout=30)


def first_workflow(url: str) -> str:
    """The id of the first Kibana workflow of the seeded world."""
    listed = requests.get(url + "/api/workflows", headers=KIBANA, timeout=30)
    return str(body("workflow-list", listed)["results"][0]["id"])


def start_run(url: str, scenario: str) -> str:
    """Start a Kibana run of ``scenario``; its execution id."""
    answer = requests.post(
        f"{url}/api/workflows/workflow/{first_workflow(url)}/run",
        headers={**KIBANA, "X-Stepspec-Scenario": scenario},
        json={"inputs": {}},
        timeout=30,
    )
    return str(body("run-workflow-response", answer)["workflowExecutionId"])


def poll(urls: list[str], execution_id: str, until: set[str]) -> list[dict[str, Any]]:
    """Every detail seen, asking each of ``urls`` in turn, until the status is in ``until``."""
    seen: list[dict[str, Any]] = []
    deadline = time.monotonic() + 30
    turn = 0
    while time.monotonic() < deadline:
        seen.append(body("execution", detail(urls[turn % len(urls)], execution_id)))
        turn += 1
        if seen[-1]["status"] in until:
            return seen
        time.sleep(0.05)
    raise AssertionError(f"{execution_id} never reached {until}: {seen[-1]['status']}")


def resume(url: str, execution_id: str, n: int) -> requests.Response:
    """Resume with an answer that names its sender ``n``."""
    return requests.post(
        f"{url}/api/workflows/executions/{execution_id}/resume",
        headers=KIBANA,
        json={"input": {"approved": True, "comment": f"answer {n}", "n": n}},
        timeout=60,
    )


def all_at_once(
    count: int,
    call: Callable[[int], requests.Response],
    after_start: Callable[[], None] | None = None,
) -> list[requests.Response | Exception]:
    """``call(n)`` for n < count in parallel, released together by a barrier; a call that
    fails (connection lost) yields its exception. ``after_start`` runs once all are released."""
    barrier = threading.Barrier(count + 1)

    def go(n: int) -> requests.Response | Exception:
        barrier.wait()
        try:
            return call(n)
        except requests.RequestException as error:
            return error

    with ThreadPoolExecutor(max_workers=count) as pool:
        futures = [pool.submit(go, n) for n in range(count)]
        barrier.wait()
        if after_start is not None:
            after_start()
        return [future.result() for future in futures]


def approval_step(execution: dict[str, Any]) -> dict[str, Any]:
    """The ``approve_change`` step of an execution of the ``approval`` scenario."""
    return next(s for s in execution["stepExecutions"] if s["stepId"] == "approve_change")
