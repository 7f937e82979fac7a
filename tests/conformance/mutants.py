"""Fault injection for the mutation suite: WSGI middleware that breaks the mock one way at a time.

Each ``Mutant`` names one defect class, the API it is injected into, the check that must report
it, and how it breaks the traffic: ``request`` rewrites the WSGI environ before the mock sees it
(e.g. strips a filter), ``response`` rewrites what the mock answered (status, headers, body).
``MutantMiddleware(app, mutant)`` wraps a mock app; everything else passes through untouched.

Rules whose strength is only inferred are reported as warnings, so their mutants run with
``--strict`` (``strict=True``); the normative ones must fail a default run.

Lifecycle mutants (``live=True``) break runs the kit starts itself: they run against a mock on a
fast real clock with ``--allow-writes``, and their rewrites keep state (which runs were started
through the middleware, how often each was read), built fresh for every middleware by
``make_response``.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIApplication, WSGIEnvironment


@dataclass
class Exchange:
    """A response as the middleware sees it, mutable."""

    method: str
    path: str
    query: str
    status: int
    reason: str
    headers: list[tuple[str, str]]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)

    def set_json(self, value: Any) -> None:
        self.body = json.dumps(value).encode()

    def header(self, name: str, value: str) -> None:
        self.headers = [(k, v) for k, v in self.headers if k.lower() != name.lower()]
        self.headers.append((name, value))


Rewrite = Callable[[Exchange], None]


@dataclass(frozen=True)
class Mutant:
    """One defect class, where it is injected, and the check that must report it."""

    name: str
    api: str
    expected: str
    description: str
    response: Rewrite | None = None
    request: Callable[[dict[str, Any]], None] | None = None
    strict: bool = False
    args: tuple[str, ...] = ()
    app_config: dict[str, Any] = field(default_factory=dict)
    api_key: str = "test-key"
    make_response: Callable[[], Rewrite] | None = None
    """A factory of a stateful rewrite (one per middleware), instead of ``response``."""
    live: bool = False
    """A lifecycle mutant: served on a fast clock and checked with ``--allow-writes``."""


class MutantMiddleware:
    """Wraps a WSGI app and applies one mutant to every request and response."""

    def __init__(self, app: WSGIApplication, mutant: Mutant) -> None:
        self.app = app
        self.mutant = mutant
        self.response = mutant.make_response() if mutant.make_response else mutant.response

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        if self.mutant.request is not None:
            self.mutant.request(environ)
        captured: dict[str, Any] = {}

        def capture(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
            captured["status"], captured["headers"] = status, headers
            return lambda data: None

        chunks = self.app(environ, capture)
        try:
            body = b"".join(chunks)
        finally:
            close = getattr(chunks, "close", None)
            if close is not None:
                close()
        code, _, reason = captured["status"].partition(" ")
        exchange = Exchange(
            method=environ["REQUEST_METHOD"],
            path=environ.get("PATH_INFO", ""),
            query=environ.get("QUERY_STRING", ""),
            status=int(code),
            reason=reason,
            headers=list(captured["headers"]),
            body=body,
        )
        if self.response is not None:
            self.response(exchange)
        exchange.header("Content-Length", str(len(exchange.body)))
        start_response(f"{exchange.status} {exchange.reason or 'X'}", exchange.headers)
        return [exchange.body]


# -- helpers -------------------------------------------------------------------------------------


def on(pattern: str, *, status: int | None = 200) -> Callable[[Rewrite], Rewrite]:
    """Apply the rewrite only to GET responses whose path matches ``pattern`` (and status)."""
    compiled = re.compile(pattern)

    def wrap(rewrite: Rewrite) -> Rewrite:
        def apply(exchange: Exchange) -> None:
            if exchange.method != "GET" or not compiled.search(exchange.path):
                return
            if status is not None and exchange.status != status:
                return
            rewrite(exchange)

        return apply

    return wrap


def edit_json(edit: Callable[[Any], Any]) -> Rewrite:
    """A rewrite that edits the JSON body (the edit may change it in place or return a new one)."""

    def rewrite(exchange: Exchange) -> None:
        value = exchange.json()
        result = edit(value)
        exchange.set_json(value if result is None else result)

    return rewrite


def shift(timestamp: str, seconds: float) -> str:
    """An ISO timestamp moved by ``seconds``, in the same ``...Z`` style."""
    moved = dt.datetime.fromisoformat(timestamp) + dt.timedelta(seconds=seconds)
    return moved.astimezone(dt.UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def each(node: Any, key: str) -> Iterator[dict[str, Any]]:
    """Every dict item of the list under ``key`` (or of ``node`` itself if it is a list)."""
    items = node if isinstance(node, list) else node.get(key, []) if isinstance(node, dict) else []
    yield from (item for item in items if isinstance(item, dict))


def strip_query(name: str) -> Callable[[dict[str, Any]], None]:
    """A request rewrite that removes query parameter ``name``."""

    def rewrite(environ: dict[str, Any]) -> None:
        pairs = [p for p in environ.get("QUERY_STRING", "").split("&") if p]
        kept = [p for p in pairs if p.split("=", 1)[0] != name]
        environ["QUERY_STRING"] = "&".join(kept)

    return rewrite


KIBANA = r"^(/s/[^/]+)?/api/workflows"
KIBANA_STEP = KIBANA + r"/executions/[^/]+/step/[^/]+$"
KIBANA_EXECUTION = KIBANA + r"/executions/[^/]+$"
ARCEE_RUNS = r"^/api/v1/workflow/workflows/[^/]+/runs$"
ARCEE_RUN = r"^/api/v1/workflow/workflows/[^/]+/runs/[^/]+$"
ARCEE_STEPS = r"^/api/v1/workflow/workflows/[^/]+/runs/[^/]+/steps$"
TRIGIFY_WORKFLOW = r"^/v1/workflows/[^/]+$"
TRIGIFY_EXECUTIONS = r"^/v1/workflows/[^/]+/executions$"
TRIGIFY_EXECUTION = r"^/v1/workflows/[^/]+/executions/[^/]+$"


# -- the mutants ---------------------------------------------------------------------------------


def _drop_step_id(body: Any) -> None:
    body.pop("stepId", None)


def _elapsed_as_text(body: Any) -> None:
    for step in each(body, ""):
        step["elapsed_time"] = str(step.get("elapsed_time"))


def _status_out_of_enum(body: Any) -> None:
    body["data"]["status"] = "done"


def _malformed_start(body: Any) -> None:
    body["startedAt"] = "yesterday at noon"


def _end_before_start(body: Any) -> None:
    data = body["data"]
    data["ended_at"] = shift(data["started_at"], -5)


def _duration_off(body: Any) -> None:
    targets = [body] if "executionTimeMs" in body else []
    targets += list(each(body, "stepExecutions")) + list(each(body, "results"))
    for step in targets:
        if isinstance(step.get("executionTimeMs"), int):
            step["executionTimeMs"] += 1000


def _failed_without_error(body: Any) -> None:
    data = body["data"]
    items = [data] if "steps" in data else list(each(data, "executions"))
    for item in items:
        if item.get("status") == "failed":
            item["error"] = None


def _wrong_type(exchange: Exchange) -> None:
    exchange.header("Content-Type", "text/plain; charset=utf-8")


def _unknown_is_found(exchange: Exchange) -> None:
    if exchange.status == 404:
        exchange.status, exchange.reason = 200, "OK"
        exchange.set_json({})


def _inject_credential(environ: dict[str, Any]) -> None:
    environ.setdefault("HTTP_AUTHORIZATION", "Bearer injected-by-the-mutant")


def _wrong_envelope(exchange: Exchange) -> None:
    if 400 <= exchange.status < 500:
        exchange.set_json({"error": {"reason": "nope"}})


def _other_run(body: Any) -> None:
    body["workflowRunId"] = "exec-from-another-run"


def _total_plus_one(body: Any) -> None:
    body["data"]["pagination"]["total_count"] += 1


def _space_leak(environ: dict[str, Any]) -> None:
    environ["PATH_INFO"] = re.sub(r"^/s/[^/]+(/api/)", r"\1", environ.get("PATH_INFO", ""))


def _unknown_workflow_lists_others(environ: dict[str, Any]) -> None:
    # An unknown workflow id lists the documented workflow's runs instead of nothing.
    environ["PATH_INFO"] = re.sub(
        r"/workflow/stepspec-unknown-id-0000/executions",
        "/workflow/workflow-a1b2c3d4-e5f6-7890-abcd-ef1234567890/executions",
        environ.get("PATH_INFO", ""),
    )


def _default_alias_broken(environ: dict[str, Any]) -> None:
    environ["PATH_INFO"] = re.sub(r"^/s/default/", "/s/not-default/", environ.get("PATH_INFO", ""))


def _any_key_is_good(environ: dict[str, Any]) -> None:
    if "HTTP_X_API_KEY" in environ:
        environ["HTTP_X_API_KEY"] = "test-key"


def _truncate(exchange: Exchange) -> None:
    exchange.body = exchange.body[: max(1, len(exchange.body) // 2)]


def _undocumented_status(exchange: Exchange) -> None:
    exchange.status, exchange.reason = 203, "Non-Authoritative Information"


def _redirect_to_self(exchange: Exchange) -> None:
    exchange.status, exchange.reason = 302, "Found"
    exchange.header("Location", exchange.path + ("?" + exchange.query if exchange.query else ""))
    exchange.body = b""


def _list_disagrees(body: Any) -> None:
    for run in each(body, ""):
        run["inputs"] = {"prompt": "not what the run was started with"}


def _drop_finished(body: Any) -> None:
    if body.get("status") in ("completed", "failed"):
        body.pop("finishedAt", None)
        body["duration"] = None


def _indexes_zero(body: Any) -> None:
    for step in each(body, "stepExecutions"):
        step["globalExecutionIndex"] = 0


def _step_index_from_one(body: Any) -> None:
    for step in each(body, "stepExecutions"):
        if isinstance(step.get("stepExecutionIndex"), int):
            step["stepExecutionIndex"] += 1


def _elapsed_plus_one(body: Any) -> None:
    runs = body if isinstance(body, list) else [body]
    for run in runs:
        if isinstance(run, dict) and isinstance(run.get("elapsed_time"), int):
            run["elapsed_time"] += 1


def _server_error_on_big_limits(exchange: Exchange) -> None:
    limits = re.findall(r"(?:^|&)limit=(-?\d+)", exchange.query)
    if any(int(limit) > 100 for limit in limits):
        exchange.status, exchange.reason = 500, "Internal Server Error"
        exchange.header("Content-Type", "text/html")
        exchange.body = b"<h1>boom</h1>"


def _other_step_type(body: Any) -> None:
    for step in each(body, "results"):
        step["stepType"] = "other"


# -- lifecycle mutants: they break only the runs the kit starts ----------------------------------

START_PATHS = {
    re.compile(KIBANA + r"/workflow/[^/]+/run$"): "workflowExecutionId",
    re.compile(r"^/api/v1/workflow/workflows/[^/]+/execute$"): "run_id",
}
LIVE_READS = re.compile(
    KIBANA + r"/executions/(?P<kibana>[^/]+)(?P<k_rest>/steps)?$"
    r"|^/api/v1/workflow/workflows/[^/]+/runs/(?P<arcee>[^/]+)(?P<a_rest>/steps)?$"
)
LiveRewrite = Callable[[Exchange, int], None]
"""Rewrites a read of a started run, given how many times that endpoint has been read."""


def on_started_runs(rewrite: LiveRewrite, *, steps: bool | None = None) -> Callable[[], Rewrite]:
    """A factory of rewrites that apply ``rewrite`` to GETs of runs started through the mock.

    ``steps``: only the steps lists (True), only the run documents (False), or both (None).
    """

    def make() -> Rewrite:
        started: set[str] = set()
        reads: dict[tuple[str, bool], int] = {}

        def apply(exchange: Exchange) -> None:
            if exchange.method == "POST" and exchange.status == 200:
                for pattern, key in START_PATHS.items():
                    if pattern.search(exchange.path):
                        started.add(str(exchange.json().get(key)))
                return
            matched = LIVE_READS.search(exchange.path)
            if exchange.method != "GET" or exchange.status != 200 or matched is None:
                return
            run_id = matched.group("kibana") or matched.group("arcee")
            is_steps = bool(matched.group("k_rest") or matched.group("a_rest"))
            if run_id not in started or (steps is not None and steps != is_steps):
                return
            count = reads[(run_id, is_steps)] = reads.get((run_id, is_steps), 0) + 1
            rewrite(exchange, count)

        return apply

    return make


def _running_then_pending(exchange: Exchange, count: int) -> None:
    if count > 2:
        return
    body = exchange.json()
    body["status"] = "running" if count == 1 else "pending"
    body.pop("finishedAt", None)
    body["duration"] = None
    exchange.set_json(body)


def _finished_steps_end_later(exchange: Exchange, count: int) -> None:
    body = exchange.json()
    for step in each(body, "stepExecutions"):
        if step.get("status") == "completed" and step.get("finishedAt"):
            step["finishedAt"] = shift(step["finishedAt"], count)
    exchange.set_json(body)


def _cancelled_step_still_running(exchange: Exchange, count: int) -> None:
    body = exchange.json()
    for step in each(body, "results"):
        if step.get("status") == "cancelled":
            step["status"] = "running"
            step.pop("finishedAt", None)
            step.pop("executionTimeMs", None)
    exchange.set_json(body)


def _finished_without_end(exchange: Exchange, count: int) -> None:
    body = exchange.json()
    if body.get("status") in ("completed", "failed", "cancelled"):
        body.pop("finishedAt", None)
        body["duration"] = None
        exchange.set_json(body)


def _resume_accepted_after_moved_on(exchange: Exchange) -> None:
    matched = re.search(r"/executions/([^/]+)/resume$", exchange.path)
    if exchange.method == "POST" and matched and exchange.status == 409:
        exchange.status, exchange.reason = 200, "OK"
        exchange.set_json(
            {
                "success": True,
                "executionId": matched.group(1),
                "message": "Workflow resume scheduled",
            }
        )


def _start_names_unknown_run(exchange: Exchange) -> None:
    if exchange.method == "POST" and exchange.path.endswith("/execute") and exchange.status == 200:
        exchange.set_json(
            {
                "message": "Workflow execution started",
                "run_id": "00000000-0000-4000-8000-000000000000",
            }
        )


def _test_run_without_id(exchange: Exchange) -> None:
    if exchange.method == "POST" and exchange.path.endswith("/test") and exchange.status == 200:
        exchange.set_json({"success": True, "message": "Test run started", "data": {}})


LIFECYCLE_MUTANTS: tuple[Mutant, ...] = (
    Mutant(
        "status_back_to_pending",
        "kibana",
        "run_progress_monotonic",
        "a started run reads 'running', then 'pending' (an inferred order: --strict)",
        make_response=on_started_runs(_running_then_pending, steps=False),
        strict=True,
        live=True,
    ),
    Mutant(
        "finished_step_end_moves",
        "kibana",
        "run_progress_monotonic",
        "a completed step's finishedAt moves one second later at every poll",
        make_response=on_started_runs(_finished_steps_end_later, steps=False),
        live=True,
    ),
    Mutant(
        "resume_accepted_after_moved_on",
        "kibana",
        "run_resumes",
        "a resume of an execution that no longer waits for input answers 200 instead of 409",
        response=_resume_accepted_after_moved_on,
        live=True,
    ),
    Mutant(
        "cancel_leaves_step_running",
        "kibana",
        "run_cancels",
        "the cancelled step of a cancelled run is listed as running (an inferred rule: --strict)",
        make_response=on_started_runs(_cancelled_step_still_running, steps=True),
        strict=True,
        live=True,
    ),
    Mutant(
        "start_names_unknown_run",
        "arcee",
        "run_starts",
        "execute answers with a run_id that 404s",
        response=_start_names_unknown_run,
        live=True,
    ),
    Mutant(
        "test_run_without_id",
        "trigify",
        "run_starts",
        "POST /v1/workflows/{id}/test answers without data.test_run_id",
        response=_test_run_without_id,
        live=True,
    ),
    Mutant(
        "finished_run_without_end",
        "kibana",
        "run_final_coherent",
        "a started run that ended reads without finishedAt",
        make_response=on_started_runs(_finished_without_end, steps=False),
        live=True,
    ),
)


MUTANTS: tuple[Mutant, ...] = (
    Mutant(
        "required_field_dropped",
        "kibana",
        "body_matches_schema",
        "a step execution without its required stepId",
        response=on(KIBANA_STEP)(edit_json(_drop_step_id)),
    ),
    Mutant(
        "wrong_type",
        "arcee",
        "body_matches_schema",
        "elapsed_time as a string in the steps list",
        response=on(ARCEE_STEPS)(edit_json(_elapsed_as_text)),
    ),
    Mutant(
        "out_of_enum_status",
        "trigify",
        "body_matches_schema",
        "an execution status outside running|completed|failed",
        response=on(TRIGIFY_EXECUTION)(edit_json(_status_out_of_enum)),
    ),
    Mutant(
        "malformed_timestamp",
        "kibana",
        "body_matches_schema",
        "an execution startedAt that is not a date-time",
        response=on(KIBANA_EXECUTION)(edit_json(_malformed_start)),
    ),
    Mutant(
        "end_before_start",
        "trigify",
        "timestamps_ordered",
        "an execution that ends before it starts",
        response=on(TRIGIFY_EXECUTION)(edit_json(_end_before_start)),
    ),
    Mutant(
        "duration_contradicts_timestamps",
        "kibana",
        "durations_agree",
        "executionTimeMs 1000 ms longer than finishedAt - startedAt",
        response=on(KIBANA + "/executions/")(edit_json(_duration_off)),
    ),
    Mutant(
        "failed_without_error",
        "trigify",
        "status_error_coherent",
        "failed executions with error null (detail and list)",
        response=on(r"^/v1/workflows/[^/]+/executions")(edit_json(_failed_without_error)),
    ),
    Mutant(
        "wrong_content_type",
        "arcee",
        "content_type_json",
        "JSON bodies declared as text/plain",
        response=on(r"^/api/v1/workflow/", status=None)(_wrong_type),
    ),
    Mutant(
        "found_for_unknown_id",
        "kibana",
        "unknown_id_404",
        "200 {} instead of 404 for ids the server never issued",
        response=on(KIBANA + "/executions/", status=404)(_unknown_is_found),
    ),
    Mutant(
        "unknown_workflow_lists_runs",
        "kibana",
        "unknown_id_404",
        "the executions of a workflow id the server never issued are another workflow's",
        request=_unknown_workflow_lists_others,
    ),
    Mutant(
        "auth_not_enforced",
        "arcee",
        "auth_required",
        "requests without a credential are served",
        request=_inject_credential,
    ),
    Mutant(
        "wrong_error_envelope",
        "kibana",
        "error_envelope",
        "4xx bodies that are not Boom envelopes",
        response=on(r"^/", status=None)(_wrong_envelope),
    ),
    Mutant(
        "step_from_another_run",
        "kibana",
        "path_ids_echoed",
        "the step endpoint answers with a step of another execution",
        response=on(KIBANA_STEP)(edit_json(_other_run)),
    ),
    Mutant(
        "wrong_pagination_total",
        "trigify",
        "pagination_consistent",
        "total_count one more than the executions there are",
        response=on(TRIGIFY_EXECUTIONS)(edit_json(_total_plus_one)),
    ),
    Mutant(
        "filter_ignored",
        "kibana",
        "filters_honoured",
        "statuses=failed is ignored",
        request=strip_query("statuses"),
    ),
    Mutant(
        "space_leak",
        "kibana",
        "space_isolation",
        "every /s/<space> prefix is ignored, so other spaces see default's data",
        request=_space_leak,
    ),
    # Beyond the list: one mutant for every other check.
    Mutant(
        "made_up_key_accepted",
        "trigify",
        "auth_rejects_invalid",
        "a server configured with keys accepts any key",
        request=_any_key_is_good,
        args=("--expect-key-enforcement",),
        app_config={"api_keys": ("test-key",)},
    ),
    Mutant(
        "truncated_json",
        "arcee",
        "body_parses",
        "the steps list cut in half (well-formed HTTP, broken JSON)",
        response=on(ARCEE_STEPS)(_truncate),
    ),
    Mutant(
        "undocumented_status",
        "arcee",
        "status_code_documented",
        "203 instead of 200 for one run",
        response=on(ARCEE_RUN)(_undocumented_status),
    ),
    Mutant(
        "redirect_loop",
        "trigify",
        "response_complete",
        "a workflow redirects to itself",
        response=on(TRIGIFY_WORKFLOW)(_redirect_to_self),
    ),
    Mutant(
        "run_list_disagrees",
        "arcee",
        "run_consistent",
        "the run history shows other inputs than the run itself",
        response=on(ARCEE_RUNS)(edit_json(_list_disagrees)),
    ),
    Mutant(
        "terminal_without_end",
        "kibana",
        "terminal_has_end_time",
        "finished executions without finishedAt",
        response=on(KIBANA_EXECUTION)(edit_json(_drop_finished)),
    ),
    Mutant(
        "indexes_repeated",
        "kibana",
        "indexes_ordered",
        "every embedded step has globalExecutionIndex 0",
        response=on(KIBANA_EXECUTION)(edit_json(_indexes_zero)),
    ),
    Mutant(
        "step_index_from_one",
        "kibana",
        "indexes_ordered",
        "every step of a whole execution counts stepExecutionIndex from 1 (an inferred rule: "
        "--strict; pages of the steps list are exempt, the embedded list is whole)",
        response=on(KIBANA_EXECUTION)(edit_json(_step_index_from_one)),
        strict=True,
    ),
    Mutant(
        "default_alias_broken",
        "kibana",
        "space_default_alias",
        "/s/default/... answers as another space",
        request=_default_alias_broken,
    ),
    Mutant(
        "server_error_on_big_limits",
        "arcee",
        "fuzz",
        "a 500 HTML page for limit > 100 (only generated requests send that)",
        response=on(ARCEE_RUNS, status=None)(_server_error_on_big_limits),
        args=("--fuzz", "10"),
    ),
    Mutant(
        "elapsed_time_rounded_up",
        "arcee",
        "durations_agree",
        "elapsed_time one second more than the timestamps say (an inferred rule: --strict)",
        response=on(ARCEE_STEPS)(edit_json(_elapsed_plus_one)),
        strict=True,
    ),
    Mutant(
        "step_lists_disagree",
        "kibana",
        "step_consistent",
        "the steps list of an execution shows another stepType than the steps themselves",
        response=on(KIBANA + "/executions/[^/]+/steps$")(edit_json(_other_step_type)),
    ),
    *LIFECYCLE_MUTANTS,
)
