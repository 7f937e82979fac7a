"""The proxy as a browser sees it: a page on another origin reads the mock through it, the
Traffic view updates while it does, and with a credential of the proxy's own only the
``--cors-origin`` origins may read.

The page is ``pages/cross_origin.html`` on its own port (``page_origin``); the proxy forwards to
a mock on a third port. Every request carries a non-safelisted header or none at all, so what
the script can read is decided by CORS exactly as for a real frontend.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import ExitStack
from typing import TYPE_CHECKING, Any

import pytest
import requests

from mock_server.kibana import DOCUMENTED_EXECUTION_ID
from mock_server.proxy import ProxyApp, ProxyConfig, create_proxy
from mock_server.viewer.screenshot import serve
from tests.frontend.conftest import MockServer, ServeMock

if TYPE_CHECKING:
    from playwright.sync_api import Page

pytestmark = pytest.mark.slow

STEPS = f"/api/workflows/executions/{DOCUMENTED_EXECUTION_ID}/steps"
KEY = {"Authorization": "ApiKey frontend-key"}

StartProxy = Callable[..., tuple[str, ProxyApp]]


@pytest.fixture(scope="module")
def mock(serve_mock: ServeMock) -> MockServer:
    return serve_mock()


@pytest.fixture
def start_proxy(mock: MockServer) -> Iterator[StartProxy]:
    """Proxies in front of the module's mock, closed at the end of the test."""
    with ExitStack() as stack:

        def start(**config: Any) -> tuple[str, ProxyApp]:
            app = create_proxy(
                ProxyConfig(api="kibana", target=mock.url, **config), emit=lambda line: None
            )
            stack.callback(app.close)
            return stack.enter_context(serve(app)), app

        yield start


def run_case(page: Page, page_origin: str, **spec: Any) -> dict[str, Any]:
    if not page.url.startswith(page_origin):
        page.goto(f"{page_origin}/cross_origin.html")
        page.wait_for_selector("body[data-ready='true']")
    result: dict[str, Any] = page.evaluate("spec => window.runCase(spec)", spec)
    return result


def test_page_reads_through_the_proxy_and_the_traffic_view_follows(
    page: Page, page_origin: str, mock: MockServer, start_proxy: StartProxy
) -> None:
    url, proxy = start_proxy()
    view = page.context.new_page()
    view.goto(f"{url}/_stepspec/traffic")
    view.wait_for_selector("#exchanges td.empty")

    result = run_case(
        page,
        page_origin,
        name="steps",
        url=url + STEPS,
        headers=KEY,
        steps="kibana",
        readHeaders=["elastic-api-version"],
    )
    assert result["reached"], f"the browser refused the proxied answer: {result['error']}"
    direct = requests.get(mock.url + STEPS, headers=KEY, timeout=10)
    assert result["status"] == 200
    assert result["body"] == direct.json()
    assert result["headers"]["elastic-api-version"] == "2023-10-31"
    failed = run_case(page, page_origin, name="no-key", url=url + STEPS)
    assert failed["reached"]
    assert failed["status"] == 401

    view.wait_for_selector("#counts:has-text('2 exchanges')")
    rows = view.locator("#exchanges tr").all_text_contents()  # newest first
    assert len(rows) == 2
    assert all("getExecutionSteps" in row for row in rows)
    assert ["401" in rows[0], "200" in rows[1]] == [True, True]
    assert proxy.traffic.wait_idle(30, exchanges=2)
    assert proxy.traffic.snapshot()["findings"] == []  # a clean browser session
    assert view.locator("#findings li.empty").count() == 1


def test_with_an_upstream_credential_only_listed_origins_may_read(
    page: Page, page_origin: str, mock: MockServer, start_proxy: StartProxy
) -> None:
    secret = {"upstream_headers": (("Authorization", "ApiKey proxy-key"),)}
    closed_url, closed = start_proxy(**secret, cors_origins=("http://127.0.0.1:1",))
    refused = run_case(page, page_origin, name="foreign", url=closed_url + STEPS)
    assert not refused["reached"], refused
    assert closed.traffic.snapshot()["counts"]["exchanges"] == 0  # never forwarded

    open_url, opened = start_proxy(**secret, cors_origins=(page_origin,))
    allowed = run_case(page, page_origin, name="listed", url=open_url + STEPS, steps="kibana")
    assert allowed["reached"], allowed
    assert allowed["status"] == 200
    assert opened.traffic.wait_idle(30, exchanges=1)
