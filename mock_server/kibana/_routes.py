"""The Kibana workflow routes, each served unprefixed and under ``/s/<space_id>``.

Views are thin: they read checked parameters (``checked_query``, coerced from the OpenAPI
document by the app) and POST bodies (validated here, with config-schema messages), ask
``KibanaService`` for the answer and serialise it with ``json_response``; what the service
refuses (``Refused``, ``BadQuery``, ``UnknownScenario``) is a Boom error. Route variables use the
OpenAPI parameter names so that the route template is the documented path (used in the
``elastic-api-version`` error message). Before every view, ``_platform`` applies Kibana's
platform checks (space id, privileges, ``kbn-xsrf``, ``elastic-api-version``, safe integers).

Starting a run (``POST .../run``, ``POST /api/workflows/test``) may pick a scenario with the
``X-Stepspec-Scenario`` header or ``inputs.stepspec_scenario`` (an unknown name is a Boom 400
listing the known ones); every request first lets ``AutoRuns`` start the automatic runs that are
due (see ``mock_server.live``).
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable
from typing import Any

from flask import Blueprint, Response, request

from mock_server._context import MockContext
from mock_server._http import json_response, mark_cacheable
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

    bp.after_request(protocol.add_version_header)

    def route(rule: str, methods: tuple[str, ...] = ("GET",)) -> Callable[[View], View]:
        def register(view: View) -> View:
            bp.add_url_rule(rule, view_func=view, methods=list(methods))
            bp.add_url_rule(SPACE_PREFIX + rule, view_func=view, methods=list(methods))
            return view

        return register

    def answer(body: Any, *, cacheable: bool = False) -> Response:
        if cacheable:
            mark_cacheable()
        return json_response(body)

    @route("/api/workflows/executions/<executionId>/step/<stepExecutionId>")
    def get_step_execution(
        executionId: str, stepExecutionId: str, space_id: str = "default"
    ) -> Response:
        view = service.find(executionId, space_id)
        if view is None:
            return not_found()
        step = view.step(stepExecutionId)
        return not_found() if step is None else answer(step, cacheable=view.cacheable)

    @route("/api/workflows/executions/<executionId>/steps")
    def get_execution_steps(executionId: str, space_id: str = "default") -> Response:
        view = service.find(executionId, space_id)
        if view is None:
            return not_found()
        query = checked_query()
        page, size = int(query.get("page", 1)), int(query.get("size", STEPS_PAGE_SIZE))
        return answer(service.steps_page(view, page, size), cacheable=view.cacheable)

    @route("/api/workflows/executions/<executionId>")
    def get_execution(executionId: str, space_id: str = "default") -> Response:
        view = service.find(executionId, space_id)
        if view is None:
            return not_found()
        query = checked_query()
        body = service.execution(
            view,
            include_input=bool(query.get("includeInput", False)),
            include_output=bool(query.get("includeOutput", False)),
            omit_steps=bool(query.get("omitStepExecutions", False)),
        )
        return answer(body, cacheable=view.cacheable)

    @route("/api/workflows/workflow/<workflowId>/executions")
    def get_workflow_executions(workflowId: str, space_id: str = "default") -> Response:
        try:
            return answer(service.workflow_executions(workflowId, space_id, checked_query()))
        except BadQuery as problem:
            return refused(problem)

    @route("/api/workflows/workflow/<workflowId>/executions/steps")
    def get_workflow_step_executions(workflowId: str, space_id: str = "default") -> Response:
        try:
            return answer(service.workflow_step_executions(workflowId, space_id, checked_query()))
        except BadQuery as problem:
            return refused(problem)

    @route("/api/workflows")
    def list_workflows(space_id: str = "default") -> Response:
        return answer(service.workflows(space_id, checked_query()))

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


def _template(rule: str) -> str:
    """The documented path of a Werkzeug rule: ``/s/<space_id>/a/<id>`` -> ``/a/{id}``."""
    return _RULE_VARIABLE.sub(r"{\1}", rule.removeprefix(SPACE_PREFIX))


route_template = functools.lru_cache(maxsize=256)(_template)
"""``_template`` of a routed rule, computed once per rule (there are a few dozen)."""
