"""The fast path (``mock_server._fast``) answers exactly what Flask answers, or lets Flask answer.

Two apps of one seed and clock: one as built, one whose ``FastPath`` sends every request on to
Flask. The same requests (successes, errors, the requests the fast path must leave alone) get
the same status, headers and body from both, fresh and replayed from the response cache, and
leave the same coverage behind; a counting layer shows which requests the fast path answered.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

import pytest
from flask import Flask

from mock_server._fast import FastPath, Router
from mock_server._state import EXTENSION, MockState
from mock_server.coverage import EXTENSION as COVERAGE

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIApplication, WSGIEnvironment

    from tests.conftest import AppFactory

KIBANA = {"Authorization": "ApiKey fast"}
ARCEE = {"Authorization": "Bearer fast"}
TRIGIFY = {"x-api-key": "fast"}
ORIGIN = {"Origin": "http://127.0.0.1:5173"}
Request = tuple[str, str, Mapping[str, str]]


def fast_layer(app: Flask) -> FastPath | None:
    """The app's ``FastPath`` (None: not installed), found down the WSGI layers' ``app``."""
    layer: Any = app.wsgi_app
    while layer is not None and not isinstance(layer, FastPath):
        layer = getattr(layer, "app", None)
    return layer


class Counting:
    """A WSGI layer counting the requests that reach Flask."""

    def __init__(self, app: WSGIApplication) -> None:
        self.app = app
        self.calls = 0

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        self.calls += 1
        return self.app(environ, start_response)


def _pair(app_factory: AppFactory, **config: Any) -> tuple[Flask, Flask]:
    """(an app with its fast path, the same app with every request sent to Flask)."""
    settings = {"workflows_per_api": 3, "runs_per_workflow": 6, **config}
    fast, slow = app_factory(**settings), app_factory(**settings)
    off = fast_layer(slow)
    assert off is not None
    assert fast_layer(fast) is not None
    off.answer = lambda environ: None  # type: ignore[method-assign]
    return fast, slow


def state_of(app: Flask) -> MockState:
    found: MockState = app.extensions[EXTENSION]
    return found


def _json(app: Flask, path: str, headers: Mapping[str, str]) -> Any:
    response = app.test_client().get(path, headers=dict(headers))
    assert response.status_code == 200, (path, response.get_data())
    return response.get_json()


def _requests(app: Flask) -> list[Request]:
    """Requests over every API, found in ``app``'s world (which the other app shares)."""
    workflow = _json(app, "/api/workflows?size=1", KIBANA)["results"][0]["id"]
    step = _json(app, f"/api/workflows/workflow/{workflow}/executions/steps?size=1", KIBANA)
    run, step_id = step["results"][0]["workflowRunId"], step["results"][0]["id"]
    execution = f"/api/workflows/executions/{quote(run)}"
    step_path = f"{execution}/step/{quote(step_id)}"
    arcee = _json(app, "/api/v1/workflow/workflows", ARCEE)[0]["workflow_id"]
    arcee_runs = f"/api/v1/workflow/workflows/{arcee}/runs"
    arcee_run = f"{arcee_runs}/{_json(app, arcee_runs, ARCEE)[0]['id']}"
    trigify = _json(app, "/v1/workflows?limit=1", TRIGIFY)["data"]["items"][0]["id"]
    executions = f"/v1/workflows/{trigify}/executions"
    trigify_run = _json(app, executions, TRIGIFY)["data"]["executions"][0]["run_id"]
    gets: list[tuple[str, Mapping[str, str]]] = [
        (step_path, KIBANA),
        (step_path, {**KIBANA, **ORIGIN}),
        (step_path, {"Authorization": "Basic " + "dXNlcjpwdw=="}),
        (f"/s/default{step_path}", KIBANA),
        (f"/s/Not-A-Space{step_path}", KIBANA),
        (f"{execution}/step/nope", KIBANA),
        (step_path + "/", KIBANA),
        ("/" + step_path, KIBANA),
        (step_path, {}),
        (step_path, {"Authorization": "Token x"}),
        (step_path, {**KIBANA, "elastic-api-version": "2023-10-31"}),
        (step_path, {**KIBANA, "elastic-api-version": "2099-01-01"}),
        (step_path, {**KIBANA, "elastic-api-version": ""}),
        (step_path, {**KIBANA, "Prefer": "code=500"}),
        (execution, KIBANA),
        (f"{execution}?includeInput=true&includeOutput=true", KIBANA),
        (f"{execution}?omitStepExecutions=yes", KIBANA),
        (f"{execution}/steps?page=1&size=2", KIBANA),
        (f"{execution}/steps?page={2**60}", KIBANA),
        (f"{execution}/steps?size=0", KIBANA),
        ("/api/workflows/executions/missing", KIBANA),
        (f"/api/workflows/workflow/{workflow}/executions?size=2&statuses=completed", KIBANA),
        (f"/api/workflows/workflow/{workflow}/executions?unknown=1", KIBANA),
        (f"/api/workflows/workflow/{workflow}/executions/steps?page=2&size=1", KIBANA),
        ("/api/workflows?size=2", KIBANA),
        ("/api/workflows/nothing-here", KIBANA),
        ("/api/v1/workflow/workflows", ARCEE),
        ("/api/v1/workflow/workflows", {"Authentication": "Bearer fast"}),
        (f"{arcee_runs}?limit=2&offset=1", ARCEE),
        (f"{arcee_runs}?limit=-1", ARCEE),
        (arcee_run, {**ARCEE, **ORIGIN}),
        (f"{arcee_run}/steps", ARCEE),
        (f"{arcee_run}/steps", {"Authentication": "Bearer fast"}),
        (f"{arcee_runs}/missing/steps", ARCEE),
        (f"{arcee_run}/steps", {}),
        ("/v1/workflows?limit=2", TRIGIFY),
        ("/v1/workflows?limit=0", TRIGIFY),
        ("/v1/workflows/actions", TRIGIFY),
        (f"/v1/workflows/{trigify}", {**TRIGIFY, **ORIGIN}),
        (f"{executions}?page=1&page_size=2", TRIGIFY),
        (f"{executions}/{trigify_run}", TRIGIFY),
        (f"{executions}/{trigify_run}", {"Authorization": "Bearer fast"}),
        (f"{executions}/missing", TRIGIFY),
        (f"{executions}/{trigify_run}", {}),
    ]
    requests: list[Request] = [("GET", path, headers) for path, headers in gets]
    requests += [
        ("HEAD", step_path, KIBANA),
        ("OPTIONS", step_path, {**ORIGIN, "Access-Control-Request-Method": "GET"}),
        ("POST", f"{execution}/cancel", {**KIBANA, "kbn-xsrf": "x"}),
        ("POST", step_path, {**KIBANA, "kbn-xsrf": "x"}),
    ]
    return requests


def _answer(app: Flask, request: Request) -> tuple[int, list[tuple[str, str]], bytes]:
    method, path, headers = request
    response = app.test_client().open(path, method=method, headers=dict(headers))
    return response.status_code, list(response.headers.items()), response.get_data()


def _compare(fast: Flask, slow: Flask, requests: list[Request], times: int = 2) -> None:
    for request in requests:
        for _ in range(times):  # the second answer may come from the response cache
            assert _answer(fast, request) == _answer(slow, request), request


def test_both_paths_give_the_same_answers_and_the_same_coverage(
    app_factory: AppFactory,
) -> None:
    fast, slow = _pair(app_factory)
    requests = _requests(fast)
    _requests(slow)  # the same discovery requests, so both apps saw the same traffic
    _compare(fast, slow, requests)
    assert len(state_of(fast).cache) == len(state_of(slow).cache) > 0  # the same answers kept
    reports = [app.extensions[COVERAGE].report() for app in (fast, slow)]
    for report in reports:
        report.pop("generated_at")
    assert reports[0] == reports[1]


def test_both_paths_agree_with_keys_spaces_and_an_enforced_rate_limit(
    app_factory: AppFactory,
) -> None:
    config = {"api_keys": ("fast@default", "other@team-a"), "rate_limit": True, "cors": False}
    fast, slow = _pair(app_factory, **config)
    requests = _requests(fast)
    _requests(slow)
    other = [(m, p, {**h, "Authorization": "ApiKey other"}) for m, p, h in requests[:8]]
    team = [(m, "/s/team-a" + p, h) for m, p, h in requests[:3] + other[:3]]
    _compare(fast, slow, requests + other + team)
    # "fast" is refused in team-a (Basic is no key at all); "other" may look, finds no such run
    assert [_answer(fast, request)[0] for request in team] == [403, 403, 401, 404, 404, 404]
    trigify = ("GET", "/v1/workflows/actions", TRIGIFY)
    _compare(fast, slow, [trigify], times=120)  # past the limit: 429 from both
    assert _answer(fast, trigify)[0] == 429


def _calls(app: Flask) -> Callable[[Request], int]:
    layer = fast_layer(app)
    assert layer is not None
    counter = layer.app = Counting(layer.app)

    def flask_calls(request: Request) -> int:
        before = counter.calls
        _answer(app, request)
        return counter.calls - before

    return flask_calls


def test_the_fast_path_answers_read_only_gets_and_leaves_the_rest_to_flask(
    app_factory: AppFactory,
) -> None:
    app = app_factory(workflows_per_api=3, runs_per_workflow=6, cache_size=0)
    requests = {(method, path, str(headers)): (method, path, headers) for method, path, headers
                in _requests(app)}  # fmt: skip
    flask_calls = _calls(app)
    step, arcee_steps, trigify_run = (
        next(r for r in requests.values() if r[0] == "GET" and pattern in r[1] and r[2] == auth)
        for pattern, auth in (("/step/", KIBANA), ("/steps", ARCEE), ("/executions/", TRIGIFY))
    )
    for taken in (step, arcee_steps, trigify_run, ("GET", step[1], {**KIBANA, **ORIGIN})):
        assert flask_calls(taken) == 0, taken
    left = [
        ("GET", step[1], {}),  # a 401
        ("GET", step[1], {**KIBANA, "Prefer": "code=500"}),
        ("GET", step[1] + "x", KIBANA),  # a 404, answered by the view
        ("GET", step[1] + "/", KIBANA),  # not routed
        ("GET", step[1], {**KIBANA, "elastic-api-version": "2099-01-01"}),
        ("GET", step[1].replace("/step/", "/steps?size=0&x="), KIBANA),  # refused query
        ("HEAD", step[1], KIBANA),
        ("POST", step[1], {**KIBANA, "kbn-xsrf": "x"}),
        ("GET", "/_stepspec/", {}),
    ]
    for request in left:
        assert flask_calls(request) == 1, request


@pytest.mark.parametrize(
    "config",
    [{"error_rate": 0.5}, {"latency_ms": (1, 2)}, {"validate_responses": True}],
)
def test_no_fast_path_when_every_request_needs_the_whole_path(
    app_factory: AppFactory, config: dict[str, Any]
) -> None:
    assert fast_layer(app_factory(**config)) is None


def test_the_router_agrees_with_werkzeug(app_factory: AppFactory) -> None:
    app = app_factory(workflows_per_api=2, runs_per_workflow=2)
    adapter = app.url_map.bind("localhost")
    router = Router(app.url_map)
    samples = ("x", "steps", "step", "actions", "executions", "api", "workflows", "s", "wf_1")
    paths = {"/", "/v1/workflows/", "/api/workflows//step/x", "/_stepspec", "/static/a/b"}
    for rule in app.url_map.iter_rules():
        for sample in samples:
            path = re.sub(r"<[^>]+>", sample, rule.rule)
            paths |= {path, path + "/", path + "/x", path.rsplit("/", 1)[0]}
    for path in sorted(paths):
        try:
            rule, args = adapter.match(path, "GET", return_rule=True)
            expected: tuple[str, dict[str, Any]] | None = (str(rule.endpoint), dict(args))
        except Exception:  # any of Werkzeug's answers that is not a GET route
            expected = None
        routed = router.match(path)
        assert (None if routed is None else (routed[0].endpoint, routed[1])) == expected, path


def test_a_request_the_fast_path_fails_on_is_answered_by_flask(app_factory: AppFactory) -> None:
    app = app_factory(workflows_per_api=3, runs_per_workflow=6)
    app.testing = False  # Flask's 500 envelope instead of the traceback
    step = next(r for r in _requests(app) if r[0] == "GET" and "/step/" in r[1])
    fresh = ("GET", step[1], {**KIBANA, "Origin": "http://other.test"})  # not in the cache
    expected = _answer(app, fresh)
    app.extensions["stepspec"].cache.clear()
    layer = fast_layer(app)
    assert layer is not None

    def broken(environ: WSGIEnvironment) -> None:
        raise RuntimeError("a bug in the fast path")

    layer.answer = broken  # type: ignore[method-assign,assignment]
    assert _answer(app, fresh) == expected
    assert expected[0] == 200
