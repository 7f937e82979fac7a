"""Auto-started runs: N per API and minute of the clock, the same in every worker, once each."""

from __future__ import annotations

import pytest
from click.testing import CliRunner
from flask import Flask

from mock_server import MockConfig
from mock_server._cli import mock_command
from mock_server.kibana._naming import LIVE, KibanaIds
from mock_server.live._auto import PERIOD_US
from tests.conftest import AppFactory, TestClock

KIBANA = {"Authorization": "ApiKey dGVzdDprZXk="}
IDS = KibanaIds(MockConfig().seed)
"""The id scheme of the apps these tests build (the default seed)."""
ARCEE = {"Authorization": "Bearer test-key"}


def kibana_live_runs(app: Flask) -> dict[str, str]:
    """Execution id -> status of every live run of every default-space workflow."""
    client = app.test_client()
    found = {}
    for workflow in client.get("/api/workflows", headers=KIBANA).get_json()["results"]:
        body = client.get(
            f"/api/workflows/workflow/{workflow['id']}/executions?size=100", headers=KIBANA
        ).get_json()
        for item in body["results"]:
            decoded = IDS.execution(item["id"])  # live runs have ids of their own kind
            if decoded is not None and decoded[0] == LIVE:
                found[item["id"]] = item["status"]
    return found


def arcee_live_runs(app: Flask) -> list[str]:
    client = app.test_client()
    ids = []
    for workflow in client.get("/api/v1/workflow/workflows", headers=ARCEE).get_json():
        history = client.get(
            f"/api/v1/workflow/workflows/{workflow['workflow_id']}/runs?limit=5", headers=ARCEE
        ).get_json()
        ids += [run["id"] for run in history if run["start_time"] > "2026"]
    return ids


def at_minute_start(clock: TestClock) -> None:
    clock.now_us = (clock.now_us // PERIOD_US + 1) * PERIOD_US + 1


def test_no_auto_runs_unless_asked(app_factory: AppFactory, clock: TestClock) -> None:
    clock.now_us = 1_800_000_000_000_000
    assert kibana_live_runs(app_factory()) == {}


def test_due_slots_start_once_even_with_two_workers_on_one_store(
    app_factory: AppFactory, clock: TestClock, tmp_path: object
) -> None:
    clock.now_us = 1_800_000_000_000_000
    at_minute_start(clock)
    store = f"{tmp_path}/shared.sqlite3"
    one = app_factory(auto_runs=2, state_path=store)
    two = app_factory(auto_runs=2, state_path=store)  # a second worker process, in effect
    first = kibana_live_runs(one)
    assert len(first) == 1  # slot 0 is due at the minute, slot 1 half a minute later
    assert kibana_live_runs(two) == kibana_live_runs(one)
    clock.advance(31)
    assert len(kibana_live_runs(two)) == 2
    assert len(kibana_live_runs(one)) == 2
    assert set(first) <= set(kibana_live_runs(one))
    assert len(arcee_live_runs(one)) == 2
    assert arcee_live_runs(one) == arcee_live_runs(two)


def test_auto_runs_are_a_function_of_seed_and_minute(
    app_factory: AppFactory, clock: TestClock
) -> None:
    clock.now_us = 1_800_000_000_000_000
    at_minute_start(clock)
    clock.advance(45)
    a, b = app_factory(auto_runs=3), app_factory(auto_runs=3)  # separate stores
    runs = kibana_live_runs(a)
    assert len(runs) == 3
    assert runs == kibana_live_runs(b)
    assert set(runs.values()) <= {"running", "waiting_for_input", "completed", "failed"}


def test_stepspec_mock_starts_auto_runs_by_default(monkeypatch: pytest.MonkeyPatch) -> None:
    served: list[MockConfig] = []
    monkeypatch.setattr("mock_server._serve.serve", served.append)
    monkeypatch.delenv("STEPSPEC_AUTO_RUNS", raising=False)
    runner = CliRunner()
    assert runner.invoke(mock_command, ["--store", "/tmp/x.sqlite3"]).exit_code == 0
    assert runner.invoke(mock_command, ["--auto-runs", "0"]).exit_code == 0
    monkeypatch.setenv("STEPSPEC_AUTO_RUNS", "5")
    assert runner.invoke(mock_command, []).exit_code == 0
    assert [(c.auto_runs, c.state_path) for c in served] == [
        (2, "/tmp/x.sqlite3"),
        (0, None),
        (5, None),
    ]
