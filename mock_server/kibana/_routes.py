"""The Kibana workflow routes, each served unprefixed and under ``/s/<space_id>``.

Views are thin: they read checked parameters (``checked_query``, coerced from the OpenAPI
document by the app), ask ``RunSource``/``KibanaWorld`` for data and ``_lists`` for pages, and
answer with ``json_response``. Bodies of POST requests are validated here, with config-schema
messages. Route variables use the OpenAPI parameter names so that the route template is the
documented path (used in the ``elastic-api-version`` error message).

Starting a run (``POST .../run``, ``POST /api/workflows/test``) may pick a scenario with the
``X-Stepspec-Scenario`` header or ``inputs.stepspec_scenario`` (an unknown name is a Boom 400
listing the known ones); every request first lets ``AutoRuns`` start the automatic runs that are
due (see ``mock_server.live``).
"""

from __future__ import annotations

import functools
import hashlib
import random
import re
from collections.abc import Callable
from typing import Any

from flask import Blueprint, Response, request

from mock_server._context import MockContext
from mock_server._http import json_response, mark_cacheable
from mock_server._state import checked_query
from mock_server._timeline import TERMINAL, HitlResponse, waiting_position
from mock_server.kibana import _protocol as protocol
from mock_server.kibana._body import BodyError, check_body, read_body
from mock_server.kibana._list_query import BadQuery
from mock_server.kibana._lists import Lists, WorkflowRef
from mock_server.kibana._runs import API, RunSource
from mock_server.kibana._templates import InvalidWorkflow, parse_workflow_yaml
from mock_server.kibana._world import KibanaWorld
from mock_server.live import (
    SCENARIO_FIELD,
    SCENARIO_HEADER,
    AutoRuns,
    Scenario,
    UnknownScenario,
    requested_scenario,
    start_live_run,
)

SPACE_PATTERN = re.compile(r"[a-z0-9_\-]+")
SPACE_PREFIX = "/s/<space_id>"
_RULE_VARIABLE = re.compile(r"<(?:[^:>]+:)?([^>]+)>")
RESUME_MESSAGE = "Workflow resume scheduled"
ALREADY_RESPONDED = "already responded to or no longer waiting for input"
STEPS_PAGE_SIZE = 5000
"""Default ``size`` of ``.../executions/{id}/steps`` (``WORKFLOW_EXECUTION_STEPS_UI_PAGE_SIZE``)."""
View = Callable[..., Response]


def not_found() -> Response:
    """Kibana's plain 404."""
    return protocol.error_response(404)


def conflict(execution_id: str, status: str) -> Response:
    """The documented 409 of a resume that cannot happen."""
    return protocol.error_response(
        409,
        f'Workflow execution "{execution_id}" is in status "{status}" but expected '
        '"waiting_for_input".',
    )


def blueprint(ctx: MockContext) -> Blueprint:
    """The Kibana blueprint over one world."""
    cfg = ctx.config
    world = KibanaWorld(
        cfg.seed, cfg.workflows_per_api, cfg.runs_per_workflow, ctx.world_now_us, ctx.vocab
    )
    source = RunSource(ctx, world)
    lists = Lists(world, source)
    bp = Blueprint("kibana", __name__)

    def auto_start(rng: random.Random, started_us: int, chosen: Scenario) -> None:
        index = rng.randrange(world.workflow_count)
        workflow = world.workflow(index)
        spec = {
            "space_id": workflow.space_id,
            "inputs": {},
            "is_test": False,
            "executed_by": "elastic",
            "workflow_index": index,
            "workflow_id": workflow.id,
            "scenario": chosen.name,
            "auto": True,
        }
        start_live_run(
            ctx, API, workflow.id, started_us - started_us % 1000, spec, world.ids.live_execution_id
        )

    auto_runs = AutoRuns(ctx, API, auto_start)

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
        view = source.find(executionId, space_id)
        if view is None:
            return not_found()
        step = view.step(stepExecutionId)
        return not_found() if step is None else answer(step, cacheable=view.cacheable)

    @route("/api/workflows/executions/<executionId>/steps")
    def get_execution_steps(executionId: str, space_id: str = "default") -> Response:
        view = source.find(executionId, space_id)
        if view is None:
            return not_found()
        query = checked_query()
        page, size = int(query.get("page", 1)), int(query.get("size", STEPS_PAGE_SIZE))
        steps = view.steps()
        results = [protocol_strip(step) for step in steps[(page - 1) * size : page * size]]
        body = {"results": results, "total": len(steps), "page": page, "size": size}
        return answer(body, cacheable=view.cacheable)

    @route("/api/workflows/executions/<executionId>")
    def get_execution(executionId: str, space_id: str = "default") -> Response:
        view = source.find(executionId, space_id)
        if view is None:
            return not_found()
        query = checked_query()
        body = view.detail(
            include_input=bool(query.get("includeInput", False)),
            include_output=bool(query.get("includeOutput", False)),
        )
        if query.get("omitStepExecutions", False):
            # Kibana does not load the steps at all: the embed is empty, and nothing was truncated.
            body["stepExecutions"] = []
            body.pop("stepExecutionsTruncatedCount", None)
        return answer(body, cacheable=view.cacheable)

    # The workflow-scoped lists are searches: an unknown workflow id (or one of another space)
    # finds nothing, a 200 with an empty list (get_workflow_executions.ts,
    # get_workflow_step_executions.ts: api.getWorkflow returns null and nothing checks it).
    @route("/api/workflows/workflow/<workflowId>/executions")
    def get_workflow_executions(workflowId: str, space_id: str = "default") -> Response:
        ref = lists.workflow(workflowId, space_id)
        query = checked_query()
        try:
            if ref is None:
                return answer(lists.no_executions(query))
            return answer(lists.executions(ref, query))
        except BadQuery as problem:
            return protocol.error_response(400, str(problem))

    @route("/api/workflows/workflow/<workflowId>/executions/steps")
    def get_workflow_step_executions(workflowId: str, space_id: str = "default") -> Response:
        ref = lists.workflow(workflowId, space_id)
        query = checked_query()
        try:
            if ref is None:
                return answer(lists.no_step_executions(query))
            return answer(lists.step_executions(ref, query))
        except BadQuery as problem:
            return protocol.error_response(400, str(problem))

    @route("/api/workflows")
    def list_workflows(space_id: str = "default") -> Response:
        return answer(lists.workflows(space_id, checked_query()))

    @route("/api/workflows/workflow/<id>/run", ("POST",))
    def run_workflow(id: str, space_id: str = "default") -> Response:
        ref = lists.workflow(id, space_id)
        if ref is None:
            return not_found()
        try:
            body = check_body(
                read_body(), required={"inputs": "object"}, optional={"metadata": "object"}
            )
        except BodyError as problem:
            return protocol.error_response(400, str(problem))
        try:
            run_id = start(ref, space_id, body["inputs"], test=False)
        except UnknownScenario as problem:
            return protocol.error_response(400, str(problem))
        return json_response({"workflowExecutionId": run_id})

    @route("/api/workflows/test", ("POST",))
    def test_workflow(space_id: str = "default") -> Response:
        try:
            body = check_body(
                read_body(),
                required={"inputs": "object"},
                optional={"workflowId": "string", "workflowYaml": "string"},
            )
        except BodyError as problem:
            return protocol.error_response(400, str(problem))
        workflow_id, yaml_text = body.get("workflowId"), body.get("workflowYaml")
        if workflow_id is None and yaml_text is None:
            return protocol.error_response(
                400, "Either 'workflowId' or 'workflowYaml' or both must be provided"
            )
        ref = None
        if workflow_id is not None:
            ref = lists.workflow(workflow_id, space_id)
            if ref is None:
                return not_found()
        if yaml_text is not None:
            try:
                parse_workflow_yaml(yaml_text)
            except InvalidWorkflow as problem:
                return protocol.error_response(400, str(problem))
        try:
            run_id = start(ref, space_id, body["inputs"], test=True, yaml_text=yaml_text)
        except UnknownScenario as problem:
            return protocol.error_response(400, str(problem))
        return json_response({"workflowExecutionId": run_id})

    def start(
        ref: WorkflowRef | None,
        space_id: str,
        inputs: dict[str, Any],
        *,
        test: bool,
        yaml_text: str | None = None,
    ) -> str:
        """Store a live run; its scenario comes from the header or ``inputs.stepspec_scenario``
        (consumed, not kept as an input). Raises ``UnknownScenario``."""
        chosen = requested_scenario(request.headers.get(SCENARIO_HEADER), inputs)
        spec: dict[str, Any] = {
            "space_id": space_id,
            "inputs": {k: v for k, v in inputs.items() if k != SCENARIO_FIELD},
            "is_test": test,
            "executed_by": protocol.principal(),
        }
        if chosen is not None and yaml_text is None:  # submitted YAML wins over a scenario
            spec["scenario"] = chosen.name
        if ref is not None:
            spec["workflow_index"] = ref.index
            workflow_id = ref.workflow_id
        else:
            digest = hashlib.blake2b(str(yaml_text).encode(), digest_size=16).hexdigest()
            groups = (digest[:8], digest[8:12], digest[12:16], digest[16:20], digest[20:32])
            workflow_id = "workflow-" + "-".join(groups)
            spec["ephemeral"] = True
        if yaml_text is not None:
            spec["yaml"] = yaml_text
        spec["workflow_id"] = workflow_id
        started = ctx.clock()
        stored = start_live_run(
            ctx, API, workflow_id, started - started % 1000, spec, world.ids.live_execution_id
        )
        return stored.run_id

    @route("/api/workflows/executions/<executionId>/resume", ("POST",))
    def resume_execution(executionId: str, space_id: str = "default") -> Response:
        view = source.find(executionId, space_id)
        if view is None:
            return not_found()
        try:
            body = check_body(
                read_body(),
                required={"input": "object"},
                optional={"stepExecutionId": "string"},
                lengths={"stepExecutionId": (1, 1024)},
            )
        except BodyError as problem:
            return protocol.error_response(400, str(problem))
        timeline = view.timeline
        position = waiting_position(timeline) if timeline is not None else None
        if timeline is None or position is None:
            return conflict(executionId, str(view.status))
        waiting = timeline.steps[position]
        wanted = body.get("stepExecutionId")
        if wanted is not None and wanted != view.step_ids[position]:
            return conflict(executionId, ALREADY_RESPONDED)
        # Kibana claims the step once (the hitl envelope) and writes the input to the run's
        # context; until the resume task runs, the run still waits for input, so a later resume
        # is accepted too and its input wins (workflows_management_api.ts resumeWorkflowExecution,
        # workflows_execution_engine plugin.ts internalResumeWorkflowExecution).
        source.thaw(view)
        response = HitlResponse(
            protocol.principal(), source.world_time_of(view), "kibana_execution_view", body["input"]
        )
        if waiting.hitl is not None or not ctx.store.record_response(
            executionId, position, response
        ):
            ctx.store.replace_input(executionId, position, body["input"])
        return json_response(
            {"success": True, "executionId": executionId, "message": RESUME_MESSAGE}
        )

    @route("/api/workflows/executions/<executionId>/cancel", ("POST",))
    def cancel_execution(executionId: str, space_id: str = "default") -> Response:
        view = source.find(executionId, space_id)
        if view is None:
            return not_found()
        if view.status not in TERMINAL:
            source.thaw(view)
            ctx.store.record_cancel(executionId, source.world_time_of(view))
        return Response(b"", status=200)

    return bp


def _template(rule: str) -> str:
    """The documented path of a Werkzeug rule: ``/s/<space_id>/a/<id>`` -> ``/a/{id}``."""
    return _RULE_VARIABLE.sub(r"{\1}", rule.removeprefix(SPACE_PREFIX))


route_template = functools.lru_cache(maxsize=256)(_template)
"""``_template`` of a routed rule, computed once per rule (there are a few dozen)."""


def protocol_strip(step: dict[str, Any]) -> dict[str, Any]:
    """A step as lists show it: without ``input`` and ``output``."""
    return {key: value for key, value in step.items() if key not in ("input", "output")}
