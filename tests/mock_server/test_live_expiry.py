"""The expiry rule over HTTP: runs older than ``run_ttl`` or beyond ``max_live_runs`` go away
when every ``PRUNE_EVERY``-th run is stored, and are then 404s and gone from the lists."""

from __future__ import annotations

from flask.testing import FlaskClient

from mock_server.live import PRUNE_EVERY
from tests.conftest import AppFactory, TestClock

AUTH = {"Authorization": "ApiKey dGVzdDprZXk=", "kbn-xsrf": "true"}


def start(client: FlaskClient, workflow_id: str) -> str:
    answer = client.post(
        f"/api/workflows/workflow/{workflow_id}/run", headers=AUTH, json={"inputs": {}}
    )
    assert answer.status_code == 200
    return str(answer.get_json()["workflowExecutionId"])


def status_of(client: FlaskClient, execution_id: str) -> int:
    return client.get(f"/api/workflows/executions/{execution_id}", headers=AUTH).status_code


def listed(client: FlaskClient, workflow_id: str) -> set[str]:
    found: set[str] = set()
    for page in range(1, 50):
        body = client.get(
            f"/api/workflows/workflow/{workflow_id}/executions?size=100&page={page}", headers=AUTH
        ).get_json()
        found.update(item["id"] for item in body["results"])
        if len(body["results"]) < 100:
            return found
    return found


def test_runs_older_than_the_ttl_expire(app_factory: AppFactory, clock: TestClock) -> None:
    client = app_factory(run_ttl=3600).test_client()
    workflow = client.get("/api/workflows", headers=AUTH).get_json()["results"][0]["id"]
    old = [start(client, workflow) for _ in range(10)]
    clock.advance(3601)
    fresh = [start(client, workflow) for _ in range(PRUNE_EVERY - 11)]
    assert all(status_of(client, run) == 200 for run in old)  # not yet: no prune so far
    fresh.append(start(client, workflow))  # the PRUNE_EVERY-th run prunes
    assert all(status_of(client, run) == 404 for run in old)
    assert all(status_of(client, run) == 200 for run in fresh)
    ids = listed(client, workflow)
    assert not ids & set(old)
    assert set(fresh) <= ids


def test_only_the_newest_runs_are_kept_beyond_the_cap(
    app_factory: AppFactory, clock: TestClock
) -> None:
    client = app_factory(max_live_runs=30).test_client()
    workflow = client.get("/api/workflows", headers=AUTH).get_json()["results"][0]["id"]
    runs = []
    for _ in range(PRUNE_EVERY):
        runs.append(start(client, workflow))
        clock.advance(1)
    assert [status_of(client, run) for run in runs[-30:]] == [200] * 30
    assert [status_of(client, run) for run in runs[:-30]] == [404] * (PRUNE_EVERY - 30)
