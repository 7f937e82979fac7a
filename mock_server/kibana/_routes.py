"""The Kibana workflow routes, each served unprefixed and under ``/s/<space_id>``.

Views are thin: they read checked parameters (``checked_query``, coerced from the OpenAPI
document by the app) and POST bodies (validated here, with config-schema messages), ask
``KibanaService`` for the answer and serialise it with ``json_response``; what the service
refuses (``Refused``, ``BadQuery``, ``UnknownScenario``) is a Boom error. Route variables use the
OpenAPI parameter names so that the route template is the documented path (used in the
``elastic-api-version`` error message). Before every view, ``_platform`` applies Kibana's
platform checks (space id, privileges, ``kbn-xsrf``, ``elastic-api-version``, safe integers).

The GET views are request-free functions (path variables, checked query, environ -> a 200's
``FastAnswer`` or the Boom ``Response``), called by the Flask views and registered with the
app's fast path (``mock_server._fast``) together with ``admit``, ``_platform`` for a GET (a
request any check would refuse goes to Flask).

Starting a run (``POST .../run``, ``POST /api/workflows/test``) may pick a scenario with the
``X-Stepspec-Scenario`` header or ``inputs.stepspec_scenario`` (an unknown name is a Boom 400
listing the known ones); every request first lets ``AutoRuns`` start the automatic runs that are
due (see ``mock_server.live``).
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from flask import Blueprint, Request, Response, request

from mock_server._context import MockContext
from mock_server._fast import FastAnswer, FastRoutes, served
from mock_server._fast import register as register_fast
from mock_server._http import json_bytes, json_response
from mock_server._state import checked_query
from mock_server.kibana import _protocol as protocol
from mock_server.kibana._body import BodyError, check_body, read_body
from mock_server.kibana._list_query import BadQuery
from mock_server.kibana._runs import API
from mock_server.kibana._service import STEPS_PAGE_SIZE, KibanaService, Refused
from mock_server.live import SCENARIO_HEADER, AutoRuns, UnknownScenario

SPACE_PATTERN = re.compile(r"[a-z0-9_\-]+")
SPACE_PREFIX = "/s/<space_id>"
_RULE_VARIABLE = re.compile(r"<(?:[^:>]+:)?([^>]+)>")
RUN_OPTIONAL = {"metadata": "object"}
TEST_OPTIONAL = {"workflowId": "string", "workflowYaml": "string"}
View = Callable[..., Response]
Args = Mapping[str, str]
Query = Mapping[str, Any]
VERSION_ENVIRON = "HTTP_" + protocol.VERSION_HEADER.upper().replace("-", "_")

if TYPE_CHECKING:
    from _typeshed.wsgi import WSGIEnvironment as Environ


def not_found() -> Response:
    """Kibana's plain 404."""
    return protocol.error_response(404)


def refused(problem: Refused | BodyError | BadQuery | UnknownScenario) -> Response:
    """The Boom answer to a request turned down (a 400 unless the service says otherwise)."""
    if isinstance(problem, Refused):
        return protocol.error_response(problem.status, problem.message)
    return protocol.error_response(400, str(problem))


def blueprint(ctx: MockContext) -> Blueprint:
    """The Kibana blueprint over one world (built once, here)."""
    service = KibanaService(ctx)
    bp = Blueprint("kibana", __name__)
    auto_runs = AutoRuns(ctx, API, service.auto_start)

    @bp.before_request
    def _platform() -> Response | None:
        req = request._get_current_object()  # type: ignore[attr-defined]
        if req.method == "OPTIONS":
            return None
        auto_runs.tick()
        space = (req.view_args or {}).get("space_id")
        if space is not None and not SPACE_PATTERN.fullmatch(space):
            return not_found()
        url_rule = req.url_rule
        template = route_template(url_rule.rule) if url_rule is not None else _template(req.path)
        return (
            protocol.check_space_privileges(ctx, template, space or "default")
            or protocol.check_xsrf()
            or protocol.check_version(template)
            or protocol.check_safe_integers()
        )

    def admit(req: Request, rule: str, args: Mapping[str, str]) -> bool:
        """``_platform`` for the fast path's GETs: False where it would answer (or might)."""
        auto_runs.tick()
        space = args.get("space_id")
        if space is not None and not SPACE_PATTERN.fullmatch(space):
            return False
        privileges = protocol.check_space_privileges(
            ctx, route_template(rule), space or "default", req
        )
        if privileges is not None:
            return False
        version = req.environ.get(VERSION_ENVIRON)
        if version is not None and version != protocol.API_VERSION:
            return False
        return not req.environ.get("QUERY_STRING") or protocol.check_safe_integers(req) is None

    bp.after_request(protocol.add_version_header)

    def route(rule: str, methods: tuple[str, ...] = ("GET",)) -> Callable[[View], View]:
        def register(view: View) -> View:
            bp.add_url_rule(rule, view_func=view, methods=list(methods))
            bp.add_url_rule(SPACE_PREFIX + rule, view_func=view, methods=list(methods))
            return view

        return register

    # The GET views, request-free: ``(path variables, checked query, environ)`` -> a 200's
    # ``FastAnswer`` or the error ``Response``; served by Flask views and by the fast path.

    def step_execution(args: Args, query: Query, environ: Environ) -> FastAnswer | Response:
        view = service.find(args["executionId"], args.get("space_id", "default"))
        if view is None:
            return not_found()
        step = view.step(args["stepExecutionId"])
        return not_found() if step is None else FastAnswer(json_bytes(step), view.cacheable)

    def execution_steps(args: Args, query: Query, environ: Environ) -> FastAnswer | Response:
        view = service.find(args["executionId"], args.get("space_id", "default"))
        if view is None:
            return not_found()
        page, size = int(query.get("page", 1)), int(query.get("size", STEPS_PAGE_SIZE))
        return FastAnswer(json_bytes(service.steps_page(view, page, size)), view.cacheable)

    def execution(args: Args, query: Query, environ: Environ) -> FastAnswer | Response:
        view = service.find(args["executionId"], args.get("space_id", "default"))
        if view is None:
            return not_found()
        body = service.execution(
            view,
            include_input=bool(query.get("includeInput", False)),
            include_output=bool(query.get("includeOutput", False)),
            omit_steps=bool(query.get("omitStepExecutions", False)),
        )
        return FastAnswer(json_bytes(body), view.cacheable)

    def workflow_executions(args: Args, query: Query, environ: Environ) -> FastAnswer | Response:
        space = args.get("space_id", "default")
        try:
            return FastAnswer(
                json_bytes(service.workflow_executions(args["workflowId"], space, query))
            )
        except BadQuery as problem:
            return refused(problem)

    def workflow_step_executions(
        args: Args, query: Query, environ: Environ
    ) -> FastAnswer | Response:
        space = args.get("space_id", "default")
        try:
            return FastAnswer(
                json_bytes(service.workflow_step_executions(args["workflowId"], space, query))
            )
        except BadQuery as problem:
            return refused(problem)

    def workflows(args: Args, query: Query, environ: Environ) -> FastAnswer | Response:
        return FastAnswer(json_bytes(service.workflows(args.get("space_id", "default"), query)))

    @route("/api/workflows/executions/<executionId>/step/<stepExecutionId>")
    def get_step_execution(**args: str) -> Response:
        return served(step_execution(args, checked_query(), request.environ))

    @route("/api/workflows/executions/<executionId>/steps")
    def get_execution_steps(**args: str) -> Response:
        return served(execution_steps(args, checked_query(), request.environ))

    @route("/api/workflows/executions/<executionId>")
    def get_execution(**args: str) -> Response:
        return served(execution(args, checked_query(), request.environ))

    @route("/api/workflows/workflow/<workflowId>/executions")
    def get_workflow_executions(**args: str) -> Response:
        return served(workflow_executions(args, checked_query(), request.environ))

    @route("/api/workflows/workflow/<workflowId>/executions/steps")
    def get_workflow_step_executions(**args: str) -> Response:
        return served(workflow_step_executions(args, checked_query(), request.environ))

    @route("/api/workflows")
    def list_workflows(**args: str) -> Response:
        return served(workflows(args, checked_query(), request.environ))

    register_fast(
        bp,
        FastRoutes(
            vendor="kibana",
            views={
                "kibana.get_step_execution": step_execution,
                "kibana.get_execution_steps": execution_steps,
                "kibana.get_execution": execution,
                "kibana.get_workflow_executions": workflow_executions,
                "kibana.get_workflow_step_executions": workflow_step_executions,
                "kibana.list_workflows": workflows,
            },
            admit=admit,
            finish=_version_header,
        ),
    )

    @route("/api/workflows/workflow/<id>/run", ("POST",))
    def run_workflow(id: str, space_id: str = "default") -> Response:
        ref = service.workflow(id, space_id)
        if ref is None:
            return not_found()
        try:
            body = check_body(read_body(), required={"inputs": "object"}, optional=RUN_OPTIONAL)
            run_id = service.start(
                ref,
                space_id,
                body["inputs"],
                test=False,
                principal=protocol.principal(),
                scenario_header=request.headers.get(SCENARIO_HEADER),
            )
        except (BodyError, UnknownScenario) as problem:
            return refused(problem)
        return json_response({"workflowExecutionId": run_id})

    @route("/api/workflows/test", ("POST",))
    def test_workflow(space_id: str = "default") -> Response:
        try:
            body = check_body(read_body(), required={"inputs": "object"}, optional=TEST_OPTIONAL)
            yaml_text = body.get("workflowYaml")
            ref = service.test_target(space_id, body.get("workflowId"), yaml_text)
            run_id = service.start(
                ref,
                space_id,
                body["inputs"],
                test=True,
                principal=protocol.principal(),
                scenario_header=request.headers.get(SCENARIO_HEADER),
                yaml_text=yaml_text,
            )
        except (BodyError, Refused, UnknownScenario) as problem:
            return refused(problem)
        return json_response({"workflowExecutionId": run_id})

    @route("/api/workflows/executions/<executionId>/resume", ("POST",))
    def resume_execution(executionId: str, space_id: str = "default") -> Response:
        view = service.find(executionId, space_id)
        if view is None:
            return not_found()
        try:
            body = check_body(
                read_body(),
                required={"input": "object"},
                optional={"stepExecutionId": "string"},
                lengths={"stepExecutionId": (1, 1024)},
            )
            answered = service.resume(
                view, executionId, body["input"], body.get("stepExecutionId"), protocol.principal()
            )
        except (BodyError, Refused) as problem:
            return refused(problem)
        return json_response(answered)

    @route("/api/workflows/executions/<executionId>/cancel", ("POST",))
    def cancel_execution(executionId: str, space_id: str = "default") -> Response:
        view = service.find(executionId, space_id)
        if view is None:
            return not_found()
        service.cancel(view, executionId)
        return Response(b"", status=200)

    return bp


def _version_header(environ: Environ, headers: list[tuple[str, str]]) -> None:
    """``protocol.add_version_header`` for the fast path."""
    headers.append((protocol.VERSION_HEADER, protocol.API_VERSION))


def _template(rule: str) -> str:
    """The documented path of a Werkzeug rule: ``/s/<space_id>/a/<id>`` -> ``/a/{id}``."""
    return _RULE_VARIABLE.sub(r"{\1}", rule.removeprefix(SPACE_PREFIX))


route_template = functools.lru_cache(maxsize=256)(_template)
"""``_template`` of a routed rule, computed once per rule (there are a few dozen)."""
