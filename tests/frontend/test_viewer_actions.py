"""The run viewer's polish, in headless Chromium: what a frontend developer noticed at once.

A loading state before the first answer; every API tab opens its first workflow; workflows that
share a name are told apart; the status pill never runs into the date; and a live Kibana run can
be approved, rejected or cancelled from the page, through the vendor endpoints, with the key in
the header box.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

import pytest
import requests

from mock_server.kibana import DOCUMENTED_WORKFLOW_ID
from mock_server.viewer.screenshot import open_viewer
from tests.frontend.conftest import MockServer, ServeMock

if TYPE_CHECKING:
    from playwright.sync_api import Page, Route

pytestmark = pytest.mark.slow

KEY = "stepspec-viewer"
KIBANA = {"Authorization": f"ApiKey {KEY}"}
KIBANA_WRITE = {**KIBANA, "kbn-xsrf": "true"}
ARCEE = {"Authorization": f"Bearer {KEY}"}
TRIGIFY = {"x-api-key": KEY}
READY = "() => document.body.dataset.ready === 'true'"


def get(mock: MockServer, path: str, headers: dict[str, str]) -> Any:
    response = requests.get(mock.url + path, headers=headers, timeout=10)
    response.raise_for_status()
    return response.json()


def first_workflows(mock: MockServer) -> dict[str, list[tuple[str, str]]]:
    """(id, name) of every workflow each API lists, in the viewer's order."""
    return {
        "kibana": [
            (w["id"], w["name"]) for w in get(mock, "/api/workflows?size=100", KIBANA)["results"]
        ],
        "arcee": [
            (w["workflow_id"], w["name"]) for w in get(mock, "/api/v1/workflow/workflows", ARCEE)
        ],
        "trigify": [
            (w["id"], w["name"])
            for w in get(mock, "/v1/workflows?limit=100", TRIGIFY)["data"]["items"]
        ],
    }


def start_run(
    mock: MockServer, scenario: str | None = None, workflow: str = DOCUMENTED_WORKFLOW_ID
) -> str:
    headers = dict(KIBANA_WRITE)
    if scenario is not None:
        headers["X-Stepspec-Scenario"] = scenario
    started = requests.post(
        f"{mock.url}/api/workflows/workflow/{workflow}/run",
        headers=headers,
        json={"inputs": {}},
        timeout=10,
    )
    assert started.status_code == 200, started.text
    run: str = started.json()["workflowExecutionId"]
    return run


def test_the_first_paint_says_it_is_loading(page: Page, serve_mock: ServeMock) -> None:
    mock = serve_mock()
    held: list[Route] = []
    page.route("**/api/workflows?size=100", lambda route: held.append(route))
    page.goto(f"{mock.url}/_stepspec/")
    page.locator("#apis a[data-api='kibana']").wait_for()  # meta has answered
    page.wait_for_function("() => document.querySelector('#workflows .loading') !== null")
    assert "Loading workflows" in (page.locator("#workflows").text_content() or "")
    assert page.locator("#runs .loading").is_visible()
    assert page.locator("#run .loading").is_visible()
    assert held, "the workflow list was requested"
    for route in held:
        route.continue_()
    page.wait_for_function(READY)
    assert page.locator("#workflows .loading").count() == 0
    assert page.locator("#workflows li a").count() >= 1


def test_every_api_tab_opens_its_first_workflow(page: Page, serve_mock: ServeMock) -> None:
    mock = serve_mock()
    workflows = first_workflows(mock)
    open_viewer(page, mock.url)
    for api in ("arcee", "trigify", "kibana"):
        first_id = workflows[api][0][0]
        page.locator(f"#apis a[data-api='{api}']").click()
        page.wait_for_function(
            "f => document.body.dataset.ready === 'true' && document.body.dataset.route === f",
            arg=f"#/{api}/{first_id}",
        )
        active = page.locator("#workflows a.active")
        assert active.count() == 1
        assert active.locator("xpath=..").get_attribute("data-workflow-id") == first_id
        assert "Pick a workflow" not in (page.locator("#runs").text_content() or "")
        assert page.locator("#runs .run-item").count() >= 1, api


@pytest.mark.parametrize("api", ["arcee", "trigify"])
def test_workflows_that_share_a_name_are_told_apart(
    page: Page, serve_mock: ServeMock, api: str
) -> None:
    mock = serve_mock()
    listed = first_workflows(mock)[api]
    names = [name for _, name in listed]
    assert len(set(names)) < len(names), "the seeded world has duplicate names"
    open_viewer(page, mock.url, f"#/{api}/{listed[0][0]}")
    shown = [
        text.replace("\u00a0", " ").strip()
        for text in page.locator("#workflows .wf-name").all_text_contents()
    ]
    assert len(shown) == len(listed)
    assert len(set(shown)) == len(shown), shown
    for (workflow_id, name), text in zip(listed, shown, strict=True):
        assert text.startswith(name)
        if names.count(name) > 1:
            suffix = text.rsplit(" · ", 1)[1]
            assert len(suffix) == 6
            assert suffix in workflow_id  # a piece of the id, so it can be found again
        else:
            assert text == name
    # The run header names the workflow the same way.
    workflow_id, name = next((w, n) for w, n in listed if names.count(n) > 1)
    if api == "arcee":
        run = get(mock, f"/api/v1/workflow/workflows/{workflow_id}/runs", ARCEE)[0]["id"]
    else:
        path = f"/v1/workflows/{workflow_id}/executions"
        run = get(mock, path, TRIGIFY)["data"]["executions"][0]["run_id"]
    open_viewer(page, mock.url, f"#/{api}/{workflow_id}/{run}")
    heading = (page.locator(".run-head h2").text_content() or "").replace("\u00a0", " ")
    assert heading == shown[[w for w, _ in listed].index(workflow_id)]


def test_the_status_pill_never_overlaps_the_date(page: Page, serve_mock: ServeMock) -> None:
    mock = serve_mock()
    # The workflow with the most runs: its list scrolls, and the scroll bar takes width.
    busiest = max(
        (w["id"] for w in get(mock, "/api/workflows?size=100", KIBANA)["results"]),
        key=lambda w: get(mock, f"/api/workflows/workflow/{w}/executions?size=1", KIBANA)["total"],
    )
    run = start_run(mock, "approval", busiest)
    mock.clock.advance(5)  # picked up, announced: the approval step waits (the longest pill)
    open_viewer(page, mock.url, f"#/kibana/{busiest}")
    runs = page.locator("#runs")
    assert runs.evaluate("e => e.closest('.pane').scrollHeight > e.closest('.pane').clientHeight")
    page.wait_for_selector(f"#runs .run-item[data-run-id='{run}'][data-status='waiting_for_input']")
    assert "waiting for input" in (runs.text_content() or "")

    def assert_apart(where: str) -> None:
        items = page.locator("#runs .run-item")
        for index in range(items.count()):
            pill = items.nth(index).locator(".badge").bounding_box()
            date = items.nth(index).locator(".when").bounding_box()
            assert pill is not None
            assert date is not None
            assert pill["x"] + pill["width"] <= date["x"] + 0.5, (where, index, pill, date)

    assert_apart("default layout")
    # A narrower runs pane (a classic scroll bar, bigger fonts, a zoomed page) must not make
    # the pill run into the date either: it shortens, and its title keeps the full text.
    page.evaluate(
        "() => { document.querySelector('.layout').style.gridTemplateColumns ="
        " '250px 230px minmax(0, 1fr)'; }"
    )
    assert_apart("narrow pane")
    waiting = page.locator(f"#runs .run-item[data-run-id='{run}'] .badge")
    assert waiting.get_attribute("title") == "waiting for input"


@pytest.mark.parametrize(
    ("action", "expected_step"), [("approve", "deploy_change"), ("reject", "log_rejection")]
)
def test_a_waiting_run_is_answered_from_the_viewer_and_completes(
    page: Page, serve_mock: ServeMock, action: str, expected_step: str
) -> None:
    mock = serve_mock()
    run = start_run(mock, "approval")
    mock.clock.advance(5)  # picked up, announced: the approval step waits for a human
    assert get(mock, f"/api/workflows/executions/{run}", KIBANA)["status"] == "waiting_for_input"
    open_viewer(page, mock.url, f"#/kibana/{DOCUMENTED_WORKFLOW_ID}/{run}")
    assert page.locator(".run-head").get_attribute("data-status") == "waiting_for_input"
    page.locator(f".actions button[data-action='{action}']").click()
    page.wait_for_function(
        "() => /resume scheduled/i.test(document.querySelector('.action-note')?.textContent"
        " || '') || document.querySelector('.run-head')?.dataset.status !== 'waiting_for_input'"
    )
    resumes = [
        seen for seen in mock.requests() if seen.method == "POST" and seen.path.endswith("/resume")
    ]
    assert [seen.path for seen in resumes] == [f"/api/workflows/executions/{run}/resume"]

    mock.clock.advance(30)
    page.wait_for_selector(".run-head[data-status='completed']")
    assert page.locator(".actions").count() == 0  # nothing left to do on a finished run
    execution = get(mock, f"/api/workflows/executions/{run}", KIBANA)
    assert execution["status"] == "completed"
    steps = {step["stepId"]: step for step in execution["stepExecutions"]}
    assert expected_step in steps
    answered = get(
        mock, f"/api/workflows/executions/{run}/step/{steps['approve_change']['id']}", KIBANA
    )
    assert answered["hitl"]["respondedAt"]
    assert answered["output"]["input"]["approved"] is (action == "approve")
    rows = page.locator(".timeline .row")
    assert rows.count() == len(execution["stepExecutions"])
    assert page.locator(".hitl-mark").count() == 1


def test_an_answer_not_yet_resumed_offers_no_second_answer(
    page: Page, serve_mock: ServeMock
) -> None:
    """Kibana fills ``hitl`` as soon as someone answers, before its task resumes the run; the
    page then shows the answer and offers no Approve/Reject (Cancel stays)."""
    mock = serve_mock()
    run = start_run(mock, "approval")
    mock.clock.advance(5)
    execution = get(mock, f"/api/workflows/executions/{run}", KIBANA)
    waiting = next(s for s in execution["stepExecutions"] if s["status"] == "waiting_for_input")
    waiting["hitl"] = {
        "channel": "kibana-ui",
        "respondedAt": waiting["startedAt"],
        "respondedBy": "alice",
    }
    page.route(
        f"**/api/workflows/executions/{run}",
        lambda route: route.fulfill(
            status=200, content_type="application/json", body=json.dumps(execution)
        ),
    )
    open_viewer(page, mock.url, f"#/kibana/{DOCUMENTED_WORKFLOW_ID}/{run}")
    assert page.locator(".run-head").get_attribute("data-status") == "waiting_for_input"
    assert page.locator(".hitl-mark").count() == 1
    assert page.locator(".actions button").evaluate_all("bs => bs.map(b => b.dataset.action)") == [
        "cancel"
    ]


def test_a_running_run_is_cancelled_from_the_viewer(page: Page, serve_mock: ServeMock) -> None:
    mock = serve_mock()
    run = start_run(mock)
    open_viewer(page, mock.url, f"#/kibana/{DOCUMENTED_WORKFLOW_ID}/{run}")
    assert page.locator(".run-head").get_attribute("data-status") in ("pending", "running")
    assert page.locator(".actions button[data-action='approve']").count() == 0
    page.locator(".actions button[data-action='cancel']").click()
    page.wait_for_selector(".run-head[data-status='cancelled']")
    assert get(mock, f"/api/workflows/executions/{run}", KIBANA)["status"] == "cancelled"
    assert page.locator("#banner").is_hidden()


def test_an_action_the_server_refuses_is_shown_not_swallowed(
    page: Page, serve_mock: ServeMock
) -> None:
    mock = serve_mock()
    run = start_run(mock, "approval")
    mock.clock.advance(5)
    page.clock.install()  # the page's timers stand still: no poll refreshes the run under us
    open_viewer(page, mock.url, f"#/kibana/{DOCUMENTED_WORKFLOW_ID}/{run}")
    page.locator(".actions button[data-action='approve']").wait_for()
    # Someone else ends the run first (curl, another tab); the page still offers its buttons.
    elsewhere = requests.post(
        f"{mock.url}/api/workflows/executions/{run}/cancel", headers=KIBANA_WRITE, timeout=10
    )
    assert elsewhere.status_code == 200
    page.locator(".actions button[data-action='approve']").click()
    banner = page.locator("#banner")
    banner.wait_for()
    assert "409" in (banner.text_content() or "")
    assert "/resume" in (banner.text_content() or "")
