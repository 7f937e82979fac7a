"""``stepspec check`` against the clean mock: every API conforms, with zero findings."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest

from conformance._specs import APIS

pytestmark = pytest.mark.slow

MODES = {
    "default": (),
    "strict": ("--strict",),
    "fuzz": ("--fuzz", "3"),
}


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("api", APIS)
def test_clean_mock_conforms(
    api: str, mode: str, live_server: Any, run_check: Callable[..., Any]
) -> None:
    result = run_check(
        "--api", api, "--base-url", live_server.url, "--format", "json", *MODES[mode]
    )
    report = json.loads(result.stdout)
    assert report["findings"] == [], json.dumps(report["findings"], indent=2)[:3000]
    assert result.exit_code == 0
    assert report["counts"]["passed"] > 0
    # Every readable operation was exercised, and discovery found real ids.
    assert report["ids"]["run"]
    assert report["ids"]["workflow"]
    assert not [op for op, why in report["not_tested"].items() if "writes" not in why]
    assert 0 < report["requests"] <= 400


def test_text_report_names_what_was_exercised(live_server: Any, run_check: Any) -> None:
    result = run_check("--api", "kibana", "--base-url", live_server.url)
    assert result.exit_code == 0, result.output
    assert "exercised: 6 operations" in result.stdout
    assert "ids: workflow=" in result.stdout
    assert "CONFORMS" in result.stdout
    # The made-up-key case is never a silent pass: it is listed as not tested, with the flag.
    assert "--expect-key-enforcement" in result.stdout


def test_key_enforcement_passes_when_the_server_restricts_keys(
    app_factory: Any, run_check: Any, served: Any
) -> None:
    app = app_factory(api_keys=("test-key",))
    app.testing = False
    with served(app) as url:
        result = run_check(
            "--api",
            "trigify",
            "--base-url",
            url,
            "--expect-key-enforcement",
            "--checks",
            "auth_required,auth_rejects_invalid",
            "--format",
            "json",
        )
    report = json.loads(result.stdout)
    assert result.exit_code == 0, result.output
    assert {case["outcome"] for case in report["cases"]} == {"passed"}


def test_a_key_scoped_to_its_space_meets_403s_elsewhere_and_conforms(
    app_factory: Any, run_check: Any, served: Any
) -> None:
    # Kibana's route authorization refuses another space with 403 before any lookup: the kit
    # must take that as isolation, like a 404.
    app = app_factory(api_keys=("test-key@default",))
    app.testing = False
    with served(app) as url:
        result = run_check("--api", "kibana", "--base-url", url, "--format", "json")
    report = json.loads(result.stdout)
    assert report["findings"] == [], json.dumps(report["findings"], indent=2)[:3000]
    isolation = [c for c in report["cases"] if c["check"] == "space_isolation"]
    assert isolation
    assert {case["outcome"] for case in isolation} == {"passed"}
    assert result.exit_code == 0


def test_given_ids_are_used_without_discovery(live_server: Any, run_check: Any) -> None:
    result = run_check(
        "--api",
        "kibana",
        "--base-url",
        live_server.url,
        "--format",
        "json",
        "--run-id",
        "exec-a1b2c3d4-e5f6-7890",
        "--step-id",
        "step-exec-001",
    )
    report = json.loads(result.stdout)
    assert result.exit_code == 0, report["findings"]
    assert report["ids"]["run"] == "exec-a1b2c3d4-e5f6-7890"
    assert report["ids"]["step"] == "step-exec-001"


def _kibana_runs(url: str) -> Any:
    """(workflow id, run list item, detail) of every seeded Kibana run of the default space."""
    import requests

    auth = {"Authorization": "ApiKey test-key"}
    for workflow in requests.get(f"{url}/api/workflows", headers=auth, timeout=10).json()[
        "results"
    ]:
        path = f"{url}/api/workflows/workflow/{workflow['id']}/executions?size=100"
        for item in requests.get(path, headers=auth, timeout=10).json()["results"]:
            detail = requests.get(
                f"{url}/api/workflows/executions/{item['id']}", headers=auth, timeout=10
            ).json()
            yield workflow["id"], item, detail


SHAPES = {
    "cancelled before it started": lambda item, detail: (
        item["status"] == "cancelled" and "startedAt" not in item
    ),
    "a cancelled step that had started": lambda item, detail: any(
        s["status"] == "cancelled" and "startedAt" in s for s in detail["stepExecutions"]
    ),
    "a step cancelled before it started": lambda item, detail: any(
        "startedAt" not in s for s in detail["stepExecutions"]
    ),
    "failed by task recovery": lambda item, detail: (
        (item["error"] or {}).get("type") == "TaskRecoveryError"
    ),
}


@pytest.mark.parametrize("shape", SHAPES)
def test_runs_in_kibanas_real_shapes_conform_strictly(
    shape: str, live_server: Any, run_check: Callable[..., Any]
) -> None:
    # The kit must not call Kibana's own shapes wrong: no end time on cancelled steps or on runs
    # cancelled while pending, recovery stamping steps after their run.
    found = next(
        (wid, item["id"])
        for wid, item, detail in _kibana_runs(live_server.url)
        if SHAPES[shape](item, detail)
    )
    result = run_check(
        "--api", "kibana", "--base-url", live_server.url, "--format", "json", "--strict",
        "--workflow-id", found[0], "--run-id", found[1],
    )  # fmt: skip
    report = json.loads(result.stdout)
    assert report["findings"] == [], json.dumps(report["findings"], indent=2)[:3000]
    assert report["ids"]["run"] == found[1]
    assert result.exit_code == 0
