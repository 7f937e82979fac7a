"""Trigify's HTTP surface under ``/v1``: workflows, executions, the action catalogue, rate limits.

Routing: Werkzeug ranks the literal ``/v1/workflows/actions`` above ``/v1/workflows/<id>``, so the
catalogue is never mistaken for a workflow (and no workflow id can be ``actions``: ours start
with ``wf_``). The catalogue is served, not a 404, because the docs' own error ``suggestion``
sends clients to it.

Rate limiting wraps every response under ``/v1`` (including 401s, 404s and the app's own
errors): a request is counted before anything else answers it, a 429 stops it when enforcement
is on, and the ``RateLimit-*`` headers are added on the way out. So no Trigify answer may ever
be replayed by the app's response cache (``mock_server._http``): a replay would skip the count
(no 429, ever) and repeat stale ``RateLimit-Remaining`` headers. Trigify views never call
``mark_cacheable()``, and the way out withdraws the mark should anything else have set it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from flask import Blueprint, Response, g, request

from mock_server._http import CACHEABLE_KEY
from mock_server._openapi import api_index
from mock_server._params import check_parameters
from mock_server.trigify._protocol import api_key, error_response, query_errors
from mock_server.trigify._ratelimit import Quota, RateLimiter
from mock_server.trigify._service import TrigifyService, WorkflowKey

if TYPE_CHECKING:
    from mock_server._context import MockContext

BASE_PATH = "/v1"
_QUOTA = "stepspec_trigify_quota"
_MAX_INDEX = 2**62


def _parameters(operation_id: str) -> tuple[dict[str, Any], list[Any]]:
    operation = api_index("trigify").by_id(operation_id)
    checked = check_parameters(
        operation.parameters, request.args, request.view_args or {}, reject_unknown=False
    )
    return checked.values, checked.problems


def _json(body: bytes) -> Response:
    return Response(body, mimetype="application/json")


def _ours(path: str) -> bool:
    return path == BASE_PATH or path.startswith(BASE_PATH + "/")


def blueprint(ctx: MockContext) -> Blueprint:
    """The Trigify routes of one app (world and rate limiter are built once, here)."""
    service = TrigifyService(ctx)
    limiter = RateLimiter(ctx)
    bp = Blueprint("trigify", __name__, url_prefix=BASE_PATH)

    def quota() -> Quota:
        found: Quota | None = g.get(_QUOTA)
        if found is None:
            found = limiter.hit(api_key(request), request.remote_addr)
            setattr(g, _QUOTA, found)
        return found

    @bp.before_app_request
    def count_request() -> Response | None:
        if not _ours(request.path) or request.method == "OPTIONS":
            return None
        if quota().exceeded:
            response = error_response(429)
            response.headers["Retry-After"] = str(quota().reset_s)
            return response
        return None

    @bp.after_app_request
    def add_headers(response: Response) -> Response:
        if _ours(request.path) and request.method != "OPTIONS":
            response.headers.update(quota().headers())
            request.environ.pop(CACHEABLE_KEY, None)  # per-request headers: never replayed
        return response

    def workflow_or_404(workflow_id: str) -> WorkflowKey | Response:
        key = service.find_workflow(workflow_id)
        return error_response(404, "Workflow not found") if key is None else key

    @bp.get("/workflows")
    def list_workflows() -> Response:
        values, problems = _parameters("listWorkflows")
        if problems:
            return query_errors(problems)
        limit = int(values.get("limit", 20))
        offset = int(min(values.get("offset", 0), _MAX_INDEX))
        return _json(service.workflows_body(limit, offset, values.get("status")))

    @bp.get("/workflows/actions")
    def list_actions() -> Response:
        return _json(service.actions_body())

    @bp.get("/workflows/<workflow_id>")
    def get_workflow(workflow_id: str) -> Response:
        _, problems = _parameters("getWorkflow")
        if problems:
            return query_errors(problems)
        found = workflow_or_404(workflow_id)
        return found if isinstance(found, Response) else _json(service.workflow_body(found))

    @bp.get("/workflows/<workflow_id>/executions")
    def list_workflow_executions(workflow_id: str) -> Response:
        values, problems = _parameters("listWorkflowExecutions")
        if problems:
            return query_errors(problems)
        found = workflow_or_404(workflow_id)
        if isinstance(found, Response):
            return found
        page = int(min(values.get("page", 1), _MAX_INDEX))
        page_size = int(values.get("page_size", 20))
        return _json(service.executions_body(found, page, page_size))

    @bp.get("/workflows/<workflow_id>/executions/<run_id>")
    def get_workflow_execution(workflow_id: str, run_id: str) -> Response:
        _, problems = _parameters("getWorkflowExecution")
        if problems:
            return query_errors(problems)
        found = workflow_or_404(workflow_id)
        if isinstance(found, Response):
            return found
        body = service.execution_body(found, run_id)
        return error_response(404, "Execution not found") if body is None else _json(body)

    return bp
