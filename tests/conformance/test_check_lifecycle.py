"""``stepspec check --allow-writes``: the lifecycle checks against the mock on a fast clock.

The clean mock passes every lifecycle case for Kibana, Arcee and Trigify (a test run started
with ``POST /v1/workflows/{id}/test``, every action mocked, and the report says what a real test
run costs); Arcee never starts an inactive workflow; without ``--allow-writes`` no write reaches
the server; a missing workflow, the ``--lifecycle-timeout`` and the lifecycle request budget each
leave a case untested with the reason, never passed. (That each check fails on a server that
breaks it is shown by the lifecycle mutants in ``mutants.py``.)
"""

from __future__ import annotations

import io
import json
import re
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

import pytest

from conformance.checks import CHECKS
from mock_server.arcee import DOCUMENTED_WORKFLOW_ID as ARCEE_EXAMPLE
from tests.conformance.mutants import Exchange, Mutant, MutantMiddleware, on_started_runs

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIApplication, WSGIEnvironment

pytestmark = pytest.mark.slow

LIFECYCLE = sorted(name for name, chk in CHECKS.items() if chk.writes)
EXPECTED_CASES = {
    "kibana": {
        ("run_starts", "runWorkflow"),
        ("run_starts", "getExecution"),
        ("run_progress_monotonic", "getExecution"),
        ("run_progress_monotonic", "getExecutionSteps"),
        ("run_final_coherent", "getExecution"),
        ("run_resumes", "resumeExecution"),
        ("run_cancels", "cancelExecution"),
    },
    "arcee": {
        ("run_starts", "executeWorkflow"),
        ("run_starts", "getRun"),
        ("run_progress_monotonic", "getRun"),
        ("run_progress_monotonic", "getRunSteps"),
        ("run_final_coherent", "getRun"),
    },
    "trigify": {
        ("run_starts", "testWorkflow"),
        ("run_starts", "getWorkflowExecution"),
        ("run_progress_monotonic", "getWorkflowExecution"),
        ("run_final_coherent", "getWorkflowExecution"),
    },
}
START = {"kibana": "runWorkflow", "arcee": "executeWorkflow", "trigify": "testWorkflow"}


class Recorder:
    """WSGI middleware that remembers the method and path of every request."""

    def __init__(self, app: WSGIApplication) -> None:
        self.app = app
        self.requests: list[tuple[str, str]] = []

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        self.requests.append((environ["REQUEST_METHOD"], environ.get("PATH_INFO", "")))
        return self.app(environ, start_response)

    @property
    def writes(self) -> list[tuple[str, str]]:
        return [(method, path) for method, path in self.requests if method != "GET"]


def _check(
    factory: Any, served: Any, run_check: Any, api: str, *args: str, wrap: Any = None
) -> tuple[Any, dict[str, Any], Recorder]:
    app = factory()
    if wrap is not None:
        app.wsgi_app = wrap(app.wsgi_app)
    recorder = Recorder(app.wsgi_app)
    app.wsgi_app = recorder
    with served(app) as url:
        result = run_check("--api", api, "--base-url", url, "--format", "json", *args)
    return result, json.loads(result.stdout), recorder


def _lifecycle_cases(report: dict[str, Any]) -> dict[tuple[str, str], dict[str, Any]]:
    return {
        (case["check"], case["operation"]): case
        for case in report["cases"]
        if case["check"] in LIFECYCLE
    }


@pytest.mark.parametrize("strict", [False, True], ids=["default", "strict"])
@pytest.mark.parametrize("api", ["kibana", "arcee", "trigify"])
def test_clean_mock_passes_every_lifecycle_case(
    api: str, strict: bool, fast_app_factory: Any, served: Any, run_check: Any
) -> None:
    extra = ("--strict",) if strict else ()
    result, report, recorder = _check(
        fast_app_factory, served, run_check, api, "--allow-writes", *extra
    )
    assert report["findings"] == [], json.dumps(report["findings"], indent=2)[:3000]
    assert result.exit_code == 0
    cases = _lifecycle_cases(report)
    assert set(cases) == EXPECTED_CASES[api]
    assert {case["outcome"] for case in cases.values()} == {"passed"}, cases
    # The writes it needs were exercised, and the start request went to the start endpoint.
    assert START[api] not in report["not_tested"]
    assert any(path.endswith(("/run", "/execute", "/test")) for _, path in recorder.writes)


def test_kibana_lifecycle_runs_in_the_given_space(
    fast_app_factory: Any, served: Any, run_check: Any
) -> None:
    result, report, recorder = _check(
        fast_app_factory, served, run_check, "kibana", "--allow-writes", "--space", "default"
    )
    assert result.exit_code == 0, report["findings"]
    assert recorder.writes
    assert all(path.startswith("/s/default/api/workflows/") for _, path in recorder.writes)
    assert {case["outcome"] for case in _lifecycle_cases(report).values()} == {"passed"}


def test_kibana_resume_and_cancel_find_waiting_workflows_by_definition(
    fast_app_factory: Any, served: Any, run_check: Any
) -> None:
    _, report, recorder = _check(
        fast_app_factory,
        served,
        run_check,
        "kibana",
        "--allow-writes",
        "--checks",
        "run_resumes,run_cancels",
    )
    writes = [path for _, path in recorder.writes]
    resumes = [path for path in writes if path.endswith("/resume")]
    # One accepted resume, an immediate second one (200 inside the resume window, or 409), and
    # one after the run moved on, which must be refused with a 409.
    assert len(resumes) == 3
    assert len(set(resumes)) == 1
    assert sum(path.endswith("/cancel") for path in writes) == 1
    # No scenario header or special id was needed: only the documented endpoints were used.
    assert all(re.search(r"/(run|resume|cancel)$", path) for path in writes)
    assert {case["outcome"] for case in _lifecycle_cases(report).values()} == {"passed"}


class BodyRecorder(Recorder):
    """A ``Recorder`` that also keeps the JSON body of every write."""

    def __init__(self, app: WSGIApplication) -> None:
        super().__init__(app)
        self.bodies: list[Any] = []

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        if environ["REQUEST_METHOD"] == "POST":
            size = int(environ.get("CONTENT_LENGTH") or 0)
            raw = environ["wsgi.input"].read(size)
            self.bodies.append(json.loads(raw or b"null"))
            environ["wsgi.input"] = io.BytesIO(raw)
        return super().__call__(environ, start_response)


def test_trigify_test_run_mocks_every_action_and_says_what_a_real_one_costs(
    fast_app_factory: Any, served: Any, run_check: Any
) -> None:
    bodies: list[BodyRecorder] = []

    def wrap(app: WSGIApplication) -> WSGIApplication:
        bodies.append(BodyRecorder(app))
        return bodies[0]

    result, report, recorder = _check(
        fast_app_factory, served, run_check, "trigify", "--allow-writes", wrap=wrap
    )
    assert result.exit_code == 0, report["findings"]
    (started,) = [path for _, path in recorder.writes]
    assert started == "/v1/workflows/wf_abc123/test"  # the first listed workflow
    # The docs' example workflow has two actions; both are stubbed, so nothing real would run.
    assert bodies[0].bodies == [
        {
            "test_config": {
                "action_mocks": {
                    "agent-1": {"enabled": True, "output": {}},
                    "slack-1": {"enabled": True, "output": {}},
                }
            }
        }
    ]
    assert any("a test run executes real actions and costs credits" in n for n in report["notes"])
    cases = _lifecycle_cases(report)
    assert {case["outcome"] for case in cases.values()} == {"passed"}


def _first_workflow_inactive(exchange: Exchange) -> None:
    if exchange.method == "GET" and exchange.path.endswith("/workflows"):
        body = exchange.json()
        body[0]["status"] = "inactive"
        exchange.set_json(body)


def test_arcee_never_starts_an_inactive_workflow(
    fast_app_factory: Any, served: Any, run_check: Any
) -> None:
    mutant = Mutant("inactive_first", "arcee", "run_starts", "", response=_first_workflow_inactive)
    result, report, recorder = _check(
        fast_app_factory,
        served,
        run_check,
        "arcee",
        "--allow-writes",
        "--checks",
        "run_starts",
        wrap=_middleware(mutant),
    )
    # The first listed workflow (the docs' example) now reads inactive: the next one is started.
    (started,) = [path for _, path in recorder.writes]
    assert started.endswith("/execute")
    assert ARCEE_EXAMPLE not in started
    assert result.exit_code == 0, report["findings"]


@pytest.mark.parametrize("api", ["kibana", "trigify"])
def test_no_write_is_sent_without_allow_writes(
    fast_app_factory: Any, served: Any, run_check: Any, api: str
) -> None:
    result, report, recorder = _check(fast_app_factory, served, run_check, api)
    assert result.exit_code == 0
    assert recorder.writes == []
    assert not _lifecycle_cases(report)
    assert "--allow-writes" in report["not_tested"][START[api]]


def test_named_lifecycle_checks_without_allow_writes_send_nothing(
    fast_app_factory: Any, served: Any, run_check: Any
) -> None:
    result, report, recorder = _check(
        fast_app_factory,
        served,
        run_check,
        "kibana",
        "--checks",
        ",".join(["body_parses", *LIFECYCLE]),
    )
    assert result.exit_code == 0
    assert recorder.writes == []
    cases = _lifecycle_cases(report)
    assert set(cases) == EXPECTED_CASES["kibana"]
    for case in cases.values():
        assert case["outcome"] == "not_tested"
        assert "--allow-writes was not given" in case["reason"]


def test_only_lifecycle_checks_without_allow_writes_cannot_test_and_say_why(
    fast_app_factory: Any, served: Any, run_check: Any
) -> None:
    app = fast_app_factory()
    with served(app) as url:
        result = run_check("--api", "kibana", "--base-url", url, "--checks", "run_starts")
    assert result.exit_code == 3
    assert "--allow-writes was not given" in result.stderr


def test_list_explains_the_lifecycle_checks(run_check: Any) -> None:
    result = run_check("--list")
    assert result.exit_code == 0
    assert "lifecycle: runs started by the kit" in result.stdout
    for name in LIFECYCLE:
        assert f"  {name} (only with --allow-writes)" in result.stdout
    assert "--lifecycle-timeout" in result.stdout
    assert "--max-lifecycle-requests" in result.stdout


def _without_hitl_steps(exchange: Exchange) -> None:
    if exchange.method == "GET" and re.search(r"/api/workflows$", exchange.path):
        text = exchange.body.decode()
        for name in ("waitForInput", "waitForApproval", "wait_for_input"):
            text = text.replace(name, "console")
        exchange.body = text.encode()


def _middleware(mutant: Mutant) -> Callable[[Any], Any]:
    return lambda app: MutantMiddleware(app, mutant)


def test_resume_without_a_waiting_workflow_is_untested(
    fast_app_factory: Any, served: Any, run_check: Any
) -> None:
    mutant = Mutant("no_hitl", "kibana", "run_resumes", "", response=_without_hitl_steps)
    result, report, recorder = _check(
        fast_app_factory,
        served,
        run_check,
        "kibana",
        "--allow-writes",
        "--checks",
        "body_parses,run_resumes",
        wrap=_middleware(mutant),
    )
    case = _lifecycle_cases(report)[("run_resumes", "resumeExecution")]
    assert case["outcome"] == "not_tested"
    assert "no startable workflow with a human-in-the-loop step" in case["reason"]
    assert recorder.writes == []
    assert result.exit_code == 0


def _always_running(exchange: Exchange, count: int) -> None:
    body = exchange.json()
    body["status"] = "running"
    body.pop("finishedAt", None)
    body["duration"] = None
    exchange.set_json(body)


NEVER_ENDS = Mutant(
    "never_ends",
    "kibana",
    "run_final_coherent",
    "",
    make_response=on_started_runs(_always_running, steps=False),
)
"""A started run that reads 'running' forever (its steps are left alone)."""


def test_a_run_that_never_ends_is_untested_after_the_lifecycle_timeout(
    fast_app_factory: Any, served: Any, run_check: Any
) -> None:
    result, report, _ = _check(
        fast_app_factory,
        served,
        run_check,
        "kibana",
        "--allow-writes",
        "--lifecycle-timeout",
        "0.5",
        "--checks",
        "run_starts,run_progress_monotonic,run_final_coherent",
        wrap=_middleware(NEVER_ENDS),
    )
    cases = _lifecycle_cases(report)
    final = cases[("run_final_coherent", "getExecution")]
    assert final["outcome"] == "not_tested"
    assert "still 'running' after --lifecycle-timeout 0.5 s" in final["reason"]
    assert cases[("run_starts", "runWorkflow")]["outcome"] == "passed"
    assert cases[("run_progress_monotonic", "getExecution")]["outcome"] == "passed"
    assert result.exit_code == 0


def test_the_lifecycle_budget_bounds_polling(
    fast_app_factory: Any, served: Any, run_check: Any
) -> None:
    _, report, recorder = _check(
        fast_app_factory,
        served,
        run_check,
        "kibana",
        "--allow-writes",
        "--max-lifecycle-requests",
        "6",
        "--checks",
        "run_starts,run_final_coherent",
        wrap=_middleware(NEVER_ENDS),
    )
    final = _lifecycle_cases(report)[("run_final_coherent", "getExecution")]
    assert final["outcome"] == "not_tested"
    assert "--max-lifecycle-requests 6" in final["reason"]
    started = next(i for i, (m, _) in enumerate(recorder.requests) if m == "POST")
    assert len(recorder.requests[started:]) <= 6


def test_kibana_lifecycle_reads_its_fresh_run_while_it_is_pending(
    fast_app_factory: Any, served: Any, run_check: Any
) -> None:
    # On a slower clock the kit's first read comes before Task Manager's pickup: the run is
    # `pending` without `startedAt` (as Kibana stores it), which is no finding.
    seen: list[dict[str, Any]] = []

    def record(exchange: Exchange, count: int) -> None:
        seen.append(exchange.json())

    observe = Mutant(
        "observe", "kibana", "", "", make_response=on_started_runs(record, steps=False)
    )
    result, report, _ = _check(
        lambda: fast_app_factory(time_scale=5.0),
        served,
        run_check,
        "kibana",
        "--allow-writes",
        "--checks",
        "body_matches_schema,run_starts,run_progress_monotonic",
        "--lifecycle-timeout",
        "3",
        wrap=lambda app: MutantMiddleware(app, observe),
    )
    assert report["findings"] == [], json.dumps(report["findings"], indent=2)[:3000]
    assert result.exit_code == 0
    assert seen[0]["status"] == "pending"
    assert "startedAt" not in seen[0]
    assert any("startedAt" in body for body in seen)  # then Task Manager picked it up
