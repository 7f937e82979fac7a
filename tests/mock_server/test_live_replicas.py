"""Issue 14: two ``stepspec mock`` hosts (same seed, same Redis) behind a real nginx round robin.

nginx runs ``docs/nginx-replicas.conf`` (the README's example) with only its ports replaced.
Both replicas enforce Trigify's rate limit and start 60 automatic runs per API and minute, so
that every shared piece of live state is exercised: runs, human answers, rate-limit counts,
coverage and auto-run claims.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import orjson
import pytest
import requests

from tests.mock_server.replicas import (
    SEED,
    all_at_once,
    approval_step,
    body,
    detail,
    poll,
    resume,
    start_replica,
    start_run,
)
from tests.mock_server.test_live_workers import KIBANA, MockProcess
from tests.real_servers import Nginx, RedisServer, start_nginx

pytestmark = pytest.mark.slow


@dataclass
class Cluster:
    """Two replicas, the balancer in front of them and their Redis."""

    a: MockProcess
    b: MockProcess
    balancer: Nginx
    redis: RedisServer
    prefix: str

    @property
    def url(self) -> str:
        """The balancer's URL."""
        return self.balancer.url

    @property
    def replicas(self) -> list[str]:
        """The replicas' own URLs."""
        return [self.a.url, self.b.url]


@pytest.fixture(scope="module")
def cluster(
    redis_server: RedisServer, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Cluster]:
    prefix = f"replicas-{uuid.uuid4().hex[:8]}"
    options = ("--rate-limit", "--auto-runs", "60")
    a = start_replica(redis_server.url(), prefix, *options)
    try:
        b = start_replica(redis_server.url(), prefix, *options)
    except BaseException:
        a.stop()
        raise
    try:
        ports = [int(server.url.rsplit(":", 1)[1]) for server in (a, b)]
        balancer = start_nginx(tmp_path_factory.mktemp("nginx"), ports)
    except BaseException:
        a.stop()
        b.stop()
        raise
    try:
        yield Cluster(a, b, balancer, redis_server, prefix)
    finally:
        log = balancer.stop()
        errors = [a.stop(), b.stop()]
        for text in errors:
            assert "Traceback" not in text, text
        assert "[emerg]" not in log, log
        assert "[crit]" not in log, log


def test_requests_of_one_key_count_once_whichever_replica_serves_them(cluster: Cluster) -> None:
    key = {"x-api-key": f"spread-{uuid.uuid4().hex}"}
    _wait_for_a_fresh_window(5.0)
    left = []
    for url in [cluster.url] * 4 + cluster.replicas:
        answer = requests.get(url + "/v1/workflows", headers=key, timeout=30)
        assert answer.status_code == 200
        left.append(int(answer.headers["RateLimit-Remaining"]))
    assert left == [99, 98, 97, 96, 95, 94]  # one window for the key, not one per replica


def test_a_run_progresses_identically_whichever_replica_answers(cluster: Cluster) -> None:
    execution_id = start_run(cluster.url, "llm-then-slack")
    seen = poll([cluster.url], execution_id, {"completed", "failed"})
    assert seen[-1]["status"] == "completed"
    done = [sum(s["status"] == "completed" for s in d["stepExecutions"]) for d in seen]
    assert done == sorted(done)  # never backwards, whichever replica answered each poll
    final = {detail(url, execution_id).content for url in [*cluster.replicas, cluster.url] * 2}
    assert len(final) == 1  # the same bytes from every replica
    assert body("execution", detail(cluster.a.url, execution_id)) == seen[-1]


def test_an_approval_resumed_through_one_replica_completes_on_both(cluster: Cluster) -> None:
    execution_id = start_run(cluster.url, "approval")
    waiting = poll([cluster.url], execution_id, {"waiting_for_input"})[-1]
    for url in cluster.replicas:  # both see the wait
        assert body("execution", detail(url, execution_id))["status"] == "waiting_for_input"
    answer = resume(cluster.a.url, execution_id, 1)
    assert body("resume-execution-response", answer)["success"] is True
    finals = [poll([url], execution_id, {"completed", "failed"})[-1] for url in cluster.replicas]
    assert finals[0] == finals[1]
    assert finals[0]["status"] == "completed"
    step = approval_step(finals[0])
    assert step["id"] == approval_step(waiting)["id"]
    assert step["output"]["input"] == {"approved": True, "comment": "answer 1", "n": 1}


def test_fifty_concurrent_resumes_through_the_balancer_record_one_answer(
    cluster: Cluster,
) -> None:
    execution_id = start_run(cluster.url, "approval")
    poll([cluster.url], execution_id, {"waiting_for_input"})
    answers = all_at_once(50, lambda n: resume(cluster.url, execution_id, n))
    statuses = [a.status_code for a in answers if isinstance(a, requests.Response)]
    assert len(statuses) == 50, answers
    assert set(statuses) <= {200, 409}, statuses
    accepted = {n for n, a in enumerate(answers) if getattr(a, "status_code", 0) == 200}
    assert accepted
    finals = [poll([url], execution_id, {"completed", "failed"})[-1] for url in cluster.replicas]
    assert finals[0] == finals[1]  # every replica shows the same single recorded answer
    recorded = approval_step(finals[0])["output"]["input"]
    assert recorded["n"] in accepted  # the answer kept is one that was told 200
    assert recorded == {"approved": True, "comment": f"answer {recorded['n']}", "n": recorded["n"]}
    step_ids = [s["stepId"] for s in finals[0]["stepExecutions"]]
    assert step_ids.count("deploy_change") == 1  # the run continued exactly once
    assert len(step_ids) == len(set(step_ids))
    for url in cluster.replicas:  # a resume after it moved on: 409 from either replica
        late = resume(url, execution_id, 99)
        assert late.status_code == 409, late.text
        assert late.json()["statusCode"] == 409


def _waiting_seeded_run(url: str) -> tuple[str, str]:
    """(execution id, waiting step id) of a run of the seeded world that waits for input."""
    listed = requests.get(url + "/api/workflows", headers=KIBANA, timeout=30)
    for workflow in body("workflow-list", listed)["results"]:
        path = f"{url}/api/workflows/workflow/{workflow['id']}/executions?size=100"
        runs = body("execution-list", requests.get(path, headers=KIBANA, timeout=30))["results"]
        for run in runs:  # seeded runs started before the world's "now" (live ones: today)
            if run["status"] == "waiting_for_input" and run.get("startedAt", "~") < "2025-11-22":
                steps = body("execution", detail(url, run["id"]))["stepExecutions"]
                waiting = [s["id"] for s in steps if s["status"] == "waiting_for_input"]
                if waiting:
                    return run["id"], waiting[-1]
    raise AssertionError("the seeded world has no run waiting for input")


def test_a_seeded_run_thawed_through_one_replica_moves_on_both(cluster: Cluster) -> None:
    execution_id, step_id = _waiting_seeded_run(cluster.url)
    answer = requests.post(
        f"{cluster.a.url}/api/workflows/executions/{execution_id}/resume",
        headers=KIBANA,
        json={"input": {"approved": True}, "stepExecutionId": step_id},
        timeout=30,
    )
    assert body("resume-execution-response", answer)["success"] is True
    seen = []
    for url in cluster.replicas:  # B knows the run was thawed and answered through A
        path = f"{url}/api/workflows/executions/{execution_id}/step/{step_id}"
        seen.append(body("step-execution", requests.get(path, headers=KIBANA, timeout=30)))
    assert seen[0]["hitl"] == seen[1]["hitl"]
    assert seen[0]["hitl"]["respondedBy"] == "elastic"  # the answer, the same on both
    # answered on the thawed run's clock, anchored at the world's "now" (2025-11-21T09:30Z)
    assert seen[0]["hitl"]["respondedAt"].startswith("2025-11-21T09:30:")


def _wait_for_a_fresh_window(margin_s: float = 15.0) -> None:
    """Sleep into the next minute if this one ends within ``margin_s`` (windows are minutes)."""
    left = 60 - time.time() % 60
    if left < margin_s:
        time.sleep(left + 0.2)


def test_the_rate_limit_of_one_key_is_global_across_replicas(cluster: Cluster) -> None:
    key = {"x-api-key": f"limit-{uuid.uuid4().hex}"}
    _wait_for_a_fresh_window()
    remaining = []
    for _ in range(100):
        answer = requests.get(cluster.url + "/v1/workflows", headers=key, timeout=30)
        assert answer.status_code == 200, answer.text
        remaining.append(int(answer.headers["RateLimit-Remaining"]))
    assert remaining == list(range(99, -1, -1))  # one count, whichever replica answered
    for url in cluster.replicas:  # the 101st (and 102nd) request: 429 from either replica
        answer = requests.get(url + "/v1/workflows", headers=key, timeout=30)
        assert answer.status_code == 429, answer.text
        assert answer.json()["error"]["code"] == "RATE_LIMITED"  # Trigify's 429 envelope


def test_coverage_lists_what_both_replicas_served(cluster: Cluster) -> None:
    secret = f"coverage-{uuid.uuid4().hex}"
    kibana = requests.get(
        cluster.a.url + "/api/workflows",
        headers={**KIBANA, "Authorization": f"ApiKey {secret}"},
        timeout=30,
    )
    arcee = requests.get(
        cluster.b.url + "/api/v1/workflow/workflows",
        headers={"Authorization": f"Bearer {secret}"},
        timeout=30,
    )
    assert (kibana.status_code, arcee.status_code) == (200, 200)
    for url in cluster.replicas:
        report = requests.get(
            url + "/_stepspec/coverage?format=json&client=me",
            headers={"x-api-key": secret},
            timeout=30,
        ).json()
        (client,) = report["clients"]
        served = {
            (api["api"], op["operation_id"]): op["statuses"]
            for api in client["apis"]
            for op in api["operations"]
            if op["requests"]
        }
        assert served == {
            ("kibana", "listWorkflows"): {"200": 1},
            ("arcee", "listWorkflows"): {"200": 1},
        }


def test_each_auto_run_slot_is_started_by_exactly_one_replica(cluster: Cluster) -> None:
    # Both replicas take Kibana requests for a few seconds: each one's request after a slot is
    # due tries to start it (60 slots a minute: one a second).
    deadline = time.monotonic() + 3.5
    while time.monotonic() < deadline:
        for url in cluster.replicas:
            assert requests.get(url + "/api/workflows", headers=KIBANA, timeout=30).ok
        time.sleep(0.05)
    client = cluster.redis.client()
    namespace = f"{cluster.prefix}:{SEED}"
    starts: dict[int, int] = {}
    for key in client.scan_iter(f"{namespace}:run:*"):
        run = client.hgetall(key)
        if run[b"api"] == b"kibana" and orjson.loads(run[b"spec"]).get("auto"):
            started = int(run[b"started_us"])
            starts[started] = starts.get(started, 0) + 1
    assert len(starts) >= 3
    assert set(starts.values()) == {1}, starts  # no slot was started by both replicas
    claims = list(client.scan_iter(f"{namespace}:claim:auto:kibana:*"))
    assert len(claims) == len(starts)


def test_the_example_config_is_what_the_test_runs(cluster: Cluster, tmp_path: Path) -> None:
    from tests.real_servers import EXAMPLE_LISTEN, EXAMPLE_REPLICAS, nginx_config

    example = (Path(__file__).resolve().parents[2] / "docs" / "nginx-replicas.conf").read_text()
    assert nginx_config(EXAMPLE_LISTEN, list(EXAMPLE_REPLICAS)) == example
