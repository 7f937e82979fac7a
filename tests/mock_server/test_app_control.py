"""App-wide behaviour: CORS, Prefer, faults, response validation, unknown paths, the cache.

Shown through Kibana routes (the app code is vendor-neutral; the other vendors' suites cover
their envelopes).
"""

from __future__ import annotations

import time

from flask import Flask
from flask.testing import FlaskClient

from mock_server._app import MockState
from mock_server._http import json_response
from mock_server.kibana import DOCUMENTED_EXECUTION_ID
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
