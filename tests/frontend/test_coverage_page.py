"""The coverage page's own controls: "only my key", reset, and the kit's probe key labelled.

A frontend developer opens ``/_stepspec/coverage`` after pointing an app at the mock, next to
colleagues' apps and a ``stepspec check`` run. The page must let them see only their own key
(without putting the key in a URL), forget what was recorded, and tell the kit's made-up probe
key from a person's.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest
import requests

from conformance._context import WRONG_KEY
from mock_server.coverage import fingerprint
from tests.frontend.conftest import MockServer, ServeMock

if TYPE_CHECKING:
    from playwright.sync_api import Page

pytestmark = pytest.mark.slow

MINE = "my-app-key"
THEIRS = "colleague-key"


def call(mock: MockServer, key: str) -> None:
    answer = requests.get(
        f"{mock.url}/api/workflows", headers={"Authorization": f"ApiKey {key}"}, timeout=10
    )
    assert answer.status_code == 200


def clients_shown(page: Page) -> list[str]:
    sections = page.locator("section.client")
    return [sections.nth(i).get_attribute("data-client") or "" for i in range(sections.count())]


@pytest.fixture
def mock(serve_mock: ServeMock) -> MockServer:
    """A fresh mock per test: each test resets what it recorded."""
    return serve_mock()


def test_only_my_key_shows_my_client_and_reset_forgets_it(page: Page, mock: MockServer) -> None:
    call(mock, MINE)
    call(mock, THEIRS)
    page.goto(f"{mock.url}/_stepspec/coverage")
    assert sorted(clients_shown(page)) == sorted([fingerprint(MINE), fingerprint(THEIRS)])
    page.locator("#coverage-controls").wait_for()  # shown once coverage.js runs
    page.fill("#my-key", MINE)
    page.locator("#only-mine").click()
    page.wait_for_url(f"**/_stepspec/coverage?client={fingerprint(MINE)}")
    assert MINE not in page.url  # the link names the fingerprint, never the key
    assert clients_shown(page) == [fingerprint(MINE)]
    assert page.locator("#filtered").get_attribute("data-client") == fingerprint(MINE)
    assert page.locator("#reset").text_content() == "Reset this client"

    page.once("dialog", lambda dialog: dialog.accept())
    page.locator("#reset").click()
    page.locator("#no-clients").wait_for()
    assert clients_shown(page) == []
    assert f"Nothing is recorded for client {fingerprint(MINE)}" in (
        page.locator("#no-clients").text_content() or ""
    )
    page.locator("#show-all").click()
    page.locator("section.client").first.wait_for()
    assert clients_shown(page) == [fingerprint(THEIRS)]  # only my record was forgotten


def test_reset_of_every_client_asks_first(page: Page, mock: MockServer) -> None:
    call(mock, MINE)
    call(mock, THEIRS)
    page.goto(f"{mock.url}/_stepspec/coverage")
    page.locator("#coverage-controls").wait_for()
    assert page.locator("#reset").text_content() == "Reset every client"
    page.once("dialog", lambda dialog: dialog.dismiss())
    page.locator("#reset").click()
    page.reload()
    assert len(clients_shown(page)) == 2  # dismissed: nothing forgotten
    page.locator("#coverage-controls").wait_for()
    page.once("dialog", lambda dialog: dialog.accept())
    page.locator("#reset").click()
    page.locator("#no-clients").wait_for()


def test_the_key_box_is_shared_with_the_run_viewer(page: Page, mock: MockServer) -> None:
    page.goto(f"{mock.url}/_stepspec/")
    page.fill("#api-key", MINE)
    page.press("#api-key", "Enter")
    page.goto(f"{mock.url}/_stepspec/coverage")
    page.locator("#coverage-controls").wait_for()
    assert page.input_value("#my-key") == MINE


def test_the_kit_probe_key_is_labelled_and_listed_after_real_clients(
    page: Page, mock: MockServer
) -> None:
    probe = requests.get(
        f"{mock.url}/api/workflows", headers={"Authorization": f"ApiKey {WRONG_KEY}"}, timeout=10
    )
    assert probe.status_code == 200  # the mock accepts any key unless started with --api-key
    call(mock, MINE)
    report = requests.get(f"{mock.url}/_stepspec/coverage?format=json", timeout=10).json()
    assert [(c["client"], c["label"]) for c in report["clients"]] == [
        (fingerprint(MINE), None),
        (fingerprint(WRONG_KEY), "stepspec check probe"),
    ]
    assert report["client_filter"] is None
    page.goto(f"{mock.url}/_stepspec/coverage")
    assert clients_shown(page) == [fingerprint(MINE), fingerprint(WRONG_KEY)]
    probe_card = page.locator(f"section.client[data-client='{fingerprint(WRONG_KEY)}']")
    assert probe_card.locator(".client-label").text_content() == "stepspec check probe"
    assert page.locator(".client-label").count() == 1


def test_a_written_report_has_no_controls(mock: MockServer) -> None:
    from mock_server.coverage import render_report

    call(mock, MINE)
    report = requests.get(f"{mock.url}/_stepspec/coverage?format=json", timeout=10).json()
    html = render_report(report)
    assert 'id="coverage-controls"' not in html
    assert "<script" not in html  # a standalone file: nothing to call
    assert fingerprint(MINE) in html
