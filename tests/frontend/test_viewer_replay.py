"""Recorded runs in the run viewer (``stepspec mock --replay``), checked in headless Chromium.

A run only the recording knows (a kit session against the mock, with one run renamed) is listed
by the viewer, opens, and shows the recorded status and steps, on a mock that serves nothing
but the recording (``--replay-only``).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from flask import Flask

from conformance.har import HarEntry
from mock_server.viewer.screenshot import open_viewer
from tests.conformance.recording import record_kit_run
from tests.conformance.replaying import VIEWER, rename_run, viewer_runs
from tests.frontend.conftest import ServeMock

if TYPE_CHECKING:
    from playwright.sync_api import Page

pytestmark = pytest.mark.slow

STEPS = {
    "kibana": ("", lambda body: body["stepExecutions"]),
    "arcee": ("/steps", lambda body: body),  # the viewer reads Arcee's steps from .../steps
    "trigify": ("", lambda body: body["data"]["steps"]),
}
STATUS = {
    "kibana": lambda body: body["status"],
    "arcee": lambda body: (body[0] if isinstance(body, list) else body)["status"],
    "trigify": lambda body: body["data"]["status"],
}


@pytest.mark.parametrize("api", ["kibana", "arcee", "trigify"])
def test_a_recorded_run_is_listed_and_opens_in_the_viewer(
    api: str,
    page: Page,
    serve_mock: ServeMock,
    tmp_path: Path,
    app_factory: Callable[..., Flask],
) -> None:
    recording = record_kit_run(tmp_path, app_factory, api)
    probe = app_factory(replay=[str(recording.path)], replay_only=True).test_client()
    workflow, run = viewer_runs(probe, api)[0]
    new = "recorded-run-0001"
    renamed = rename_run(recording, run, new, tmp_path / "renamed.har")
    mock = serve_mock(replay=[str(renamed)], replay_only=True)
    detail, steps = (
        _recorded(recording.entries, VIEWER[api]["run"](workflow, run) + suffix, run, new)
        for suffix in ("", STEPS[api][0])
    )
    open_viewer(page, mock.url, f"#/{api}/{workflow}/{new}")
    assert page.locator(f".run-item[data-run-id='{new}']").count() == 1
    head = page.locator(".run-head")
    assert head.get_attribute("data-run-id") == new
    assert head.get_attribute("data-status") == STATUS[api](detail)
    listed = STEPS[api][1](steps)
    rows = page.locator(".timeline .row")
    assert rows.count() == len(listed) > 0
    assert [rows.nth(i).get_attribute("data-status") for i in range(rows.count())] == [
        step["status"] for step in listed
    ]


def _recorded(entries: list[HarEntry], path: str, run: str, new: str) -> Any:
    """The recorded 200 body of ``GET path``, with ``run`` renamed ``new``."""
    return next(
        json.loads(e.response_body.replace(run.encode(), new.encode()))
        for e in entries
        if e.method == "GET" and e.status == 200 and e.path == path
    )
