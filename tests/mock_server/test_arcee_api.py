"""The Arcee endpoints over HTTP (in-process): schemas, coherence, auth, errors, live runs.

Every operation answers 200 with a body that validates strictly, for several seeds; the same run
agrees across history, single run and steps; pages cover the history exactly; two apps with one
seed answer the same bytes; and the protocol (Bearer auth, FastAPI-style errors) is the
vendor's.
"""

from __future__ import annotations

import json
from functools import partial
from importlib import resources
from typing import Any

import pytest
from flask.testing import FlaskClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conformance._validation import validator
from mock_server._context import WORLD_NOW_US
from mock_server._timeline import parse_iso
from mock_server.arcee import DOCUMENTED_RUN_ID, DOCUMENTED_WORKFLOW_ID
from tests.conftest import TestClock
from tests.conftest import make_app as shared_make_app

BASE = "/api/v1/workflow"
AUTH = {"Authorization": "Bearer test-key"}
SEEDS = [0, 1, 7, 42, 2**40 + 3]


make_app = partial(shared_make_app, workflows_per_api=6, runs_per_workflow=12)


@pytest.fixture(scope="module")
def client() -> FlaskClient:
    return make_app(3).test_client()


def get(client: FlaskClient, path: str, headers: dict[str, str] = AUTH) -> Any:
    response = client.get(BASE + path, headers=headers)
    assert response.status_code == 200, response.get_data(as_text=True)
    return response.get_json()


def assert_valid(schema: str, body: Any) -> None:
    assert validator(f"urn:stepspec:arcee:{schema}").violations(body) == []


def workflow_ids(client: FlaskClient) -> list[str]:
    return [workflow["workflow_id"] for workflow in get(client, "/workflows")]


# -- every operation, many seeds ---------------------------------------------------------------


@pytest.mark.parametrize("seed", SEEDS)
def test_every_operation_answers_valid_payloads(seed: int) -> None:
    client = make_app(seed).test_client()
    workflows = get(client, "/workflows")
    assert_valid("workflow-list", workflows)
    statuses = set()
    for workflow in workflows:
        workflow_id = workflow["workflow_id"]
        history = get(client, f"/workflows/{workflow_id}/runs")
        assert_valid("run-list", history)
        for item in history[:4]:
            detail = get(client, f"/workflows/{workflow_id}/runs/{item['id']}")
            assert_valid("run-detail", detail)
            steps = get(client, f"/workflows/{workflow_id}/runs/{item['id']}/steps")
            assert_valid("step-list", steps)
            statuses.add(detail[0]["status"])
    assert statuses == {"completed", "failed", "running"}
    started = client.post(f"{BASE}/workflows/{workflows[1]['workflow_id']}/execute",
                          json={"prompt": "hello"}, headers=AUTH)  # fmt: skip
    assert started.status_code == 200
    assert_valid("execute-response", started.get_json())


def test_the_same_run_agrees_across_endpoints(client: FlaskClient) -> None:
    for workflow_id in workflow_ids(client):
        workflow = next(w for w in get(client, "/workflows") if w["workflow_id"] == workflow_id)
        selected = workflow["graph"]["selectedOutput"]
        for item in get(client, f"/workflows/{workflow_id}/runs")[:5]:
            detail = get(client, f"/workflows/{workflow_id}/runs/{item['id']}")[0]
            assert {k: v for k, v in item.items() if k != "outputs"} == {
                k: v for k, v in detail.items() if k != "outputs"
            }
            if detail["status"] == "completed":
                final = detail["outputs"].get(selected, list(detail["outputs"].values())[-1])
                assert item["outputs"] == (
                    final if isinstance(final, str) else json.dumps(final, separators=(",", ":"))
                )
                assert detail["outputs"] == detail["all_outputs"]
            else:
                assert item["outputs"] == detail["outputs"]
            steps = get(client, f"/workflows/{workflow_id}/runs/{item['id']}/steps")
            assert {step["inputs"]["run_id"] for step in steps} == {item["id"]}
            assert parse_iso(steps[0]["start_time"]) >= parse_iso(detail["start_time"])


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(limit=st.integers(1, 15), index=st.integers(0, 5))
def test_history_pages_cover_every_run_once(client: FlaskClient, limit: int, index: int) -> None:
    workflow_id = workflow_ids(client)[1 + index]
    everything = get(client, f"/workflows/{workflow_id}/runs")
    assert len(everything) == 12
    paged: list[Any] = []
    offset = 0
    while page := get(client, f"/workflows/{workflow_id}/runs?limit={limit}&offset={offset}"):
        assert len(page) <= limit
        paged += page
        offset += limit
    assert paged == everything
    assert len({run["id"] for run in paged}) == len(paged)
    starts = [parse_iso(run["start_time"]) for run in paged]
    assert starts == sorted(starts, reverse=True)


def test_history_defaults_to_100_newest_first() -> None:
    client = make_app(1, runs_per_workflow=130).test_client()
    workflow_id = workflow_ids(client)[1]
    assert len(get(client, f"/workflows/{workflow_id}/runs")) == 100
    assert len(get(client, f"/workflows/{workflow_id}/runs?offset=120")) == 10
    assert get(client, f"/workflows/{workflow_id}/runs?offset=500") == []


def test_two_apps_with_one_seed_serve_identical_bytes() -> None:
    first, second, other = (make_app(s).test_client() for s in (11, 11, 12))
    workflow_id = workflow_ids(first)[2]
    run_id = get(first, f"/workflows/{workflow_id}/runs")[0]["id"]
    for path in (
        "/workflows",
        f"/workflows/{workflow_id}/runs",
        f"/workflows/{workflow_id}/runs/{run_id}",
        f"/workflows/{workflow_id}/runs/{run_id}/steps",
    ):
        body = first.get(BASE + path, headers=AUTH).data
        assert body == second.get(BASE + path, headers=AUTH).data
    assert (
        first.get(BASE + "/workflows", headers=AUTH).data
        != other.get(BASE + "/workflows", headers=AUTH).data
    )


# -- the docs' example ------------------------------------------------------------------------


def test_the_documented_run_is_served_verbatim(client: FlaskClient) -> None:
    fixture = resources.files("conformance.fixtures").joinpath(
        "arcee", "step-list", "valid", "seed-model-then-slack.json"
    )
    path = f"{BASE}/workflows/{DOCUMENTED_WORKFLOW_ID}/runs/{DOCUMENTED_RUN_ID}/steps"
    assert client.get(path, headers=AUTH).data == fixture.read_bytes()
    steps = client.get(path, headers=AUTH).get_json()
    history = get(client, f"/workflows/{DOCUMENTED_WORKFLOW_ID}/runs")
    assert [run["id"] for run in history] == [DOCUMENTED_RUN_ID]
    run = history[0]
    assert run["start_time"] == steps[0]["start_time"]
    assert run["end_time"] == steps[-1]["end_time"]
    assert run["elapsed_time"] == 4
    assert run["outputs"] == steps[0]["outputs"]["choices"][0]["message"]["content"]
    assert_valid("run-list", history)
    assert workflow_ids(client)[0] == DOCUMENTED_WORKFLOW_ID


# -- live runs ----------------------------------------------------------------------------------


def test_an_executed_run_progresses_with_the_clock() -> None:
    clock = TestClock(WORLD_NOW_US + 60_000_000)
    client = make_app(4, clock=clock).test_client()
    workflow_id = workflow_ids(client)[2]  # a single model node
    started = client.post(f"{BASE}/workflows/{workflow_id}/execute", json={"query": "Hello"},
                          headers=AUTH)  # fmt: skip
    run_id = started.get_json()["run_id"]
    assert started.get_json()["message"] == "Workflow execution started"
    first = get(client, f"/workflows/{workflow_id}/runs/{run_id}")[0]
    assert first["status"] == "running"
    assert first["inputs"] == {"query": "Hello"}
    assert get(client, f"/workflows/{workflow_id}/runs")[0]["id"] == run_id
    steps = get(client, f"/workflows/{workflow_id}/runs/{run_id}/steps")
    assert [step["status"] for step in steps] == ["running"]
    assert steps[0]["inputs"]["messages"][-1]["content"] == "Hello"
    clock.now_us += 120_000_000
    done = get(client, f"/workflows/{workflow_id}/runs/{run_id}")[0]
    assert done["status"] == "completed"
    assert (
        done["elapsed_time"]
        == (parse_iso(done["end_time"]) - parse_iso(done["start_time"])) // 10**6
    )
    assert [s["status"] for s in get(client, f"/workflows/{workflow_id}/runs/{run_id}/steps")] == [
        "completed"
    ]
    assert_valid("run-detail", [done])


def test_a_live_run_belongs_to_its_workflow() -> None:
    client = make_app(5).test_client()  # its own app: live runs join the history
    first, second = workflow_ids(client)[1:3]
    run_id = client.post(f"{BASE}/workflows/{first}/execute", json={}, headers=AUTH).get_json()[
        "run_id"
    ]
    assert client.get(f"{BASE}/workflows/{second}/runs/{run_id}", headers=AUTH).status_code == 404


@pytest.mark.parametrize("body", [b"[1, 2]", b"not json", b'"text"', b""])
def test_execute_needs_a_json_object(client: FlaskClient, body: bytes) -> None:
    workflow_id = workflow_ids(client)[1]
    response = client.post(f"{BASE}/workflows/{workflow_id}/execute", data=body, headers=AUTH,
                           content_type="application/json")  # fmt: skip
    assert response.status_code == 400
    assert_valid("error", response.get_json())


# -- protocol -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "headers",
    [{}, {"Authorization": "Basic dXNlcjpwYXNz"}, {"Authorization": "Bearer"},
     {"Authorization": "Bearer  "}],
)  # fmt: skip
def test_missing_or_malformed_credentials_are_401(
    client: FlaskClient, headers: dict[str, str]
) -> None:
    response = client.get(f"{BASE}/workflows", headers=headers)
    assert response.status_code == 401
    assert response.get_json() == {"detail": "Not authenticated"}
    assert response.headers["WWW-Authenticate"] == "Bearer"


def test_the_documented_authentication_header_is_accepted(client: FlaskClient) -> None:
    response = client.get(f"{BASE}/workflows", headers={"Authentication": "Bearer k"})
    assert response.status_code == 200
    # ... and its answer is never replayed to a request without credentials.
    assert client.get(f"{BASE}/workflows").status_code == 401


def test_api_keys_limit_accepted_keys() -> None:
    client = make_app(0, api_keys="right").test_client()
    wrong = client.get(f"{BASE}/workflows", headers={"Authorization": "Bearer wrong"})
    assert wrong.status_code == 401
    assert_valid("error", wrong.get_json())
    assert (
        client.get(f"{BASE}/workflows", headers={"Authorization": "Bearer right"}).status_code
        == 200
    )


def test_unknown_ids_are_404(client: FlaskClient) -> None:
    first, second = workflow_ids(client)[1:3]
    run_id = get(client, f"/workflows/{first}/runs")[0]["id"]
    for path in (
        "/workflows/not-a-workflow/runs",
        "/workflows/00000000-0000-4000-8000-000000000000/runs",
        f"/workflows/{first}/runs/{run_id[:-1]}0",
        f"/workflows/{second}/runs/{run_id}",
        f"/workflows/{second}/runs/{run_id}/steps",
        f"/workflows/{DOCUMENTED_WORKFLOW_ID}/runs/{run_id}",
    ):
        response = client.get(BASE + path, headers=AUTH)
        assert response.status_code == 404, path
        assert "detail" in response.get_json()
        assert_valid("error", response.get_json())


@pytest.mark.parametrize("query", ["limit=0", "limit=abc", "offset=-1", "limit=1.5"])
def test_bad_query_values_are_400(client: FlaskClient, query: str) -> None:
    workflow_id = workflow_ids(client)[1]
    response = client.get(f"{BASE}/workflows/{workflow_id}/runs?{query}", headers=AUTH)
    assert response.status_code == 400
    body = response.get_json()
    assert body["detail"][0]["loc"][0] == "query"
    assert_valid("error", body)


def test_huge_paging_values_are_not_errors(client: FlaskClient) -> None:
    workflow_id = workflow_ids(client)[1]
    assert get(client, f"/workflows/{workflow_id}/runs?offset={10**30}") == []
    assert len(get(client, f"/workflows/{workflow_id}/runs?limit={10**30}")) == 12


def test_negative_offset_and_limit_together_are_a_fastapi_400_not_a_500() -> None:
    app = make_app(0)
    app.testing = False  # a bug would be the vendor's 500, as from `stepspec mock`
    client = app.test_client()
    workflow_id = workflow_ids(client)[1]
    response = client.get(
        f"{BASE}/workflows/{workflow_id}/runs?offset=-199&limit=-1373", headers=AUTH
    )
    assert response.status_code == 400  # the docs list 400 (FastAPI itself would say 422)
    body = response.get_json()
    assert [(item["loc"], item["type"]) for item in body["detail"]] == [
        (["query", "limit"], "greater_than_equal"),
        (["query", "offset"], "greater_than_equal"),
    ]
    assert_valid("error", body)
