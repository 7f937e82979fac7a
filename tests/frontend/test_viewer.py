"""The run viewer at ``/_stepspec/``, checked in headless Chromium.

What a frontend developer sees must be what the API says: one bar per step with the step's
status, HITL waits marked, the step's input/output/error on click, a "copy curl" whose command
returns the same data, a status filter, and a run in progress that updates while it is watched.
"""

from __future__ import annotations

import json
import re
import shlex
import struct
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
import requests

from mock_server.kibana import DOCUMENTED_WORKFLOW_ID
from mock_server.viewer.screenshot import VIEWPORT, capture, open_viewer, pick_showcase
from tests.frontend.conftest import MockServer, ServeMock

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page

pytestmark = pytest.mark.slow

KIBANA = {"Authorization": "ApiKey stepspec-viewer"}
ARCEE = {"Authorization": "Bearer stepspec-viewer"}
TRIGIFY = {"x-api-key": "stepspec-viewer"}


@pytest.fixture(scope="module")
def mock(serve_mock: ServeMock) -> MockServer:
    """The default mock (seed 0) with a test clock for live runs."""
    return serve_mock()


def get(mock: MockServer, path: str, headers: dict[str, str]) -> Any:
    response = requests.get(mock.url + path, headers=headers, timeout=10)
    response.raise_for_status()
    return response.json()


def shown_json(page: Page, part: str) -> Any:
    text = page.locator(f"#step-detail pre[data-part='{part}']").text_content() or ""
    return None if text == "(absent)" else json.loads(text)


def png_size(path: Path) -> tuple[int, int]:
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n", f"{path} is not a PNG"
    width, height = struct.unpack(">II", data[16:24])
    return width, height


def test_screenshot_shows_a_run_as_a_timeline_of_its_steps(
    browser: Browser, mock: MockServer, tmp_path: Path
) -> None:
    showcase = pick_showcase(mock.app)
    target = tmp_path / "run-viewer.png"
    page = capture(browser, mock.url, showcase, target)
    try:
        assert png_size(target) == (VIEWPORT["width"], VIEWPORT["height"])
        execution = get(mock, f"/api/workflows/executions/{showcase.run_id}", KIBANA)
        steps = execution["stepExecutions"]
        rows = page.locator(".timeline .row")
        assert rows.count() == len(steps)
        assert page.locator(".timeline .bar").count() == len(steps)
        assert [rows.nth(i).get_attribute("data-status") for i in range(len(steps))] == [
            step["status"] for step in steps
        ]
        assert page.locator(".run-head").get_attribute("data-status") == execution["status"]
        # The showcase has a human-in-the-loop step (marked, with its answer) and a failure.
        assert page.locator(".row[data-hitl] .hitl-tag").count() >= 1
        assert page.locator(".hitl-mark").count() >= 1
        assert page.locator(".bar.status-failed").count() >= 1
        # The selected step is the failed one, and the pane shows the step endpoint's data.
        failed = steps[showcase.step_index]
        assert failed["status"] == "failed"
        step = get(mock, f"/api/workflows/executions/{showcase.run_id}/step/{failed['id']}", KIBANA)
        assert page.locator("#step-detail").get_attribute("data-step-key") == failed["id"]
        assert shown_json(page, "input") == step["input"]
        assert shown_json(page, "output") == step.get("output")
        assert shown_json(page, "error") == step["error"]
        assert shown_json(page, "raw") == step
    finally:
        page.close()


@pytest.mark.parametrize("api", ["kibana", "arcee", "trigify"])
def test_clicking_a_step_shows_its_input_output_and_error(
    page: Page, mock: MockServer, api: str
) -> None:
    if api == "kibana":
        workflow = DOCUMENTED_WORKFLOW_ID
        run = get(mock, f"/api/workflows/workflow/{workflow}/executions", KIBANA)["results"][0][
            "id"
        ]
    elif api == "arcee":
        workflow = get(mock, "/api/v1/workflow/workflows", ARCEE)[0]["workflow_id"]
        runs = get(mock, f"/api/v1/workflow/workflows/{workflow}/runs", ARCEE)
        run = next(r["id"] for r in runs if r["status"] == "completed")
    else:
        workflow = get(mock, "/v1/workflows", TRIGIFY)["data"]["items"][0]["id"]
        runs = get(mock, f"/v1/workflows/{workflow}/executions", TRIGIFY)["data"]["executions"]
        run = next(r["run_id"] for r in runs if r["status"] == "completed")
    open_viewer(page, mock.url, f"#/{api}/{workflow}/{run}")
    rows = page.locator(".timeline .row")
    last = rows.count() - 1
    assert last >= 0
    rows.nth(last).click()
    detail = page.locator("#step-detail")
    detail.wait_for()
    assert detail.get_attribute("data-step-key") == rows.nth(last).get_attribute("data-step-key")
    raw = shown_json(page, "raw")
    names = {"kibana": ("input", "output"), "arcee": ("inputs", "outputs")}
    input_key, output_key = names.get(api, ("input", "output"))
    assert shown_json(page, "input") == raw.get(input_key)
    assert shown_json(page, "output") == raw.get(output_key)
    assert shown_json(page, "error") == raw.get("error")
    assert rows.nth(last).get_attribute("data-status") == raw["status"]
    assert page.locator(".row.selected").count() == 1


STAMP = r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC"


def test_times_say_utc_and_long_tokens_wrap_after_a_separator(page: Page, mock: MockServer) -> None:
    """Walkthrough row 49: times had no zone, and long strings broke mid-word ("/api/st atus")."""
    workflow = DOCUMENTED_WORKFLOW_ID
    run = get(mock, f"/api/workflows/workflow/{workflow}/executions", KIBANA)["results"][0]["id"]
    open_viewer(page, mock.url, f"#/kibana/{workflow}/{run}")
    page.locator(".timeline .row").first.click()
    page.locator("#step-detail").wait_for()
    facts = page.locator("#step-detail .facts").text_content() or ""
    assert re.search(f"{STAMP} → (…|{STAMP})$", facts), facts
    dates = page.locator("#runs .run-item .when").all_text_contents()
    assert dates
    assert all(re.fullmatch(f"{STAMP}|not started", date) for date in dates), dates
    raw = page.locator("#step-detail pre[data-part='raw']")
    ends = raw.evaluate(
        "pre => [...pre.querySelectorAll('wbr')].map(w => w.previousSibling.textContent.slice(-1))"
    )
    assert ends  # the ids are long tokens
    assert set(ends) <= set("/?&=_.:,-")
    assert shown_json(page, "raw")["id"]  # <wbr> adds no character: the text is still the JSON


def runs_by_status(mock: MockServer) -> dict[tuple[str, str], tuple[str, str, int]]:
    """(api, status) -> (workflow, run, number of steps) for the first run in each status."""
    found: dict[tuple[str, str], tuple[str, str, int]] = {}
    for workflow in get(mock, "/api/workflows", KIBANA)["results"]:
        path = f"/api/workflows/workflow/{workflow['id']}/executions?size=100"
        for run in get(mock, path, KIBANA)["results"]:
            if ("kibana", run["status"]) not in found:
                detail = get(mock, f"/api/workflows/executions/{run['id']}", KIBANA)
                steps = len(detail["stepExecutions"])
                found["kibana", run["status"]] = (workflow["id"], run["id"], steps)
    base = "/api/v1/workflow/workflows"
    for workflow in get(mock, base, ARCEE)[:3]:
        for run in get(mock, f"{base}/{workflow['workflow_id']}/runs", ARCEE):
            if ("arcee", run["status"]) not in found:
                path = f"{base}/{workflow['workflow_id']}/runs/{run['id']}/steps"
                steps = len(get(mock, path, ARCEE))
                found["arcee", run["status"]] = (workflow["workflow_id"], run["id"], steps)
    for workflow in get(mock, "/v1/workflows", TRIGIFY)["data"]["items"][:3]:
        path = f"/v1/workflows/{workflow['id']}/executions"
        for run in get(mock, path, TRIGIFY)["data"]["executions"]:
            if ("trigify", run["status"]) not in found:
                detail = get(mock, f"{path}/{run['run_id']}", TRIGIFY)["data"]
                found["trigify", run["status"]] = (
                    workflow["id"],
                    run["run_id"],
                    len(detail["steps"]),
                )
    return found


def test_a_run_in_every_status_of_every_api_renders(page: Page, mock: MockServer) -> None:
    runs = runs_by_status(mock)
    assert {"pending", "queued", "waiting_for_input", "failed"} <= {s for _, s in runs}
    for (api, status), (workflow, run, steps) in sorted(runs.items()):
        open_viewer(page, mock.url, f"#/{api}/{workflow}/{run}")
        assert page.locator(".run-head").get_attribute("data-status") == status, (api, run)
        assert page.locator(".timeline .row").count() == steps, (api, status, run)
        assert page.locator("#no-steps").count() == (0 if steps else 1)
        assert page.locator("#banner").is_hidden()


def test_copy_curl_gives_a_command_that_returns_the_data_shown(
    page: Page, mock: MockServer
) -> None:
    showcase = pick_showcase(mock.app)
    open_viewer(page, mock.url, showcase.fragment)
    box = page.locator("#step-detail .curl")
    box.locator("button.copy-curl").click()
    command = box.locator(".curl-text").text_content() or ""
    assert box.locator(".curl-text").is_visible()
    words = shlex.split(command)
    assert words[:2] == ["curl", "-sS"]
    headers = dict(
        word.split(": ", 1)
        for flag, word in zip(words[2:-1:2], words[3:-1:2], strict=True)
        if flag == "-H"
    )
    assert headers == KIBANA, "the command carries the key the viewer used, as Kibana expects it"
    answer = requests.get(words[-1], headers=headers, timeout=10)
    assert answer.status_code == 200
    assert answer.json() == shown_json(page, "raw")


def test_runs_can_be_filtered_by_status(page: Page, mock: MockServer) -> None:
    workflow = get(mock, "/api/workflows", KIBANA)["results"]
    busiest = max(
        workflow,
        key=lambda w: len(
            {
                r["status"]
                for r in get(
                    mock, f"/api/workflows/workflow/{w['id']}/executions?size=100", KIBANA
                )["results"]
            }
        ),
    )
    runs = get(mock, f"/api/workflows/workflow/{busiest['id']}/executions?size=100", KIBANA)[
        "results"
    ]
    open_viewer(page, mock.url, f"#/kibana/{busiest['id']}")
    assert page.locator("#runs .run-item").count() == len(runs)
    status = next(r["status"] for r in runs if r["status"] != "completed")
    page.locator(f"#filters button[data-status='{status}']").click()
    page.wait_for_function(
        "s => [...document.querySelectorAll('#runs .run-item')].every(i => i.dataset.status == s)",
        arg=status,
    )
    shown = page.locator("#runs .run-item")
    assert shown.count() == sum(1 for r in runs if r["status"] == status)
    assert (
        page.locator(f"#filters button[data-status='{status}']").get_attribute("aria-pressed")
        == "true"
    )
    assert f"status={status}" in page.url


def test_a_run_in_progress_updates_while_it_is_watched(page: Page, mock: MockServer) -> None:
    kibana = {**KIBANA, "kbn-xsrf": "true"}
    started = requests.post(
        f"{mock.url}/api/workflows/workflow/{DOCUMENTED_WORKFLOW_ID}/run",
        headers=kibana,
        json={"inputs": {"message": "watch me"}},
        timeout=10,
    )
    run = started.json()["workflowExecutionId"]
    open_viewer(page, mock.url, f"#/kibana/{DOCUMENTED_WORKFLOW_ID}/{run}")
    head = page.locator(".run-head")
    # Read at once, Kibana's new run is pending: no startedAt, no step yet.
    assert head.get_attribute("data-status") == "pending"
    assert "not started" in (head.locator(".facts").text_content() or "")
    assert "No step has started yet" in (page.locator("#no-steps").text_content() or "")
    assert page.locator("#live").is_visible()

    mock.clock.advance(5)  # picked up, the first step finishes; the HITL step now waits
    page.wait_for_selector(".run-head[data-status='waiting_for_input']")
    assert page.locator(".timeline .row").count() == 2
    waiting = page.locator(".timeline .row").nth(1)
    assert waiting.get_attribute("data-hitl") == "waiting"
    assert "waiting for input" in (waiting.text_content() or "")
    assert page.locator(f"#runs .run-item[data-run-id='{run}']").get_attribute("data-status") in (
        "pending",  # the list refreshes with the run, at most one poll later
        "waiting_for_input",
    )

    answer = requests.post(
        f"{mock.url}/api/workflows/executions/{run}/resume",
        headers=kibana,
        json={"input": {"approved": True}},
        timeout=10,
    )
    assert answer.status_code == 200
    mock.clock.advance(60)
    page.wait_for_selector(".run-head[data-status='completed']")
    assert page.locator("#live").is_hidden()
    assert page.locator(".timeline .row[data-status='completed']").count() == 2
    page.wait_for_selector(f"#runs .run-item[data-run-id='{run}'][data-status='completed']")


def test_a_mock_with_keys_asks_for_one_and_the_viewer_uses_it(
    page: Page, serve_mock: ServeMock
) -> None:
    keyed = serve_mock(api_keys="team-key")
    page.goto(f"{keyed.url}/_stepspec/")
    banner = page.locator("#banner")
    banner.wait_for()
    assert "401" in (banner.text_content() or "")
    assert "--api-key" in (banner.text_content() or "")
    page.fill("#api-key", "team-key")
    page.press("#api-key", "Enter")
    page.locator("#workflows li a").first.wait_for()
    page.wait_for_selector("#banner", state="hidden")
    assert page.locator("#workflows li").count() >= 1


def test_trigify_loop_iterations_are_labelled(page: Page, mock: MockServer) -> None:
    """A loop body repeats its step_id once per item; each row says which iteration it is."""
    for workflow in get(mock, "/v1/workflows?limit=100", TRIGIFY)["data"]["items"]:
        if workflow["workflow"]["trigger"]["kind"] != "workflows/multi-post-trigger":
            continue
        path = f"/v1/workflows/{workflow['id']}/executions"
        completed = [
            r["run_id"]
            for r in get(mock, path, TRIGIFY)["data"]["executions"]
            if r["status"] == "completed"
        ]
        if completed:
            break
    else:
        pytest.fail("no completed run of a loop workflow in the default world")
    steps = get(mock, f"{path}/{completed[0]}", TRIGIFY)["data"]["steps"]
    iterations = [s["iteration"] for s in steps if "iteration" in s]
    assert len(iterations) >= 2
    open_viewer(page, mock.url, f"#/trigify/{workflow['id']}/{completed[0]}")
    labels = page.locator(".timeline .row .iter").all_text_contents()
    assert [label.strip() for label in labels] == [f"[{n}]" for n in iterations]


def test_runs_that_never_started_and_bare_cancelled_steps_render(
    page: Page, mock: MockServer
) -> None:
    never, bare = None, None
    for workflow in get(mock, "/api/workflows", KIBANA)["results"]:
        path = f"/api/workflows/workflow/{workflow['id']}/executions?size=100"
        for run in get(mock, path, KIBANA)["results"]:
            if run["status"] != "cancelled":
                continue
            if "startedAt" not in run:
                never = never or (workflow["id"], run["id"])
                continue
            detail = get(mock, f"/api/workflows/executions/{run['id']}", KIBANA)
            if any("startedAt" not in s for s in detail["stepExecutions"]):
                bare = bare or (workflow["id"], run["id"])
    assert never is not None
    assert bare is not None
    open_viewer(page, mock.url, f"#/kibana/{never[0]}/{never[1]}")
    assert "not started" in (page.locator(".run-head .facts").text_content() or "")
    assert "never started" in (page.locator("#no-steps").text_content() or "")
    open_viewer(page, mock.url, f"#/kibana/{bare[0]}/{bare[1]}")
    last = page.locator(".timeline .row").last
    assert last.get_attribute("data-status") == "cancelled"
    assert "cancelled before it started" in (last.text_content() or "")
