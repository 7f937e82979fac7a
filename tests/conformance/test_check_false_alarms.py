"""False alarms the stand-in reviews found, reproduced against the mock and shown not to fire.

Each test serves the mock behind a middleware that makes it answer the way the real server does
in one case of ``shared/reviews/kibana-stand-in-run.md`` or ``trigify-arcee-stand-in-run.md``
(the review's key is in the test name), runs ``stepspec check`` with the checks concerned, and
asserts the run no longer reports it, while the rule still holds where it applies.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any

import pytest

from tests.conformance.mutants import (
    KIBANA,
    TRIGIFY_EXECUTION,
    Exchange,
    Mutant,
    MutantMiddleware,
    each,
)

pytestmark = pytest.mark.slow

KIBANA_RUNS = KIBANA + r"/workflow/[^/]+/executions$"
KIBANA_HEADERS = {"Authorization": "ApiKey test-key"}


def _wrapped(app: Any, **rewrites: Any) -> Any:
    """``app`` behind a middleware doing ``response``/``request`` rewrites (as the mutants do)."""
    app.testing = False
    app.wsgi_app = MutantMiddleware(
        app.wsgi_app, Mutant("real-shape", "any", "", "a real server's answer", **rewrites)
    )
    return app


def _check(app: Any, served: Any, run_check: Any, *args: str, env: Any = None) -> Any:
    with served(app) as url:
        result = run_check("--base-url", url, "--format", "json", *args, env=env)
    return result, json.loads(result.stdout)


def _findings(report: dict[str, Any], check: str) -> list[dict[str, Any]]:
    return [f for f in report["findings"] if f["check"] == check]


def _case(report: dict[str, Any], check: str, operation: str) -> dict[str, Any]:
    return next(c for c in report["cases"] if c["check"] == check and c["operation"] == operation)


# -- Kibana ---------------------------------------------------------------------------------------


def _foreach_run(app: Any) -> tuple[str, str]:
    """A seeded run of a foreach workflow whose last page of 2 opens on a later iteration (K8)."""
    client = app.test_client()
    workflows = client.get("/api/workflows?size=100", headers=KIBANA_HEADERS).get_json()
    for workflow in workflows["results"]:
        runs = client.get(
            f"/api/workflows/workflow/{workflow['id']}/executions?size=100", headers=KIBANA_HEADERS
        ).get_json()
        for run in runs["results"]:
            if run["status"] != "completed":
                continue
            steps = client.get(
                f"/api/workflows/executions/{run['id']}/steps?size=1000", headers=KIBANA_HEADERS
            ).get_json()["results"]
            last = (len(steps) + 1) // 2 - 1  # the pagination check reads this page of 2
            if len(steps) > 4 and steps[2 * last]["stepExecutionIndex"] > 0:
                return workflow["id"], run["id"]
    raise AssertionError("the seeded world has no completed foreach run with repeated steps")


def test_k8_pages_of_a_foreach_run_are_not_held_to_count_up_from_0(
    app_factory: Any, served: Any, run_check: Any
) -> None:
    app = app_factory()
    workflow, run = _foreach_run(app)
    result, report = _check(
        _wrapped(app),
        served,
        run_check,
        "--api",
        "kibana",
        "--workflow-id",
        workflow,
        "--run-id",
        run,
        "--checks",
        "indexes_ordered,pagination_consistent",
        "--strict",
    )
    assert report["findings"] == [], report["findings"]
    # The pages were read, and a later one opened on a repeated step (what used to fire).
    assert report["operations_called"]["getExecutionSteps"] >= 3
    assert result.exit_code == 0


def _lagging_list(run: str) -> Callable[[Exchange], None]:
    """The run list is a search that refreshes about once a second: a run that has just ended
    is still listed running (K "Refresh lag"); a read by id already shows it finished."""

    def rewrite(exchange: Exchange) -> None:
        if exchange.method != "GET" or exchange.status != 200:
            return
        if re.search(KIBANA_RUNS, exchange.path):
            body = exchange.json()
            for item in each(body, "results"):
                if item.get("id") == run:
                    item["status"] = "running"
                    item.pop("finishedAt", None)
                    item["duration"] = None
                    rewrite.listed_running = True  # type: ignore[attr-defined]
            exchange.set_json(body)

    rewrite.listed_running = False  # type: ignore[attr-defined]
    return rewrite


def test_lists_that_lag_behind_reads_by_id_are_not_compared(
    app_factory: Any, served: Any, run_check: Any
) -> None:
    app = app_factory()
    _, run = _foreach_run(app)
    rewrite = _lagging_list(run)
    result, report = _check(
        _wrapped(app, response=rewrite),
        served,
        run_check,
        "--api",
        "kibana",
        "--run-id",
        run,
        "--checks",
        "run_consistent,path_ids_echoed",
    )
    assert rewrite.listed_running  # type: ignore[attr-defined]
    assert report["findings"] == []
    assert _case(report, "run_consistent", "getExecution")["outcome"] == "not_tested"
    assert result.exit_code == 0


def _drop_space_id(exchange: Exchange) -> None:
    if exchange.method != "GET" or exchange.status != 200:
        return
    if re.search(KIBANA + r"/executions/[^/]+/steps$", exchange.path):
        body = exchange.json()
        for step in each(body, "results"):
            step.pop("spaceId", None)
        exchange.set_json(body)


def test_one_problem_seen_in_many_responses_is_one_finding(
    app_factory: Any, served: Any, run_check: Any
) -> None:
    result, report = _check(
        _wrapped(app_factory(), response=_drop_space_id),
        served,
        run_check,
        "--api",
        "kibana",
        "--checks",
        "body_matches_schema,pagination_consistent",
    )
    found = _findings(report, "body_matches_schema")
    keys = [
        (f["check"], f["operation"], re.sub(r"\[\d+\]", "[*]", f["path"]), f["title"])
        for f in found
    ]
    assert len(keys) == len(set(keys)) == 1, found
    assert found[0]["operation"] == "getExecutionSteps"
    assert found[0]["responses"] >= 3  # the whole list and the pages that hold steps
    assert result.exit_code == 1


# -- Trigify --------------------------------------------------------------------------------------


def _timed_out_step(exchange: Exchange) -> None:
    """An action that timed out: step ``failed``, ``ended_at``/``duration_ms`` null (T2)."""
    if exchange.method != "GET" or exchange.status != 200:
        return
    if not re.search(TRIGIFY_EXECUTION, exchange.path):
        return
    body = exchange.json()
    data = body["data"]
    steps = list(each(data, "steps"))
    if not steps or not data.get("ended_at"):
        return
    data.update(status="failed", error="Action timed out")
    steps[-1].update(status="failed", ended_at=None, duration_ms=None, error="Action timed out")
    exchange.set_json(body)


def test_t2_a_timed_out_trigify_step_is_no_finding(
    app_factory: Any, served: Any, run_check: Any
) -> None:
    result, report = _check(
        _wrapped(app_factory(), response=_timed_out_step),
        served,
        run_check,
        "--api",
        "trigify",
        "--checks",
        "terminal_has_end_time,status_error_coherent",
        "--strict",
    )
    assert report["findings"] == []
    assert _case(report, "terminal_has_end_time", "getWorkflowExecution")["outcome"] == "passed"
    assert result.exit_code == 0


def _bearer_is_a_key(environ: dict[str, Any]) -> None:
    """Trigify also takes the key as ``Authorization: Bearer <key>`` (T4)."""
    authorization = environ.get("HTTP_AUTHORIZATION", "")
    if authorization.startswith("Bearer ") and "HTTP_X_API_KEY" not in environ:
        environ["HTTP_X_API_KEY"] = authorization.removeprefix("Bearer ")


def test_t4_the_no_credential_probe_removes_a_bearer_key_too(
    app_factory: Any, served: Any, run_check: Any
) -> None:
    app = _wrapped(app_factory(api_keys=("test-key",)), request=_bearer_is_a_key)
    result, report = _check(
        app,
        served,
        run_check,
        "--api",
        "trigify",
        "--header",
        "Authorization: Bearer test-key",
        "--expect-key-enforcement",
        "--checks",
        "auth_required,auth_rejects_invalid",
        env={"STEPSPEC_API_KEY": ""},
    )
    assert report["findings"] == []
    assert {case["outcome"] for case in report["cases"]} == {"passed"}
    assert result.exit_code == 0


# -- Arcee ----------------------------------------------------------------------------------------


def _first_workflow_inactive() -> Callable[[Exchange], None]:
    """The first listed workflow is ``inactive``; executing it is refused (A4)."""
    first: list[str] = []

    def rewrite(exchange: Exchange) -> None:
        if exchange.path == "/api/v1/workflow/workflows" and exchange.method == "GET":
            body = exchange.json()
            body[0]["status"] = "inactive"
            first[:] = [body[0]["workflow_id"]]
            exchange.set_json(body)
        elif first and exchange.path == f"/api/v1/workflow/workflows/{first[0]}/execute":
            exchange.status, exchange.reason = 400, "Bad Request"
            exchange.set_json({"detail": "Workflow is not active"})
            rewrite.refused = True  # type: ignore[attr-defined]

    rewrite.refused = False  # type: ignore[attr-defined]
    return rewrite


def test_a4_allow_writes_never_starts_an_inactive_arcee_workflow(
    fast_app_factory: Any, served: Any, run_check: Any
) -> None:
    rewrite = _first_workflow_inactive()
    result, report = _check(
        _wrapped(fast_app_factory(), response=rewrite),
        served,
        run_check,
        "--api",
        "arcee",
        "--allow-writes",
        "--checks",
        "run_starts",
    )
    assert report["findings"] == []
    assert not rewrite.refused  # type: ignore[attr-defined]
    assert _case(report, "run_starts", "executeWorkflow")["outcome"] == "passed"
    assert result.exit_code == 0


def _fastapi_not_authenticated(exchange: Exchange) -> None:
    """Arcee on a FastAPI older than PR #13786: no ``Authorization`` header gives 403 (A1)."""
    if exchange.status == 401:
        exchange.status, exchange.reason = 403, "Forbidden"
        exchange.set_json({"detail": "Not authenticated"})


@pytest.mark.parametrize("strict", [False, True])
def test_a1_a_fastapi_403_without_a_credential_is_a_warning(
    fast_app_factory: Any, served: Any, run_check: Any, strict: bool
) -> None:
    result, report = _check(
        _wrapped(fast_app_factory(), response=_fastapi_not_authenticated),
        served,
        run_check,
        "--api",
        "arcee",
        "--checks",
        "auth_required,status_code_documented",
        *(("--strict",) if strict else ()),
    )
    found = report["findings"]
    assert {f["check"] for f in found} == {"auth_required"}
    assert {f["title"] for f in found} == {"403 instead of the documented 401 without a credential"}
    assert {f["severity"] for f in found} == {"error" if strict else "warning"}
    assert result.exit_code == (1 if strict else 0)


def test_a1_any_other_403_without_a_credential_is_still_an_error(
    fast_app_factory: Any, served: Any, run_check: Any
) -> None:
    def forbidden(exchange: Exchange) -> None:
        if exchange.status == 401:
            exchange.status, exchange.reason = 403, "Forbidden"
            exchange.set_json({"detail": "Forbidden"})

    result, report = _check(
        _wrapped(fast_app_factory(), response=forbidden),
        served,
        run_check,
        "--api",
        "arcee",
        "--checks",
        "auth_required",
    )
    assert {f["severity"] for f in _findings(report, "auth_required")} == {"error"}
    assert result.exit_code == 1
