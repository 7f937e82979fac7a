"""Arcee inactive workflows: listed with ``status: inactive`` (LIST-WF: "Can be active or
inactive"), valid against the schema, and never run: execute answers 400 ``{detail}``."""

from __future__ import annotations

from typing import Any

import pytest

from conformance._validation import validator
from tests.conftest import AppFactory, TestClock

AUTH = {"Authorization": "Bearer test-key"}
BASE = "/api/v1/workflow"


def listed(app_factory: AppFactory, **config: Any) -> list[dict[str, Any]]:
    client = app_factory(**config).test_client()
    response = client.get(f"{BASE}/workflows", headers=AUTH)
    assert response.status_code == 200
    body: list[dict[str, Any]] = response.get_json()
    return body


@pytest.mark.parametrize("seed", [0, 1, 7, 42])
def test_every_world_lists_an_inactive_workflow(app_factory: AppFactory, seed: int) -> None:
    workflows = listed(app_factory, seed=seed, workflows_per_api=4)
    statuses = {item["status"] for item in workflows}
    assert statuses == {"active", "inactive"}
    strict = validator("urn:stepspec:arcee:workflow-list")
    assert strict.violations(workflows) == []


def test_an_inactive_workflow_cannot_be_executed(app_factory: AppFactory) -> None:
    app = app_factory()
    client = app.test_client()
    workflows = client.get(f"{BASE}/workflows", headers=AUTH).get_json()
    inactive = next(w for w in workflows if w["status"] == "inactive")
    active = next(w for w in workflows if w["status"] == "active")
    runs = f"{BASE}/workflows/{inactive['workflow_id']}/runs?limit=1000"
    before = client.get(runs, headers=AUTH).get_json()
    path = f"{BASE}/workflows/{inactive['workflow_id']}/execute"
    refused = client.post(path, headers=AUTH, json={})
    assert refused.status_code == 400
    assert refused.get_json() == {"detail": "Workflow is not active"}
    assert validator("urn:stepspec:arcee:error").violations(refused.get_json()) == []
    assert client.get(runs, headers=AUTH).get_json() == before  # nothing was started
    accepted = client.post(
        f"{BASE}/workflows/{active['workflow_id']}/execute", headers=AUTH, json={}
    )
    assert accepted.status_code == 200


def test_auto_runs_never_start_an_inactive_workflow(
    app_factory: AppFactory, clock: TestClock
) -> None:
    clock.now_us = 1_800_000_000_000_000
    app = app_factory(auto_runs=6, workflows_per_api=4)
    client = app.test_client()
    started: dict[str, int] = {}
    for _ in range(10):  # ten minutes of auto runs
        clock.advance(60)
        for item in client.get(f"{BASE}/workflows", headers=AUTH).get_json():
            runs = client.get(
                f"{BASE}/workflows/{item['workflow_id']}/runs?limit=1000", headers=AUTH
            ).get_json()
            fresh = sum(run["start_time"] > "2026" for run in runs)
            started[item["status"]] = started.get(item["status"], 0) + fresh
    assert started["active"] > 0
    assert started["inactive"] == 0
