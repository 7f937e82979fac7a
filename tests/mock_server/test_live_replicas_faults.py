"""Issue 14's faults, against real ``stepspec mock`` replicas on a Redis of their own.

- Redis unreachable at start: one line on stderr, exit 2.
- Redis stopped mid-run: writes answer 503 in each vendor's envelope, the seeded world is still
  served, live reads answer 503; service resumes by itself when Redis returns; no 500, no
  traceback in the logs.
- A replica SIGKILLed during 50 concurrent resumes: one recorded answer, the same on every
  replica (and on one started afterwards), never a half-written one.
"""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field

import pytest
import requests

from tests.mock_server.replicas import (
    all_at_once,
    approval_step,
    body,
    detail,
    first_workflow,
    kill,
    poll,
    resume,
    start_replica,
    start_run,
)
from tests.mock_server.test_live_workers import KIBANA, MockProcess
from tests.real_servers import RedisServer, free_port, start_redis

pytestmark = pytest.mark.slow

ARCEE = {"Authorization": "Bearer fault-key"}
TRIGIFY = {"x-api-key": "fault-key"}
LAUNCH = "from conformance.cli import main; main()"
KIBANA_503 = {
    "statusCode": 503,
    "error": "Service Unavailable",
    "message": "live-run store unavailable",
}


@dataclass
class Faulty:
    """Replicas on a Redis that the tests stop, restart, and whose replicas they kill."""

    redis: RedisServer
    prefix: str
    replicas: list[MockProcess] = field(default_factory=list)
    logs: list[str] = field(default_factory=list)

    def add_replica(self) -> MockProcess:
        server = start_replica(self.redis.url(), self.prefix, "--rate-limit")
        self.replicas.append(server)
        return server


@pytest.fixture(scope="module")
def faulty(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Faulty]:
    setup = Faulty(start_redis(tmp_path_factory.mktemp("faulty-redis")), "faults")
    try:
        setup.add_replica()
        setup.add_replica()
        yield setup
    finally:
        for server in setup.replicas:
            setup.logs.append(server.stop())
        setup.redis.stop()
    for log in setup.logs:
        assert "Traceback" not in log, log
        assert "unexpected error" not in log, log  # what the app logs before answering a 500
        assert log.count("unavailable (") <= 3, log  # an outage is a line or two, not one a request


def test_an_unreachable_redis_at_start_is_one_line_and_exit_2() -> None:
    store = f"redis://:hunter2@127.0.0.1:{free_port()}/0"
    done = subprocess.run(
        [sys.executable, "-c", LAUNCH, "mock", "--store", store],
        capture_output=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 2
    lines = done.stderr.decode().strip().splitlines()
    assert len(lines) == 1, lines
    assert "cannot reach the live-run store redis://:***@127.0.0.1:" in lines[0]
    assert "hunter2" not in lines[0]


def _terminal_seeded_run(url: str) -> str:
    listed = requests.get(
        f"{url}/api/workflows/workflow/{first_workflow(url)}/executions?size=100",
        headers=KIBANA,
        timeout=30,
    )
    results = body("execution-list", listed)["results"]
    return next(r["id"] for r in results if r["status"] in {"completed", "failed"})


def test_redis_stopped_mid_run(faulty: Faulty) -> None:
    a, b = faulty.replicas[0].url, faulty.replicas[1].url
    execution_id = start_run(a, "approval")
    poll([a, b], execution_id, {"waiting_for_input"})
    seeded = _terminal_seeded_run(a)
    workflow = first_workflow(a)
    arcee_workflow = requests.get(f"{b}/api/v1/workflow/workflows", headers=ARCEE, timeout=30)
    arcee_id = arcee_workflow.json()[0]["workflow_id"]

    faulty.redis.stop(save=True)
    for url in (a, b):
        # Writes: 503 in the vendor's envelope, with Retry-After.
        answer = resume(url, execution_id, 1)
        assert (answer.status_code, answer.json()) == (503, KIBANA_503)
        assert answer.headers["Retry-After"] == "1"
        started = requests.post(
            f"{url}/api/workflows/workflow/{workflow}/run",
            headers=KIBANA,
            json={"inputs": {}},
            timeout=30,
        )
        assert (started.status_code, started.json()) == (503, KIBANA_503)
        execute = f"{url}/api/v1/workflow/workflows/{arcee_id}/execute"
        executed = requests.post(execute, headers=ARCEE, json={}, timeout=30)
        assert executed.status_code == 503
        assert executed.json() == {"detail": "live-run store unavailable"}
        # Live reads: 503. Reads of the seeded world: served.
        assert detail(url, execution_id).status_code == 503
        assert body("execution", detail(url, seeded))["id"] == seeded
        assert requests.get(f"{url}/api/workflows", headers=KIBANA, timeout=30).status_code == 200
        arcee = requests.get(f"{url}/api/v1/workflow/workflows", headers=ARCEE, timeout=30)
        assert arcee.status_code == 200
        trigify = requests.get(f"{url}/v1/workflows", headers=TRIGIFY, timeout=30)
        assert trigify.status_code == 200

    faulty.redis = faulty.redis.restart()
    deadline = time.monotonic() + 20
    while detail(a, execution_id).status_code != 200:  # service resumes by itself
        assert time.monotonic() < deadline, "no recovery after Redis returned"
        time.sleep(0.1)
    for url in (a, b):
        assert body("execution", detail(url, execution_id))["status"] == "waiting_for_input"
    assert body("resume-execution-response", resume(b, execution_id, 2))["success"] is True
    finals = [poll([url], execution_id, {"completed"})[-1] for url in (a, b)]
    assert finals[0] == finals[1]
    assert approval_step(finals[0])["output"]["input"]["n"] == 2


def test_a_replica_killed_during_fifty_concurrent_resumes(faulty: Faulty) -> None:
    survivor, victim = faulty.replicas[0], faulty.replicas[1]
    execution_id = start_run(survivor.url, "approval")
    poll([survivor.url, victim.url], execution_id, {"waiting_for_input"})
    targets = [survivor.url, victim.url]

    def kill_soon() -> None:
        time.sleep(0.02)  # most requests are on their way or being handled
        kill(victim)

    answers = all_at_once(50, lambda n: resume(targets[n % 2], execution_id, n), kill_soon)
    faulty.replicas.remove(victim)
    victim.stop()  # collects what it wrote before it died
    ok = {n for n, a in enumerate(answers) if getattr(a, "status_code", 0) == 200}
    lost = {n for n, a in enumerate(answers) if isinstance(a, Exception)}
    codes = {a.status_code for a in answers if isinstance(a, requests.Response)}
    assert codes <= {200, 409}, codes
    assert all(n % 2 == 1 for n in lost)  # only requests to the killed replica went unanswered

    fresh = faulty.add_replica()  # a replica started afterwards sees what the others see
    finals = [poll([url], execution_id, {"completed"})[-1] for url in (survivor.url, fresh.url)]
    assert finals[0] == finals[1]
    recorded = approval_step(finals[0])["output"]["input"]
    n = recorded["n"]
    assert recorded == {"approved": True, "comment": f"answer {n}", "n": n}  # whole, not half
    assert n in ok | lost  # told 200, or its replica died after storing it: never a 409's answer
    steps = [s["stepId"] for s in finals[0]["stepExecutions"]]
    assert steps.count("deploy_change") == 1
