"""Arcee's HTTP surface: the five documented operations under ``/api/v1/workflow``.

Views are thin: they read the parameters the app checked against the OpenAPI document
(``checked_query``; a value that does not fit is answered before the view runs), look entities
up through ``ArceeService`` and serialise. Answers about the frozen world are marked cacheable;
answers that involve live runs (history pages, live runs) are not, since they change with the
clock. The GET views are request-free functions (path variables, checked query, environ -> a
200's ``FastAnswer`` or the error ``Response``), called by the Flask views and registered with
the app's fast path (``mock_server._fast``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from flask import Blueprint, Request, Response, request

from mock_server._fast import FastAnswer, FastRoutes, served
from mock_server._fast import register as register_fast
from mock_server._http import json_bytes, json_response
from mock_server._state import checked_query
from mock_server.arcee._protocol import error_response
from mock_server.arcee._service import API, ArceeService, RunView, WorkflowRef
from mock_server.live import (
    SCENARIO_FIELD,
    SCENARIO_HEADER,
    AutoRuns,
    UnknownScenario,
    requested_scenario,
)

if TYPE_CHECKING:
    from _typeshed.wsgi import WSGIEnvironment as Environ

    from mock_server._context import MockContext

BASE_PATH = "/api/v1/workflow"
_MAX_INDEX = 2**62
MAX_DEPTH = 32
"""Larger ``limit``/``offset`` values mean "everything" / "past the end" (and stay integers)."""
Args = Mapping[str, str]
Query = Mapping[str, Any]


def storable(value: Any, depth: int = 0) -> Any:
    """``value`` as JSON that can be stored and served back byte-exact by orjson.

    JSON allows what orjson refuses: integers beyond 64 bits (kept as floats, or as text when
    even a float overflows), lone UTF-16 surrogates (replaced by "?") and deep nesting
    (more than ``MAX_DEPTH`` levels is a 400).
    """
    if depth > MAX_DEPTH:
        raise ValueError(f"Input values may nest at most {MAX_DEPTH} levels deep")
    if isinstance(value, dict):
        return {_text(str(key)): storable(item, depth + 1) for key, item in value.items()}
    if isinstance(value, list):
        return [storable(item, depth + 1) for item in value]
    if isinstance(value, str):
        return _text(value)
    if isinstance(value, int) and not isinstance(value, bool) and not -(2**63) <= value < 2**64:
        try:
            return float(value)
        except OverflowError:
            return str(value)
    return value


def _text(value: str) -> str:
    return value.encode("utf-8", "replace").decode("utf-8") if not value.isascii() else value


def _cacheable(environ: Environ) -> bool:
    # The response cache keys on ``Authorization`` only; an answer earned with the lenient
    # ``Authentication`` header must not be replayed to a request without credentials.
    return "HTTP_AUTHORIZATION" in environ


def blueprint(ctx: MockContext) -> Blueprint:
    """The Arcee routes of one app (the world is built once, here)."""
    service = ArceeService(ctx)
    bp = Blueprint("arcee", __name__, url_prefix=BASE_PATH)
    auto_runs = AutoRuns(ctx, API, service.auto_start)

    @bp.before_request
    def _auto_runs() -> None:
        if request.method != "OPTIONS":
            auto_runs.tick()

    def workflow_or_404(workflow_id: str) -> WorkflowRef | Response:
        ref = service.find_workflow(workflow_id)
        return error_response(404, "Workflow not found") if ref is None else ref

    @bp.post("/workflows/<workflow_id>/execute")
    def execute_workflow(workflow_id: str) -> Response:
        found = workflow_or_404(workflow_id)
        if isinstance(found, Response):
            return found
        if found.workflow.status != "active":
            # Undocumented: an inactive workflow cannot run; Arcee's documented 400 ("invalid
            # input") in FastAPI's shape is the inferred answer.
            return error_response(400, "Workflow is not active")
        try:
            body = request.get_json(force=True, silent=True)
        except RecursionError:  # nested deeper than the JSON decoder recurses: not an object
            body = None
        if not isinstance(body, dict):
            return error_response(
                400, "The request body must be a JSON object of the workflow's input variables"
            )
        try:
            inputs = storable(body)
            chosen = requested_scenario(request.headers.get(SCENARIO_HEADER), inputs)
        except ValueError as error:
            return error_response(400, str(error))
        except UnknownScenario as error:
            return error_response(400, str(error.args[0]))
        inputs.pop(SCENARIO_FIELD, None)
        run_id = service.execute(found, inputs, chosen)
        return json_response({"message": "Workflow execution started", "run_id": run_id})

    # The GET views, request-free: ``(path variables, checked query, environ)`` -> a 200's
    # ``FastAnswer`` or the error ``Response``; served by Flask views and by the fast path.

    def workflows(args: Args, query: Query, environ: Environ) -> FastAnswer | Response:
        return FastAnswer(json_bytes(service.workflows_payload()), _cacheable(environ))

    def history(args: Args, query: Query, environ: Environ) -> FastAnswer | Response:
        found = workflow_or_404(args["workflow_id"])
        if isinstance(found, Response):
            return found
        limit = int(min(query.get("limit", 100), _MAX_INDEX))
        offset = int(min(query.get("offset", 0), _MAX_INDEX))
        return FastAnswer(json_bytes(service.history(found, limit, offset)))

    def run_or_error(args: Args) -> tuple[WorkflowRef, RunView] | Response:
        """The run a run route names, or the answer that it cannot be served (400/404)."""
        found = workflow_or_404(args["workflow_id"])
        if isinstance(found, Response):
            return found
        view = service.find_run(found, args["run_id"])
        if view is None:
            return error_response(404, "Run not found")
        return found, view

    def run(args: Args, query: Query, environ: Environ) -> FastAnswer | Response:
        located = run_or_error(args)
        if isinstance(located, Response):
            return located
        found, view = located
        body = json_bytes([service.run_body(view, found, detail=True)])
        return FastAnswer(body, view.frozen and _cacheable(environ))

    def run_steps(args: Args, query: Query, environ: Environ) -> FastAnswer | Response:
        located = run_or_error(args)
        if isinstance(located, Response):
            return located
        view = located[1]
        body = service.steps_body(view)
        if not isinstance(body, bytes):
            body = json_bytes(body)
        return FastAnswer(body, view.frozen and _cacheable(environ))

    @bp.get("/workflows")
    def list_workflows(**args: str) -> Response:
        return served(workflows(args, checked_query(), request.environ))

    @bp.get("/workflows/<workflow_id>/runs")
    def execution_history(**args: str) -> Response:
        return served(history(args, checked_query(), request.environ))

    @bp.get("/workflows/<workflow_id>/runs/<run_id>")
    def get_run(**args: str) -> Response:
        return served(run(args, checked_query(), request.environ))

    @bp.get("/workflows/<workflow_id>/runs/<run_id>/steps")
    def get_run_steps(**args: str) -> Response:
        return served(run_steps(args, checked_query(), request.environ))

    def admit(req: Request, rule: str, args: Args) -> bool:
        auto_runs.tick()  # ``_auto_runs`` for the fast path
        return True

    register_fast(
        bp,
        FastRoutes(
            vendor="arcee",
            views={
                "arcee.list_workflows": workflows,
                "arcee.execution_history": history,
                "arcee.get_run": run,
                "arcee.get_run_steps": run_steps,
            },
            admit=admit,
        ),
    )

    return bp
