"""Trigify's HTTP surface under ``/v1``: workflows, executions, test runs, the action catalogue,
rate limits.

``POST /v1/workflows/{id}/test`` starts a test run (WF-TEST): the body is optional; ``overrides``
(an object) stands in for the trigger's payload and ``test_config.action_mocks`` (an object of
``{enabled, output}`` per action id) stubs actions; a malformed body is a 400 ``VALIDATION_ERROR``.
A scenario (``X-Stepspec-Scenario`` or ``overrides.stepspec_scenario``) may make the run fail; with
``auto_runs`` the mock also starts triggered runs of enabled workflows by itself.
Execution lists and test-run details change with the clock, so they are never marked cacheable.

Routing: Werkzeug ranks the literal ``/v1/workflows/actions`` above ``/v1/workflows/<id>``, so the
catalogue is never mistaken for a workflow (and no workflow id can be ``actions``: ours start
with ``wf_``). The catalogue is served, not a 404, because the docs' own error ``suggestion``
sends clients to it.

Rate limiting wraps every response under ``/v1`` (including 401s, 404s and the app's own
errors): a request is counted before anything else answers it, a 429 stops it when enforcement
is on, and the ``RateLimit-*`` headers are added on the way out. The bodies of the frozen world
are immutable (views mark them with ``mark_cacheable()``), so the app's response cache
(``mock_server._http``) may replay them, but only with a ``ReplayHook`` (``REPLAY_KEY``) that
counts the replayed request and supplies its fresh ``RateLimit-*`` values; the quota it computed
is kept in the environ (``QUOTA_KEY``) so a request is never counted twice. With enforcement on
(``rate_limit``) answers are never cached: the mark is withdrawn on the way out, and every
request takes the whole path to its count (and its 429).

The GET views are request-free functions (path variables, checked query, environ -> a 200's
``FastAnswer`` or the error ``Response``), called by the Flask views and registered with the
app's fast path (``mock_server._fast``) with ``prepare`` (the count, before authentication; a
request over the limit goes to Flask, which reuses the count) and ``finish`` (the headers).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from flask import Blueprint, Request, Response, request

from mock_server._fast import FastAnswer, FastRoutes, served
from mock_server._fast import register as register_fast
from mock_server._http import CACHEABLE_KEY, REPLAY_KEY, json_response
from mock_server._state import checked_query
from mock_server.live import (
    SCENARIO_FIELD,
    SCENARIO_HEADER,
    AutoRuns,
    UnknownScenario,
    requested_scenario,
)
from mock_server.trigify._protocol import (
    api_key,
    envelope,
    error_response,
    key_of,
    limited,
    rate_limited,
)
from mock_server.trigify._ratelimit import Quota, RateLimiter
from mock_server.trigify._service import TrigifyService, WorkflowKey
from mock_server.trigify._testrun import test_request

if TYPE_CHECKING:
    from _typeshed.wsgi import WSGIEnvironment
    from _typeshed.wsgi import WSGIEnvironment as Environ

    from mock_server._context import MockContext

BASE_PATH = "/v1"
QUOTA_KEY = "stepspec.trigify.quota"
"""WSGI environ entry: this request's ``Quota`` (counted once, by the replay hook or the app)."""
_MAX_INDEX = 2**62
Args = Mapping[str, str]
Query = Mapping[str, Any]


def _ours(path: str) -> bool:
    return path == BASE_PATH or path.startswith(BASE_PATH + "/")


def blueprint(ctx: MockContext) -> Blueprint:
    """The Trigify routes of one app (world and rate limiter are built once, here)."""
    service = TrigifyService(ctx)
    limiter = RateLimiter(ctx)
    bp = Blueprint("trigify", __name__, url_prefix=BASE_PATH)
    auto_runs = AutoRuns(ctx, "trigify", service.auto_start)

    @bp.before_request
    def _auto_runs() -> None:
        if request.method != "OPTIONS":
            auto_runs.tick()

    def quota_of(req: Request) -> Quota:
        environ = req.environ
        found: Quota | None = environ.get(QUOTA_KEY)
        if found is None:
            found = environ[QUOTA_KEY] = limiter.hit(api_key(req), req.remote_addr)
        return found

    def quota() -> Quota:
        return quota_of(request)

    def replay(environ: WSGIEnvironment) -> dict[str, str] | None:
        """A cached answer is replayed: count the request; its fresh headers, or None (429)."""
        found: Quota | None = environ.get(QUOTA_KEY)
        if found is None:
            key = key_of(environ.get("HTTP_X_API_KEY"), environ.get("HTTP_AUTHORIZATION"))
            found = environ[QUOTA_KEY] = limiter.hit(key, environ.get("REMOTE_ADDR"))
        return None if found.exceeded else found.headers()

    @bp.before_app_request
    def count_request() -> Response | None:
        if not _ours(request.path) or request.method == "OPTIONS":
            return None
        return rate_limited(quota().reset_s) if quota().exceeded else None

    @bp.after_app_request
    def add_headers(response: Response) -> Response:
        if _ours(request.path) and request.method != "OPTIONS":
            response.headers.update(quota().headers())
            if response.status_code == 429:  # also an injected one (``Prefer: code=429``)
                limited(response, quota().reset_s)
            if limiter.enforced:  # every request takes the whole path to its count
                request.environ.pop(CACHEABLE_KEY, None)
            else:
                request.environ[REPLAY_KEY] = replay
        return response

    def workflow_or_404(workflow_id: str) -> WorkflowKey | Response:
        key = service.find_workflow(workflow_id)
        return error_response(404, "Workflow not found") if key is None else key

    # The GET views, request-free: ``(path variables, checked query, environ)`` -> a 200's
    # ``FastAnswer`` (the frozen world's bodies cacheable) or the error ``Response``; served
    # by Flask views and by the fast path.

    def workflows(args: Args, query: Query, environ: Environ) -> FastAnswer | Response:
        limit = int(query.get("limit", 20))
        offset = int(min(query.get("offset", 0), _MAX_INDEX))
        return FastAnswer(service.workflows_body(limit, offset, query.get("status")), True)

    def actions(args: Args, query: Query, environ: Environ) -> FastAnswer | Response:
        return FastAnswer(service.actions_body(), True)

    def workflow(args: Args, query: Query, environ: Environ) -> FastAnswer | Response:
        found = workflow_or_404(args["workflow_id"])
        if isinstance(found, Response):
            return found
        return FastAnswer(service.workflow_body(found), True)

    def executions(args: Args, query: Query, environ: Environ) -> FastAnswer | Response:
        found = workflow_or_404(args["workflow_id"])
        if isinstance(found, Response):
            return found
        page = int(min(query.get("page", 1), _MAX_INDEX))
        page_size = int(query.get("page_size", 20))
        # Never cached: a test run started later must appear on the next read.
        return FastAnswer(service.executions_answer(found, page, page_size))

    def execution(args: Args, query: Query, environ: Environ) -> FastAnswer | Response:
        found = workflow_or_404(args["workflow_id"])
        if isinstance(found, Response):
            return found
        body, frozen = service.execution_answer(found, args["run_id"])
        if body is None:
            return error_response(404, "Execution not found")
        return FastAnswer(body, frozen)

    @bp.get("/workflows")
    def list_workflows(**args: str) -> Response:
        return served(workflows(args, checked_query(), request.environ))

    @bp.get("/workflows/actions")
    def list_actions(**args: str) -> Response:
        return served(actions(args, checked_query(), request.environ))

    @bp.get("/workflows/<workflow_id>")
    def get_workflow(**args: str) -> Response:
        return served(workflow(args, checked_query(), request.environ))

    @bp.post("/workflows/<workflow_id>/test")
    def test_workflow(workflow_id: str) -> Response:
        found = workflow_or_404(workflow_id)
        if isinstance(found, Response):
            return found
        parsed = test_request(request.get_data())
        if isinstance(parsed, str):
            return json_response(envelope("VALIDATION_ERROR", parsed, {"field": "body"}), 400)
        overrides, mocks = parsed
        try:
            chosen = requested_scenario(request.headers.get(SCENARIO_HEADER), overrides)
        except UnknownScenario as error:
            return json_response(envelope("VALIDATION_ERROR", str(error.args[0])), 400)
        overrides.pop(SCENARIO_FIELD, None)
        run_id = service.start_test(found, overrides, mocks, chosen)
        return json_response(
            {"success": True, "message": "Test run started", "data": {"test_run_id": run_id}}
        )

    @bp.get("/workflows/<workflow_id>/executions")
    def list_workflow_executions(**args: str) -> Response:
        return served(executions(args, checked_query(), request.environ))

    @bp.get("/workflows/<workflow_id>/executions/<run_id>")
    def get_workflow_execution(**args: str) -> Response:
        return served(execution(args, checked_query(), request.environ))

    def prepare(req: Request) -> bool:
        """``count_request`` for the fast path: False when the request is over its limit."""
        return not quota_of(req).exceeded

    def admit(req: Request, rule: str, args: Args) -> bool:
        auto_runs.tick()  # ``_auto_runs`` for the fast path
        return True

    def finish(environ: Environ, headers: list[tuple[str, str]]) -> None:
        """``add_headers`` for the fast path's 200s."""
        found: Quota = environ[QUOTA_KEY]
        headers.extend(found.headers().items())
        if limiter.enforced:
            environ.pop(CACHEABLE_KEY, None)
        else:
            environ[REPLAY_KEY] = replay

    register_fast(
        bp,
        FastRoutes(
            vendor="trigify",
            views={
                "trigify.list_workflows": workflows,
                "trigify.list_actions": actions,
                "trigify.get_workflow": workflow,
                "trigify.list_workflow_executions": executions,
                "trigify.get_workflow_execution": execution,
            },
            admit=admit,
            prepare=prepare,
            finish=finish,
        ),
    )

    return bp
