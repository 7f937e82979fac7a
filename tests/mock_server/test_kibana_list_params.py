"""The Kibana list parameters the mock documents are honoured, as Kibana's routes read them.

``GET /api/workflows`` has no ``size`` cap, filters by ``enabled``/``createdBy``/``tags``/
``managed`` and sorts by ``sortField``/``sortOrder``; the executions list takes the 9.5 date
bounds, ``concurrencyGroupKey``, ``collapse``, ``sortField``/``sortOrder``; the step list takes
``startedAfter``/``startedBefore``; ``page`` and ``size`` are numbers (``schema.number``);
``omitStepExecutions`` empties the embedded steps; the steps of an execution default to 5000 per
page.
"""

from __future__ import annotations

from typing import Any

import pytest
from flask.testing import FlaskClient

from conformance._validation import validator
from mock_server._stamp import iso_millis
from mock_server._timeline import parse_iso
from mock_server.kibana._list_query import BadQuery, ExecutionSearch, date_bound, window
from tests.conftest import AppFactory

AUTH = {"Authorization": "ApiKey dGVzdDprZXk="}
NOW = parse_iso("2026-03-02T09:17:23.456Z")


@pytest.fixture
def client(app_factory: AppFactory) -> FlaskClient:
    return app_factory(workflows_per_api=8, runs_per_workflow=12).test_client()


def get(client: FlaskClient, path: str, schema: str) -> Any:
    response = client.get(path, headers=AUTH)
    assert response.status_code == 200, response.get_data(as_text=True)
    body = response.get_json()
    assert validator(f"urn:stepspec:kibana:{schema}").violations(body) == []
    return body


def busiest_workflow(client: FlaskClient) -> str:
    """A seeded workflow with runs of several statuses."""
    for item in get(client, "/api/workflows", "workflow-list")["results"]:
        runs = get(client, f"/api/workflows/workflow/{item['id']}/executions", "execution-list")
        if len({run["status"] for run in runs["results"]}) >= 2 and runs["total"] >= 6:
            return str(item["id"])
    raise AssertionError("no seeded workflow with runs of several statuses")


# --- date math -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "round_up", "expected"),
    [
        ("now", False, "2026-03-02T09:17:23.456Z"),
        ("now-1d", False, "2026-03-01T09:17:23.456Z"),
        ("now-1M+2h", False, "2026-02-02T11:17:23.456Z"),
        ("now/d", False, "2026-03-02T00:00:00.000Z"),
        ("now/d", True, "2026-03-02T23:59:59.999Z"),
        ("2025-11-20", False, "2025-11-20T00:00:00.000Z"),
        ("2025-01-31||+1M", False, "2025-02-28T00:00:00.000Z"),
        ("2025-11-20T12:00:00+01:00", False, "2025-11-20T11:00:00.000Z"),
        ("1763640000000", False, "2025-11-20T12:00:00.000Z"),
        ("2025", False, "2025-01-01T00:00:00.000Z"),
    ],
)
def test_date_bounds_read_elasticsearch_date_math(text: str, round_up: bool, expected: str) -> None:
    assert date_bound(text, NOW, round_up=round_up) == parse_iso(expected)


@pytest.mark.parametrize("text", ["yesterday", "now-1x", "2025-02-30", "now+", "2025-11-20||1d"])
def test_unparseable_date_bounds_are_elasticsearch_parse_errors(text: str) -> None:
    with pytest.raises(BadQuery, match=r"failed to parse date field \["):
        date_bound(text, NOW)


def test_fractional_pages_truncate_like_elasticsearch() -> None:
    assert window(1, 100) == (0, 100)
    assert window(2, 1.5) == (1, 2)
    assert window(1.5, 10) == (5, 15)
    assert window(1e308, 1e308)[0] > 10**18


# --- GET /api/workflows ---------------------------------------------------------------------


def test_workflow_list_size_has_no_cap_and_is_a_number(client: FlaskClient) -> None:
    everything = get(client, "/api/workflows?size=500", "workflow-list")
    assert everything["size"] == 500
    assert len(everything["results"]) == everything["total"] > 1
    fractional = get(client, "/api/workflows?size=1.5&page=2", "workflow-list")
    assert (fractional["page"], fractional["size"]) == (2, 1.5)
    assert [w["id"] for w in fractional["results"]] == [everything["results"][1]["id"]]


def test_workflow_list_filters_by_enabled_created_by_and_tags(client: FlaskClient) -> None:
    every = get(client, "/api/workflows?size=500", "workflow-list")["results"]
    for flag in ("true", "false"):
        picked = get(client, f"/api/workflows?size=500&enabled={flag}", "workflow-list")
        expected = [w["id"] for w in every if w["enabled"] is (flag == "true")]
        assert [w["id"] for w in picked["results"]] == expected
        assert picked["total"] == len(expected)
    both = get(client, "/api/workflows?size=500&enabled=true&enabled=false", "workflow-list")
    assert both["total"] == len(every)
    creator = every[-1]["createdBy"]
    by_creator = get(client, f"/api/workflows?size=500&createdBy={creator}", "workflow-list")
    assert by_creator["results"]
    assert [w["id"] for w in by_creator["results"]] == [
        w["id"] for w in every if w["createdBy"] == creator
    ]
    tagged = next(w for w in every if w.get("tags"))
    tag = tagged["tags"][0]
    by_tag = get(client, f"/api/workflows?size=500&tags={tag}&tags=no-such-tag", "workflow-list")
    assert tagged["id"] in [w["id"] for w in by_tag["results"]]
    assert all(tag in w["tags"] for w in by_tag["results"])
    none = get(client, "/api/workflows?createdBy=nobody-at-all", "workflow-list")
    assert (none["total"], none["results"]) == (0, [])


# --- GET .../workflow/{id}/executions ---------------------------------------------------------


def test_workflow_list_managed_filter_defaults_to_unmanaged(client: FlaskClient) -> None:
    every = get(client, "/api/workflows?size=500", "workflow-list")
    assert every["total"] >= 2
    assert not any(w.get("managed") is True for w in every["results"])
    for value in ("unmanaged", "all"):
        same = get(client, f"/api/workflows?size=500&managed={value}", "workflow-list")
        assert [w["id"] for w in same["results"]] == [w["id"] for w in every["results"]]
    only = get(client, "/api/workflows?managed=managed", "workflow-list")
    assert (only["total"], only["results"]) == (0, [])
    context = "/api/workflows?size=500&managed=all&visibilityContext=selector:rule_action"
    assert get(client, context, "workflow-list")["total"] == every["total"]


def test_workflow_list_sorts_by_name_and_enabled(client: FlaskClient) -> None:
    every = get(client, "/api/workflows?size=500", "workflow-list")["results"]
    names = [w["name"] for w in every]
    assert names != sorted(names)  # the default order is not by name, so the sort shows
    up = get(client, "/api/workflows?size=500&sortField=name", "workflow-list")["results"]
    assert [w["name"] for w in up] == sorted(names)
    down = "/api/workflows?size=500&sortField=name&sortOrder=desc"
    assert [w["name"] for w in get(client, down, "workflow-list")["results"]] == sorted(
        names, reverse=True
    )
    by_enabled = "/api/workflows?size=500&sortField=enabled&sortOrder=desc"
    flags = [w["enabled"] for w in get(client, by_enabled, "workflow-list")["results"]]
    assert flags == sorted(flags, reverse=True)
    assert [
        w["name"]
        for w in get(client, "/api/workflows?size=500&sortOrder=desc", "workflow-list")["results"]
    ] == names  # a direction without a field changes nothing


@pytest.mark.parametrize(
    "query", ["managed=yes", "visibilityContext=anywhere", "sortField=createdAt", "sortOrder=up"]
)
def test_workflow_list_new_parameters_refuse_other_values(client: FlaskClient, query: str) -> None:
    response = client.get(f"/api/workflows?{query}", headers=AUTH)
    assert response.status_code == 400
    body = response.get_json()
    assert body["statusCode"] == 400
    assert query.split("=")[0] in body["message"]
    assert validator("urn:stepspec:kibana:error").violations(body) == []


def test_execution_date_bounds_are_inclusive(client: FlaskClient) -> None:
    wid = busiest_workflow(client)
    base = f"/api/workflows/workflow/{wid}/executions?size=100"
    runs = get(client, base, "execution-list")["results"]
    started = sorted(r["startedAt"] for r in runs if "startedAt" in r)
    low, high = started[1], started[-2]
    picked = get(client, f"{base}&startedAfter={low}&startedBefore={high}", "execution-list")
    assert sorted(r["startedAt"] for r in picked["results"]) == started[1:-1]
    assert picked["total"] == len(started) - 2
    finished = sorted(r["finishedAt"] for r in runs if r.get("finishedAt"))
    early = get(client, f"{base}&finishedBefore={finished[0]}", "execution-list")
    assert [r["finishedAt"] for r in early["results"]] == [finished[0]]
    day = get(client, f"{base}&startedAfter={started[0][:10]}&startedBefore=now", "execution-list")
    assert day["total"] == len(started)


def test_execution_sort_and_collapse(client: FlaskClient) -> None:
    wid = busiest_workflow(client)
    base = f"/api/workflows/workflow/{wid}/executions?size=100"
    newest_first = get(client, base, "execution-list")["results"]
    oldest_first = get(client, f"{base}&sortOrder=asc", "execution-list")["results"]
    assert [r["id"] for r in oldest_first] == [r["id"] for r in reversed(newest_first)]
    by_finish = get(client, f"{base}&sortField=finishedAt&sortOrder=asc", "execution-list")
    stamps = [r.get("finishedAt") for r in by_finish["results"]]
    present = [s for s in stamps if s]
    assert present == sorted(present)
    assert stamps[: len(present)] == present  # runs without finishedAt come last
    collapsed = get(client, f"{base}&collapse=status", "execution-list")
    statuses = [r["status"] for r in collapsed["results"]]
    assert len(statuses) == len(set(statuses)) == len({r["status"] for r in newest_first})
    assert collapsed["total"] == len(newest_first)  # total counts every match
    firsts: dict[str, str] = {}
    for run in newest_first:
        firsts.setdefault(run["status"], run["id"])
    assert [r["id"] for r in collapsed["results"]] == list(firsts.values())


def test_concurrency_group_key_matches_only_runs_that_carry_it(client: FlaskClient) -> None:
    search = ExecutionSearch.read({"concurrencyGroupKey": "tenant-a"}, NOW)
    assert search is not None
    assert search.admits({"id": "a", "concurrencyGroupKey": "tenant-a"})
    assert not search.admits({"id": "b", "concurrencyGroupKey": "tenant-b"})
    assert not search.admits({"id": "c"})
    wid = busiest_workflow(client)
    path = f"/api/workflows/workflow/{wid}/executions?concurrencyGroupKey=tenant-a"
    body = get(client, path, "execution-list")  # seeded runs carry no concurrency group
    assert (body["total"], body["results"]) == (0, [])


@pytest.mark.parametrize("name", ["startedAfter", "finishedBefore"])
def test_an_unparseable_date_bound_is_kibanas_400(client: FlaskClient, name: str) -> None:
    wid = busiest_workflow(client)
    response = client.get(
        f"/api/workflows/workflow/{wid}/executions?{name}=last-tuesday", headers=AUTH
    )
    assert response.status_code == 400
    assert response.get_json() == {
        "statusCode": 400,
        "error": "Bad Request",
        "message": "failed to parse date field [last-tuesday] with format "
        "[strict_date_optional_time||epoch_millis]",
    }


# --- GET .../workflow/{id}/executions/steps ---------------------------------------------------


def test_step_date_bounds_are_inclusive(client: FlaskClient) -> None:
    wid = busiest_workflow(client)
    base = f"/api/workflows/workflow/{wid}/executions/steps?size=100"
    steps = get(client, base, "workflow-step-execution-list")["results"]
    started = sorted({s["startedAt"] for s in steps if "startedAt" in s})
    low, high = started[1], started[-2]
    picked = get(
        client, f"{base}&startedAfter={low}&startedBefore={high}", "workflow-step-execution-list"
    )
    assert {s["startedAt"] for s in picked["results"]} == set(started[1:-1])
    later = iso_millis(parse_iso(started[-1]) + 1000)
    empty = get(client, f"{base}&startedAfter={later}", "workflow-step-execution-list")
    assert (empty["total"], empty["results"]) == (0, [])
    bad = client.get(
        f"/api/workflows/workflow/{wid}/executions/steps?startedBefore=soon", headers=AUTH
    )
    assert bad.status_code == 400


# --- one execution ---------------------------------------------------------------------------


def test_omit_step_executions_and_the_5000_default(client: FlaskClient) -> None:
    wid = busiest_workflow(client)
    run = get(client, f"/api/workflows/workflow/{wid}/executions", "execution-list")["results"][0]
    full = get(client, f"/api/workflows/executions/{run['id']}", "execution")
    assert full["stepExecutions"]
    omitted = get(
        client, f"/api/workflows/executions/{run['id']}?omitStepExecutions=true", "execution"
    )
    assert omitted["stepExecutions"] == []
    assert "stepExecutionsTruncatedCount" not in omitted
    assert {k: v for k, v in omitted.items() if k != "stepExecutions"} == {
        k: v for k, v in full.items() if k != "stepExecutions"
    }
    steps = get(client, f"/api/workflows/executions/{run['id']}/steps", "step-execution-list")
    assert steps["size"] == 5000
