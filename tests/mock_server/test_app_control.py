"""App-wide behaviour: CORS, Prefer, faults, response validation, unknown paths, the cache,
the neutral wording of query problems and the matching of requests to OpenAPI operations.

Mostly shown through Kibana routes (the app code is vendor-neutral; the other vendors' suites
cover their envelopes); operation matching and self-checks run over all three APIs.
"""

from __future__ import annotations

import json
import time
from dataclasses import replace
from importlib import resources
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from conformance import _specs
from conformance._operations import PROFILES
from conformance._specs import Operation
from mock_server import create_app
from mock_server._http import json_response
from mock_server._openapi import _specificity, api_index
from mock_server._params import QueryProblem
from mock_server._state import MockState
from mock_server.arcee import DOCUMENTED_RUN_ID as ARCEE_RUN_ID
from mock_server.arcee import DOCUMENTED_WORKFLOW_ID as ARCEE_WORKFLOW_ID
from mock_server.kibana import DOCUMENTED_EXECUTION_ID, DOCUMENTED_WORKFLOW_ID
from mock_server.trigify import DOCUMENTED_RUN_ID as TRIGIFY_RUN_ID
from mock_server.trigify import DOCUMENTED_WORKFLOW_ID as TRIGIFY_WORKFLOW_ID
from mock_server.trigify import VENDOR as TRIGIFY
from tests.conftest import AppFactory

AUTH = {"Authorization": "ApiKey dGVzdDprZXk="}
STEP = f"/api/workflows/executions/{DOCUMENTED_EXECUTION_ID}/step/step-exec-001"
ORIGIN = "http://localhost:5173"


def test_cors_preflight_is_answered_without_credentials(client: FlaskClient) -> None:
    response = client.options(
        STEP,
        headers={
            "Origin": ORIGIN,
            "Access-Control-Request-Method": "GET",
            "Access-Control-Request-Headers": "authorization, elastic-api-version, kbn-xsrf",
        },
    )
    assert response.status_code == 200
    assert response.headers["Access-Control-Allow-Origin"] in (ORIGIN, "*")
    allowed = response.headers["Access-Control-Allow-Headers"].lower()
    for header in ("authorization", "elastic-api-version", "kbn-xsrf"):
        assert header in allowed
    assert "GET" in response.headers["Access-Control-Allow-Methods"]


def test_cors_headers_on_answers_and_on_errors(client: FlaskClient) -> None:
    for headers, status in (({**AUTH, "Origin": ORIGIN}, 200), ({"Origin": ORIGIN}, 401)):
        response = client.get(STEP, headers=headers)
        assert response.status_code == status
        assert response.headers["Access-Control-Allow-Origin"] in (ORIGIN, "*")
        exposed = response.headers["Access-Control-Expose-Headers"].lower()
        assert "elastic-api-version" in exposed
        assert "ratelimit-remaining" in exposed


def test_cors_can_be_turned_off(app_factory: AppFactory) -> None:
    response = app_factory(cors=False).test_client().get(STEP, headers={**AUTH, "Origin": ORIGIN})
    assert "Access-Control-Allow-Origin" not in response.headers


def test_prefer_code_answers_in_the_vendor_envelope(client: FlaskClient) -> None:
    response = client.get(STEP, headers={**AUTH, "Prefer": "code=404"})
    assert response.status_code == 404
    assert response.get_json() == {"statusCode": 404, "error": "Not Found", "message": "Not Found"}
    assert response.headers["elastic-api-version"] == "2023-10-31"


def test_prefer_code_of_a_success_serves_the_documented_example(client: FlaskClient) -> None:
    response = client.get(
        "/api/workflows/executions/anything/step/else", headers={**AUTH, "Prefer": "code=200"}
    )
    assert response.status_code == 200
    assert response.get_json()["id"] == "step-exec-001"


def test_prefer_example_by_name(client: FlaskClient) -> None:
    response = client.get(STEP, headers={**AUTH, "Prefer": "example=hitlStep"})
    assert response.status_code == 200
    assert response.get_json()["id"] == "step-exec-002"
    error = client.get(STEP, headers={**AUTH, "Prefer": "code=400, example=unknownQueryKey"})
    assert error.status_code == 400
    assert "definition for this key is missing" in error.get_json()["message"]


def test_prefer_unknown_example_or_code_lists_what_exists(client: FlaskClient) -> None:
    response = client.get(STEP, headers={**AUTH, "Prefer": "example=nope"})
    assert response.status_code == 400
    assert "consoleStep" in response.get_json()["message"]
    assert "hitlStep" in response.get_json()["message"]
    undocumented = client.get(STEP, headers={**AUTH, "Prefer": "code=418"})
    assert undocumented.status_code == 400
    assert "404" in undocumented.get_json()["message"]


def test_prefer_does_not_bypass_authentication(client: FlaskClient) -> None:
    assert client.get(STEP, headers={"Prefer": "code=200"}).status_code == 401


def test_error_rate_injects_labelled_500s_deterministically(app_factory: AppFactory) -> None:
    def statuses() -> list[int]:
        client = app_factory(error_rate=0.5, seed=3).test_client()
        return [client.get(STEP, headers=AUTH).status_code for _ in range(40)]

    first = statuses()
    assert set(first) == {200, 500}
    assert statuses() == first
    client = app_factory(error_rate=1.0).test_client()
    response = client.get(STEP, headers=AUTH)
    assert response.status_code == 500
    assert response.headers["X-Stepspec-Injected"] == "error-rate"
    assert response.get_json()["error"] == "Internal Server Error"


def test_latency_delays_each_request(app_factory: AppFactory) -> None:
    client = app_factory(latency_ms=(30, 40)).test_client()
    started = time.perf_counter()
    for _ in range(3):
        assert client.get(STEP, headers=AUTH).status_code == 200
    assert time.perf_counter() - started >= 0.09


def test_validate_responses_passes_good_answers_and_catches_bad_ones(
    app_factory: AppFactory,
) -> None:
    app = app_factory(validate_responses=True)
    client = app.test_client()
    good = client.get(STEP, headers=AUTH)
    assert good.status_code == 200
    assert good.headers["X-Stepspec-Validated"] == "urn:stepspec:kibana:step-execution"
    broken = _with_broken_view(app_factory)
    response = broken.get(STEP, headers=AUTH)
    assert response.status_code == 500
    assert "breaks urn:stepspec:kibana:step-execution" in response.get_json()["message"]


def _with_broken_view(app_factory: AppFactory) -> FlaskClient:
    app = app_factory(validate_responses=True)
    endpoint = next(
        r.endpoint for r in app.url_map.iter_rules() if r.rule.endswith("<stepExecutionId>")
    )
    app.view_functions[endpoint] = lambda **_: json_response({"id": 7})
    return app.test_client()


def test_unknown_paths_list_every_api(client: FlaskClient) -> None:
    response = client.get("/nowhere")
    assert response.status_code == 404
    body = response.get_json()
    assert body["apis"]["kibana"] == ["/api/workflows", "/s/"]
    assert "/nowhere" in body["message"]
    assert "the run viewer is at /_stepspec/" in body["message"]  # walkthrough row 2


def test_immutable_answers_are_replayed_from_a_bounded_cache(app_factory: AppFactory) -> None:
    app: Flask = app_factory(cache_size=2)
    client = app.test_client()
    state: MockState = app.extensions["stepspec"]
    first = client.get(STEP, headers=AUTH)
    assert len(state.cache) == 1
    assert client.get(STEP, headers=AUTH).data == first.data
    other = client.get(STEP, headers={"Authorization": "ApiKey b3RoZXI="})
    assert other.status_code == 200
    client.get(STEP.replace("001", "002"), headers=AUTH)
    assert len(state.cache) == 2  # bounded: the oldest entry was evicted
    assert client.get(STEP).status_code == 401  # credentials are part of the key


def test_an_empty_header_is_not_served_the_answer_of_an_absent_one(app: Flask) -> None:
    client = app.test_client()
    assert client.get(STEP, headers=AUTH).status_code == 200  # cached without the header
    empty = client.get(STEP, headers={**AUTH, "elastic-api-version": ""})
    assert empty.status_code == 400
    assert "Invalid version" in empty.get_json()["message"]


def test_big_answers_are_not_kept_in_the_cache(app: Flask) -> None:
    client = app.test_client()
    state: MockState = app.extensions["stepspec"]
    bulk = client.get("/api/workflows", headers=AUTH).get_json()["results"][-1]["id"]
    runs = client.get(f"/api/workflows/workflow/{bulk}/executions", headers=AUTH).get_json()
    page = f"/api/workflows/executions/{runs['results'][1]['id']}/steps?size=5000"
    first = client.get(page, headers=AUTH)
    assert len(first.get_json()["results"]) == 5000
    assert len(state.cache) == 0
    assert client.get(page, headers=AUTH).data == first.data


# -- query problems: the neutral wording (the app's fallback for vendors without query_errors) --

PROBLEMS = [
    QueryProblem("query", "bogus", "unknown"),
    QueryProblem("query", "page", "required"),
    QueryProblem("query", "size", "type", "integer", "abc"),
    QueryProblem("query", "statuses", "enum", ("running", "failed"), "nope", 1),
    QueryProblem("query", "kind", "enum", None, "x"),
    QueryProblem("query", "size", "minimum", 1, "0"),
    QueryProblem("query", "size", "maximum", 100, "101"),
    QueryProblem("params", "id", "minLength", 1, ""),
    QueryProblem("params", "id", "maxLength", 255, "x" * 256),
    QueryProblem("query", "stepId", "pattern", "^[a-z]+$", "A1"),
    QueryProblem("query", "statuses", "minItems", 1, 0),
    QueryProblem("query", "statuses", "maxItems", 10, 11),
    QueryProblem("headers", "elastic-api-version", "somethingNew", None, "?"),
]


@pytest.mark.parametrize("problem", PROBLEMS, ids=[p.kind for p in PROBLEMS])
def test_every_query_problem_describes_itself(problem: QueryProblem) -> None:
    text = problem.describe()
    assert text.startswith(f"{problem.location} parameter {problem.name!r}")
    if problem.kind in ("enum", "minimum", "maximum", "type", "pattern"):
        assert repr(problem.found) in text  # the offending value is shown
    if problem.kind == "somethingNew":
        assert text.endswith("is invalid")


def test_enum_problems_list_the_allowed_values() -> None:
    problem = QueryProblem("query", "status", "enum", ("DRAFT", "PUBLISHED"), "x", 2)
    assert problem.describe() == (
        "query parameter 'status' item 2 must be one of ['DRAFT', 'PUBLISHED'], got 'x'"
    )


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("bogus=1", "query parameter 'bogus' is not a documented parameter"),
        ("limit=0", "query parameter 'limit' must be >= 1, got '0'"),
        ("limit=abc", "query parameter 'limit' must be of type number, got 'abc'"),
        (
            "status=nope",
            "query parameter 'status' must be one of ['DRAFT', 'PUBLISHED'], got 'nope'",
        ),
    ],
)
def test_a_vendor_without_query_errors_gets_the_neutral_wording(
    tmp_path: Path, query: str, message: str
) -> None:
    vendor = replace(TRIGIFY, query_errors=None, reject_unknown_query=True)
    app = create_app({"state_path": str(tmp_path / "state.sqlite3")}, vendors=[vendor])
    app.testing = True
    response = app.test_client().get(f"/v1/workflows?{query}", headers={"x-api-key": "k"})
    assert response.status_code == 400
    assert response.get_json()["error"]["message"] == message


# -- operation matching: literal segments win, and a route is only its own operation ----------

DOCUMENTED_IDS: dict[str, dict[str, str]] = {
    "kibana": {
        "workflowId": DOCUMENTED_WORKFLOW_ID,
        "id": DOCUMENTED_WORKFLOW_ID,
        "executionId": DOCUMENTED_EXECUTION_ID,
        "stepExecutionId": "step-exec-001",
        "space_id": "default",
    },
    "arcee": {"workflow_id": ARCEE_WORKFLOW_ID, "run_id": ARCEE_RUN_ID},
    "trigify": {"id": TRIGIFY_WORKFLOW_ID, "runId": TRIGIFY_RUN_ID},
}
OPERATIONS = [
    pytest.param(api, operation, id=f"{api}-{operation.operation_id}")
    for api in _specs.APIS
    for operation in _specs.operations(api)
]


def concrete(api: str, template: str) -> str:
    """``template`` with the documented example ids filled in."""
    for name, value in DOCUMENTED_IDS[api].items():
        template = template.replace("{" + name + "}", value)
    return template


@pytest.mark.parametrize(("api", "operation"), OPERATIONS)
def test_every_documented_path_matches_its_own_operation(api: str, operation: Operation) -> None:
    index = api_index(api)
    path = concrete(api, operation.path)
    for route in (None, operation.path):
        found = index.match(operation.method, path, route=route)
        assert found is not None, path
        assert found[0].operation_id == operation.operation_id


def test_a_literal_route_is_not_the_templated_operation_beside_it() -> None:
    index = api_index("trigify")
    assert index.match("GET", "/v1/workflows/actions", route="/v1/workflows/actions") is None
    mounted = "/gateway/v1/workflows/actions"  # a mount point in front changes nothing
    assert index.match("GET", "/v1/workflows/actions", route=mounted) is None
    found = index.match("GET", "/v1/workflows/wf_1", route="/v1/workflows/<workflow_id>")
    assert found is not None
    assert (found[0].operation_id, found[1]) == ("getWorkflow", {"id": "wf_1"})


def test_literal_segments_sort_before_templates() -> None:
    paths = ["/v1/workflows/{id}", "/a/{x}/c", "/v1/workflows/actions", "/a/b/{y}"]
    ordered = sorted(paths, key=_specificity)
    assert ordered.index("/v1/workflows/actions") < ordered.index("/v1/workflows/{id}")
    assert ordered.index("/a/b/{y}") < ordered.index("/a/{x}/c")


@pytest.mark.parametrize(("api", "operation"), OPERATIONS)
def test_validated_answers_are_checked_against_their_own_operation(
    app_factory: AppFactory, api: str, operation: Operation
) -> None:
    client = app_factory(validate_responses=True).test_client()
    headers = {**PROFILES[api].credential("key"), "kbn-xsrf": "true"}
    body = _valid_body(operation)
    response = client.open(
        concrete(api, operation.path), method=operation.method.upper(), headers=headers, json=body
    )
    assert response.status_code < 500, response.get_data(as_text=True)
    key = operation.response_key(response.status_code)
    expected = operation.responses.get(key) if key else None
    assert response.headers.get("X-Stepspec-Validated") == expected
    if operation.method == "get":
        assert response.status_code == 200, response.get_data(as_text=True)


def test_the_undocumented_trigify_catalogue_is_served_not_self_checked(
    app_factory: AppFactory,
) -> None:
    client = app_factory(validate_responses=True).test_client()
    response = client.get("/v1/workflows/actions", headers={"x-api-key": "key"})
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.get_json()["success"] is True
    assert "X-Stepspec-Validated" not in response.headers  # no documented operation is its own


def _valid_body(operation: Operation) -> Any:
    """The first valid fixture of the operation's request schema (``{}`` for a bare POST)."""
    if operation.request_schema_id is None:
        return {} if operation.method == "post" else None
    api, name = _specs.split_schema_id(operation.request_schema_id)
    folder = resources.files("conformance.fixtures") / api / name / "valid"
    first = min((e for e in folder.iterdir() if e.name.endswith(".json")), key=lambda e: e.name)
    return json.loads(first.read_text(encoding="utf-8"))
