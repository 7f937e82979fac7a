"""The Trigify endpoints over HTTP (in-process): schemas, coherence, pagination, auth, errors,
rate limits.
"""

from __future__ import annotations

import multiprocessing
from functools import partial
from importlib import resources
from typing import Any

import pytest
from flask.testing import FlaskClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conformance._validation import validator
from mock_server._context import WORLD_NOW_US
from mock_server.trigify import DOCUMENTED_RUN_ID, DOCUMENTED_WORKFLOW_ID
from mock_server.trigify._ratelimit import SqliteCounter
from tests.conftest import TestClock
from tests.conftest import make_app as shared_make_app

KEY = {"x-api-key": "test-key"}
SEEDS = [0, 1, 7, 42, 2**40 + 3]
RATE_HEADERS = ("RateLimit-Limit", "RateLimit-Remaining", "RateLimit-Reset")


make_app = partial(shared_make_app, workflows_per_api=8, runs_per_workflow=30)


@pytest.fixture(scope="module")
def client() -> FlaskClient:
    return make_app(3).test_client()


def get(client: FlaskClient, path: str, headers: dict[str, str] = KEY) -> Any:
    response = client.get(path, headers=headers)
    assert response.status_code == 200, response.get_data(as_text=True)
    assert all(name in response.headers for name in RATE_HEADERS)
    return response.get_json()


def assert_valid(schema: str, body: Any) -> None:
    assert validator(f"urn:stepspec:trigify:{schema}").violations(body) == []


def workflows(client: FlaskClient, status: str | None = None) -> list[dict[str, Any]]:
    query = f"&status={status}" if status else ""
    return list(get(client, f"/v1/workflows?limit=100{query}")["data"]["items"])


def generated(client: FlaskClient) -> list[str]:
    """Ids of the world's published workflows (not the documented one)."""
    return [w["id"] for w in workflows(client, "PUBLISHED") if w["id"] != DOCUMENTED_WORKFLOW_ID]


# -- every operation, many seeds ----------------------------------------------------------------


@pytest.mark.parametrize("seed", SEEDS)
def test_every_operation_answers_valid_payloads(seed: int) -> None:
    client = make_app(seed).test_client()
    listing = get(client, "/v1/workflows")
    assert_valid("workflow-list-response", listing)
    statuses = set()
    for workflow in workflows(client):
        single = get(client, f"/v1/workflows/{workflow['id']}")
        assert_valid("workflow-response", single)
        assert single["data"] == workflow
        executions = get(client, f"/v1/workflows/{workflow['id']}/executions?page_size=5")
        assert_valid("execution-list-response", executions)
        for item in executions["data"]["executions"]:
            detail = get(client, f"/v1/workflows/{workflow['id']}/executions/{item['run_id']}")
            assert_valid("execution-response", detail)
            statuses.add(detail["data"]["status"])
    assert statuses == {"running", "completed", "failed"}


def test_a_list_item_carries_its_detail_values(client: FlaskClient) -> None:
    for workflow_id in generated(client)[:3]:
        for item in get(client, f"/v1/workflows/{workflow_id}/executions")["data"]["executions"]:
            data = get(client, f"/v1/workflows/{workflow_id}/executions/{item['run_id']}")["data"]
            assert data["run_id"] == item["run_id"]
            assert data["workflow_id"] == workflow_id
            assert (data["status"], data["started_at"], data["error"]) == (
                item["status"], item["started_at"], item["error"],
            )  # fmt: skip
            assert (data["ended_at"], data["duration_ms"]) == (
                item["completed_at"], item["duration"],
            )  # fmt: skip


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(page_size=st.integers(1, 40))
def test_execution_pages_cover_every_run_once(client: FlaskClient, page_size: int) -> None:
    workflow_id = generated(client)[0]
    everything = get(client, f"/v1/workflows/{workflow_id}/executions?page_size=100")["data"]
    total = everything["pagination"]["total_count"]
    assert total == len(everything["executions"]) == 30
    seen: list[Any] = []
    page = 1
    while True:
        data = get(
            client, f"/v1/workflows/{workflow_id}/executions?page={page}&page_size={page_size}"
        )["data"]
        pagination = data["pagination"]
        assert pagination == {
            "page": page,
            "page_size": page_size,
            "total_count": total,
            "total_pages": -(-total // page_size),
        }
        if not data["executions"]:
            break
        seen += data["executions"]
        page += 1
    assert page == pagination["total_pages"] + 1
    assert seen == everything["executions"]
    assert len({item["run_id"] for item in seen}) == total


@settings(
    max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(limit=st.integers(1, 5), status=st.sampled_from([None, "DRAFT", "PUBLISHED"]))
def test_workflow_pages_cover_every_workflow_once(
    client: FlaskClient, limit: int, status: str | None
) -> None:
    everything = workflows(client, status)
    seen: list[Any] = []
    offset = 0
    while True:
        query = f"limit={limit}&offset={offset}" + (f"&status={status}" if status else "")
        data = get(client, f"/v1/workflows?{query}")["data"]
        assert data["total"] == len(everything)
        seen += data["items"]
        offset += limit
        assert data["has_more"] == (offset < len(everything))
        if not data["has_more"]:
            break
    assert seen == everything
    assert status is None or {w["status"] for w in seen} <= {status}


def test_defaults_are_documented_ones(client: FlaskClient) -> None:
    listing = get(client, "/v1/workflows")["data"]
    assert len(listing["items"]) == min(20, listing["total"])
    workflow_id = generated(client)[0]
    pagination = get(client, f"/v1/workflows/{workflow_id}/executions")["data"]["pagination"]
    assert (pagination["page"], pagination["page_size"]) == (1, 20)


def test_drafts_have_no_executions(client: FlaskClient) -> None:
    draft = workflows(client, "DRAFT")[0]
    assert draft["enabled"] is False
    data = get(client, f"/v1/workflows/{draft['id']}/executions")["data"]
    assert data == {
        "executions": [],
        "pagination": {"page": 1, "page_size": 20, "total_count": 0, "total_pages": 0},
    }


def test_two_apps_with_one_seed_serve_identical_bytes() -> None:
    first, second, other = (make_app(s).test_client() for s in (11, 11, 12))
    workflow_id = generated(first)[0]
    run_id = get(first, f"/v1/workflows/{workflow_id}/executions")["data"]["executions"][0][
        "run_id"
    ]
    for path in (
        "/v1/workflows",
        f"/v1/workflows/{workflow_id}",
        f"/v1/workflows/{workflow_id}/executions",
        f"/v1/workflows/{workflow_id}/executions/{run_id}",
    ):
        assert first.get(path, headers=KEY).data == second.get(path, headers=KEY).data
    assert (
        first.get("/v1/workflows", headers=KEY).data != other.get("/v1/workflows", headers=KEY).data
    )


# -- the docs' example and the action catalogue ----------------------------------------------


def test_the_documented_execution_is_served_verbatim(client: FlaskClient) -> None:
    root = resources.files("conformance.fixtures")
    fixture = root.joinpath(
        "trigify", "execution-response", "valid", "seed-completed-execution.json"
    )
    path = f"/v1/workflows/{DOCUMENTED_WORKFLOW_ID}/executions/{DOCUMENTED_RUN_ID}"
    assert client.get(path, headers=KEY).data == fixture.read_bytes()
    detail = get(client, path)["data"]
    items = get(client, f"/v1/workflows/{DOCUMENTED_WORKFLOW_ID}/executions")["data"]["executions"]
    assert items == [
        {"run_id": DOCUMENTED_RUN_ID, "status": "completed", "started_at": detail["started_at"],
         "completed_at": detail["ended_at"], "duration": detail["duration_ms"], "error": None}
    ]  # fmt: skip
    workflow = get(client, f"/v1/workflows/{DOCUMENTED_WORKFLOW_ID}")
    assert workflow["data"]["workflow"]["actions"][0]["id"] == "agent-1"
    assert workflows(client)[0]["id"] == DOCUMENTED_WORKFLOW_ID


def test_the_action_catalogue_wins_over_the_id_route(client: FlaskClient) -> None:
    body = get(client, "/v1/workflows/actions")
    kinds = {item["kind"] for item in body["data"]["items"]}
    assert {"generic_agent", "slack_send_channel_message"} <= kinds
    used = {a["kind"] for w in workflows(client) for a in w["workflow"]["actions"]}
    assert used <= kinds


# -- protocol ------------------------------------------------------------------------------------


def test_a_missing_key_is_auth_required(client: FlaskClient) -> None:
    response = client.get("/v1/workflows")
    assert response.status_code == 401
    assert response.get_json()["error"]["code"] == "AUTH_REQUIRED"
    assert_valid("error", response.get_json())
    assert all(name in response.headers for name in RATE_HEADERS)


def test_api_keys_limit_accepted_keys() -> None:
    client = make_app(0, api_keys="right").test_client()
    wrong = client.get("/v1/workflows", headers={"x-api-key": "wrong"})
    assert wrong.status_code == 401
    assert wrong.get_json()["error"]["code"] == "INVALID_API_KEY"
    assert_valid("error", wrong.get_json())
    assert client.get("/v1/workflows", headers={"x-api-key": "right"}).status_code == 200


def test_unknown_ids_are_404(client: FlaskClient) -> None:
    first, second = generated(client)[:2]
    run_id = get(client, f"/v1/workflows/{first}/executions")["data"]["executions"][0]["run_id"]
    for path in (
        "/v1/workflows/wf_nope",
        "/v1/workflows/wf_0000000000000/executions",
        f"/v1/workflows/{first}/executions/run_{run_id[4:-1]}0",
        f"/v1/workflows/{second}/executions/{run_id}",
        f"/v1/workflows/{DOCUMENTED_WORKFLOW_ID}/executions/{run_id}",
        "/v1/nothing-here",
    ):
        response = client.get(path, headers=KEY)
        assert response.status_code == 404, path
        assert response.get_json()["error"]["code"] == "NOT_FOUND"
        assert_valid("error", response.get_json())


@pytest.mark.parametrize(
    "path",
    ["/v1/workflows?limit=0", "/v1/workflows?limit=101", "/v1/workflows?offset=-1",
     "/v1/workflows?status=ARCHIVED", "/v1/workflows?limit=ten",
     "/executions?page=0", "/executions?page_size=101", "/executions?page_size=0",
     "/executions?page=x"],
)  # fmt: skip
def test_bad_query_values_are_400(client: FlaskClient, path: str) -> None:
    if path.startswith("/executions"):
        path = f"/v1/workflows/{generated(client)[0]}{path}"
    response = client.get(path, headers=KEY)
    assert response.status_code == 400
    assert response.get_json()["error"]["code"] == "VALIDATION_ERROR"
    assert_valid("error", response.get_json())


# -- rate limits ---------------------------------------------------------------------------------


def test_headers_count_down_without_enforcement() -> None:
    clock = TestClock(WORLD_NOW_US + 15_000_000)  # 15 s into a minute
    client = make_app(0, clock=clock).test_client()
    remaining = [int(client.get("/v1/workflows", headers=KEY).headers["RateLimit-Remaining"])
                 for _ in range(120)]  # fmt: skip
    assert remaining[:3] == [99, 98, 97]
    assert remaining[-1] == 0
    assert client.get("/v1/workflows", headers=KEY).headers["RateLimit-Reset"] == "45"


def test_the_limit_is_enforced_per_key_and_window(tmp_path: Any) -> None:
    clock = TestClock(WORLD_NOW_US + 50_000_000)
    state = str(tmp_path / "state.sqlite3")
    app = make_app(0, clock=clock, rate_limit=True, state_path=state)
    client = app.test_client()
    for expected in range(99, -1, -1):
        response = client.get("/v1/workflows", headers=KEY)
        assert response.status_code == 200
        assert response.headers["RateLimit-Remaining"] == str(expected)
    limited = client.get("/v1/workflows", headers=KEY)
    assert limited.status_code == 429
    assert limited.get_json()["error"]["code"] == "RATE_LIMITED"
    assert limited.get_json()["error"]["retryAfterSeconds"] == 10
    assert_valid("error", limited.get_json())
    assert (limited.headers["RateLimit-Remaining"], limited.headers["RateLimit-Reset"]) == (
        "0",
        "10",
    )
    assert limited.headers["Retry-After"] == "10"
    # Another key has its own budget; a second app on the same state file (another worker)
    # shares the window.
    assert client.get("/v1/workflows", headers={"x-api-key": "other"}).status_code == 200
    worker = make_app(0, clock=clock, rate_limit=True, state_path=state).test_client()
    assert worker.get("/v1/workflows", headers=KEY).status_code == 429
    clock.now_us += 10_000_000  # the next window
    assert client.get("/v1/workflows", headers=KEY).headers["RateLimit-Remaining"] == "99"


def _hammer(path: str, hits: int) -> None:
    counter = SqliteCounter(path)
    for _ in range(hits):
        counter.hit("key:shared", 7)


def test_the_shared_window_loses_no_hit_across_processes(tmp_path: Any) -> None:
    path = str(tmp_path / "limits.sqlite3")
    SqliteCounter(path)
    # fork, as gunicorn does; the counter must not hand an open connection to the children.
    context = multiprocessing.get_context("fork")
    workers = [context.Process(target=_hammer, args=(path, 50)) for _ in range(4)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(30)
        assert worker.exitcode == 0
    assert SqliteCounter(path).hit("key:shared", 7) == 201
