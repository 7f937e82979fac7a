"""CORS as a real browser enforces it: a page on one origin calls the mock on another.

The page (``pages/cross_origin.html``) is served from its own port of 127.0.0.1; the mock from
another. Each vendor's auth header is not CORS-safelisted, so Chromium must send a preflight and
get it approved before the request, then may only read what the answer's CORS headers allow. The
tests read what the page rendered, and what reached the server.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

import pytest
import requests

from mock_server.kibana import DOCUMENTED_EXECUTION_ID, DOCUMENTED_WORKFLOW_ID
from tests.frontend.conftest import MockServer, ServeMock

if TYPE_CHECKING:
    from playwright.sync_api import Page

pytestmark = pytest.mark.slow

AUTH: Mapping[str, Callable[[str], dict[str, str]]] = {
    "kibana": lambda key: {"Authorization": f"ApiKey {key}"},
    "arcee": lambda key: {"Authorization": f"Bearer {key}"},
    "trigify": lambda key: {"x-api-key": key},
}
STEP_KEYS = {"kibana": "stepId", "arcee": "node_id", "trigify": "step_id"}


@pytest.fixture(scope="module")
def mock(serve_mock: ServeMock) -> MockServer:
    """An open mock (any well-formed key)."""
    return serve_mock()


@pytest.fixture(scope="module")
def keyed_mock(serve_mock: ServeMock) -> MockServer:
    """A mock that accepts one key only."""
    return serve_mock(api_keys="frontend-key")


def step_paths(mock: MockServer) -> dict[str, str]:
    """For each vendor, the path of one completed run's step list."""
    arcee = {"Authorization": "Bearer probe"}
    workflow = requests.get(f"{mock.url}/api/v1/workflow/workflows", headers=arcee, timeout=10)
    arcee_workflow = workflow.json()[0]["workflow_id"]
    runs = requests.get(
        f"{mock.url}/api/v1/workflow/workflows/{arcee_workflow}/runs", headers=arcee, timeout=10
    ).json()
    arcee_run = next(run["id"] for run in runs if run["status"] == "completed")
    trigify = {"x-api-key": "probe"}
    items = requests.get(f"{mock.url}/v1/workflows", headers=trigify, timeout=10).json()
    trigify_workflow = items["data"]["items"][0]["id"]
    executions = requests.get(
        f"{mock.url}/v1/workflows/{trigify_workflow}/executions", headers=trigify, timeout=10
    ).json()["data"]["executions"]
    trigify_run = next(run["run_id"] for run in executions if run["status"] == "completed")
    return {
        "kibana": f"/api/workflows/executions/{DOCUMENTED_EXECUTION_ID}/steps",
        "arcee": f"/api/v1/workflow/workflows/{arcee_workflow}/runs/{arcee_run}/steps",
        "trigify": f"/v1/workflows/{trigify_workflow}/executions/{trigify_run}",
    }


def expected_steps(vendor: str, body: Any) -> list[str]:
    """``stepKey:status`` for each step, as the page renders them."""
    steps = {
        "kibana": lambda b: b["results"],
        "arcee": lambda b: b,
        "trigify": lambda b: b["data"]["steps"],
    }
    return [f"{step[STEP_KEYS[vendor]]}:{step['status']}" for step in steps[vendor](body)]


def open_page(page: Page, page_origin: str) -> None:
    page.goto(f"{page_origin}/cross_origin.html")
    page.wait_for_selector("body[data-ready='true']")


def run_case(page: Page, **spec: Any) -> dict[str, Any]:
    """Let the page's script make one request; return what the script could see."""
    result: dict[str, Any] = page.evaluate("spec => window.runCase(spec)", spec)
    return result


def rendered(page: Page, name: str) -> tuple[str | None, list[str], Any]:
    """What the page shows for one case: status, list items, body."""
    section = page.locator(f"section[data-name='{name}']")
    body_text = section.locator("pre.body").text_content() or "null"
    return (
        section.get_attribute("data-status"),
        section.locator("li").all_text_contents(),
        json.loads(body_text),
    )


def test_each_vendor_step_list_renders_on_another_origin(
    page: Page, page_origin: str, mock: MockServer
) -> None:
    open_page(page, page_origin)
    paths = step_paths(mock)
    for vendor, path in paths.items():
        result = run_case(
            page,
            name=vendor,
            url=mock.url + path,
            headers=AUTH[vendor]("frontend-key"),
            steps=vendor,
            readHeaders=["content-type", "elastic-api-version", "RateLimit-Remaining"],
        )
        assert result["reached"], f"{vendor}: the browser refused the answer: {result['error']}"
        direct = requests.get(mock.url + path, headers=AUTH[vendor]("frontend-key"), timeout=10)
        status, items, _ = rendered(page, vendor)
        assert status == "200"
        assert items == expected_steps(vendor, direct.json())
        assert items, f"{vendor}: no steps rendered"
        assert result["headers"]["content-type"].startswith("application/json")
        if vendor == "kibana":  # exposed: the version a client must send back
            assert result["headers"]["elastic-api-version"] == "2023-10-31"
        if vendor == "trigify":  # exposed: a client can back off before it hits a 429
            assert result["headers"]["RateLimit-Remaining"].isdigit()

    # The browser asked first: a preflight naming the credential header, from the page's origin.
    seen = mock.requests()
    for vendor, path in paths.items():
        credential = next(iter(AUTH[vendor]("k"))).lower()
        preflights = [
            s for s in seen if s.method == "OPTIONS" and s.path == path and s.origin == page_origin
        ]
        assert preflights, f"{vendor}: no preflight reached the mock for {path}"
        assert credential in (preflights[0].request_headers or "").lower()
        assert any(s.method == "GET" and s.path == path for s in seen)


def test_errors_without_credentials_are_readable_in_the_vendor_envelope(
    page: Page, page_origin: str, mock: MockServer
) -> None:
    open_page(page, page_origin)
    paths = step_paths(mock)
    for vendor, path in paths.items():
        result = run_case(
            page, name=f"{vendor}-401", url=mock.url + path, readHeaders=["WWW-Authenticate"]
        )
        assert result["reached"], f"{vendor}: the browser hid the 401: {result['error']}"
    _, _, kibana = rendered(page, "kibana-401")
    assert kibana == {"statusCode": 401, "error": "Unauthorized", "message": "Unauthorized"}
    _, _, arcee = rendered(page, "arcee-401")
    assert arcee == {"detail": "Not authenticated"}
    status, _, trigify = rendered(page, "trigify-401")
    assert status == "401"
    assert trigify["success"] is False
    assert trigify["error"]["code"] == "AUTH_REQUIRED"
    assert page.locator("section[data-name='kibana-401']").get_attribute("data-status") == "401"
    # The challenge header is exposed, so a client can tell which scheme to use.
    challenge = run_case(
        page,
        name="kibana-challenge",
        url=mock.url + paths["kibana"],
        readHeaders=["WWW-Authenticate"],
    )
    assert "ApiKey" in (challenge["headers"]["WWW-Authenticate"] or "")

    # A 404 for a run that does not exist is just as readable.
    missing = {
        "kibana": "/api/workflows/executions/exec-00000000-0000-0000/steps",
        "arcee": paths["arcee"].rsplit("/runs/", 1)[0] + "/runs/no-such-run/steps",
        "trigify": paths["trigify"].rsplit("/", 1)[0] + "/run_nosuchrun000",
    }
    for vendor, path in missing.items():
        run_case(page, name=f"{vendor}-404", url=mock.url + path, headers=AUTH[vendor]("k"))
    assert rendered(page, "kibana-404")[2]["error"] == "Not Found"
    assert rendered(page, "arcee-404")[2] == {"detail": "Run not found"}
    assert rendered(page, "trigify-404")[2]["error"]["code"] == "NOT_FOUND"
    assert {rendered(page, f"{v}-404")[0] for v in missing} == {"404"}


def test_a_key_the_mock_does_not_accept_is_a_readable_401_not_a_cors_failure(
    page: Page, page_origin: str, keyed_mock: MockServer
) -> None:
    # Preflights never carry credentials: the mock must approve them even when it checks keys.
    open_page(page, page_origin)
    path = f"/api/workflows/executions/{DOCUMENTED_EXECUTION_ID}/steps"
    good = run_case(
        page,
        name="good",
        url=keyed_mock.url + path,
        headers=AUTH["kibana"]("frontend-key"),
        steps="kibana",
    )
    assert good["reached"]
    assert good["status"] == 200
    for vendor, url in {
        "kibana": path,
        "arcee": "/api/v1/workflow/workflows",
        "trigify": "/v1/workflows",
    }.items():
        result = run_case(
            page, name=f"bad-{vendor}", url=keyed_mock.url + url, headers=AUTH[vendor]("wrong-key")
        )
        assert result["reached"], f"{vendor}: {result['error']}"
        assert result["status"] == 401
    assert rendered(page, "bad-trigify")[2]["error"]["code"] == "INVALID_API_KEY"
    assert rendered(page, "bad-arcee")[2] == {"detail": "Invalid API token"}
    assert rendered(page, "bad-kibana")[2]["statusCode"] == 401


def test_a_browser_can_start_a_run_and_read_it_back(
    page: Page, page_origin: str, mock: MockServer
) -> None:
    open_page(page, page_origin)
    kibana = {**AUTH["kibana"]("k"), "Content-Type": "application/json"}
    refused = run_case(
        page,
        name="no-xsrf",
        method="POST",
        url=f"{mock.url}/api/workflows/workflow/{DOCUMENTED_WORKFLOW_ID}/run",
        headers=kibana,
        body={"inputs": {}},
    )
    assert refused["status"] == 400
    assert "kbn-xsrf" in refused["body"]["message"]
    started = run_case(
        page,
        name="run",
        method="POST",
        url=f"{mock.url}/api/workflows/workflow/{DOCUMENTED_WORKFLOW_ID}/run",
        headers={**kibana, "kbn-xsrf": "true"},
        body={"inputs": {"message": "from the browser"}},
    )
    assert started["status"] == 200, started
    execution = started["body"]["workflowExecutionId"]
    pending = run_case(
        page,
        name="live-pending",
        url=f"{mock.url}/api/workflows/executions/{execution}",
        headers=AUTH["kibana"]("k"),
    )
    assert pending["body"]["status"] == "pending", "read at once, Kibana's new run is pending"
    assert "startedAt" not in pending["body"]
    mock.clock.advance(2)  # Task Manager picks it up within the seeded delay
    steps = run_case(
        page,
        name="live-steps",
        url=f"{mock.url}/api/workflows/executions/{execution}/steps",
        headers=AUTH["kibana"]("k"),
        steps="kibana",
    )
    assert steps["status"] == 200
    assert rendered(page, "live-steps")[1], "a picked-up live run shows its first step"

    workflows = requests.get(
        f"{mock.url}/api/v1/workflow/workflows", headers=AUTH["arcee"]("k"), timeout=10
    ).json()
    executed = run_case(
        page,
        name="arcee-execute",
        method="POST",
        url=f"{mock.url}/api/v1/workflow/workflows/{workflows[0]['workflow_id']}/execute",
        headers={**AUTH["arcee"]("k"), "Content-Type": "application/json"},
        body={"prompt": "from the browser"},
    )
    assert executed["status"] == 200, executed
    assert executed["body"]["run_id"]


FRONTEND_REQUESTS = ("authentication-header", "credentials-include", "tracing-headers")


@pytest.mark.parametrize("case", FRONTEND_REQUESTS)
def test_requests_frontends_commonly_make(
    page: Page, page_origin: str, mock: MockServer, case: str
) -> None:
    open_page(page, page_origin)
    specs: dict[str, dict[str, Any]] = {
        "authentication-header": {
            "url": f"{mock.url}/api/v1/workflow/workflows",
            "headers": {"Authentication": "Bearer k"},
        },
        "credentials-include": {
            "url": f"{mock.url}/v1/workflows",
            "headers": {"x-api-key": "k"},
            "credentials": "include",
        },
        "tracing-headers": {
            "url": f"{mock.url}/v1/workflows",
            "headers": {
                "x-api-key": "k",
                "traceparent": "00-" + "1" * 32 + "-" + "2" * 16 + "-01",
                "sentry-trace": "1" * 32 + "-" + "2" * 16,
                "baggage": "sentry-environment=dev",
            },
        },
    }
    result = run_case(page, name=case, **specs[case])
    assert result["reached"], f"the browser refused it: {result['error']}"
    assert result["status"] == 200
