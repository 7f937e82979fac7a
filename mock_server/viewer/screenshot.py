"""Render the run viewer in headless Chromium and save a PNG (``make screenshots``).

``python -m mock_server.viewer.screenshot docs/run-viewer.png`` serves the default mock (seed 0,
a temporary live-run store) on a free port of 127.0.0.1, opens a Kibana run that has a
human-in-the-loop wait and a failed step, selects the failed step and saves the page. The world
is deterministic and the viewer prints times in UTC, so the picture changes only when the mock's
data or the viewer does.

Chromium is Debian's (``apt-get install chromium``), driven by Playwright's Python package; never
``playwright install`` (it downloads browsers). ``STEPSPEC_CHROMIUM`` points elsewhere. The same
helpers start the browser for the tests in ``tests/frontend``.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from werkzeug.serving import WSGIRequestHandler, make_server

if TYPE_CHECKING:
    from _typeshed.wsgi import WSGIApplication
    from flask import Flask
    from playwright.sync_api import Browser, Page

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    # Without these Chromium phones home at start-up, and on a closed network those
    # connections are refused loudly.
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
)
VIEWPORT = {"width": 1440, "height": 900}
KIBANA_KEY = {"Authorization": "ApiKey stepspec-screenshot"}
TIMEOUT_MS = 15_000


class ChromiumMissing(RuntimeError):
    """Chromium is not installed where we look; the message says how to fix that."""


def chromium_path() -> str:
    """Where Chromium is: ``STEPSPEC_CHROMIUM`` or Debian's ``/usr/bin/chromium``."""
    return os.environ.get("STEPSPEC_CHROMIUM", CHROMIUM)


@contextmanager
def chromium() -> Iterator[Browser]:
    """A headless Chromium (Debian's, not Playwright's download), closed on exit."""
    from playwright.sync_api import sync_playwright

    path = chromium_path()
    if not os.access(path, os.X_OK):
        raise ChromiumMissing(
            f"Chromium not found at {path}: install it (apt-get install chromium) or set "
            "STEPSPEC_CHROMIUM to its path. Do not run `playwright install`."
        )
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=path, args=list(CHROMIUM_ARGS))
        try:
            yield browser
        finally:
            browser.close()


class _QuietHandler(WSGIRequestHandler):
    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        """No access log: the viewer's requests would drown the command's output."""


@contextmanager
def serve(app: WSGIApplication) -> Iterator[str]:
    """Serve ``app`` on a free port of 127.0.0.1 (threads) and yield its base URL."""
    server = make_server("127.0.0.1", 0, app, threaded=True, request_handler=_QuietHandler)
    thread = threading.Thread(target=server.serve_forever, name="stepspec-viewer", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


@dataclass(frozen=True)
class Showcase:
    """The Kibana run the screenshot shows, and which of its steps is selected."""

    workflow_id: str
    run_id: str
    step_index: int

    @property
    def fragment(self) -> str:
        """The viewer's location hash for this run and step."""
        return f"#/kibana/{self.workflow_id}/{self.run_id}?step={self.step_index}"


def pick_showcase(app: Flask) -> Showcase:
    """A run worth a picture: a HITL wait and a failure if any run has both, else the longest."""
    client = app.test_client()
    best: tuple[tuple[int, int], Showcase] | None = None
    workflows = client.get("/api/workflows", headers=KIBANA_KEY).get_json()["results"]
    for workflow in workflows:
        runs = client.get(
            f"/api/workflows/workflow/{workflow['id']}/executions?size=100", headers=KIBANA_KEY
        ).get_json()["results"]
        for run in runs:
            steps: list[dict[str, Any]] = client.get(
                f"/api/workflows/executions/{run['id']}", headers=KIBANA_KEY
            ).get_json()["stepExecutions"]
            failed = [i for i, step in enumerate(steps) if step["status"] == "failed"]
            hitl = any("hitl" in step for step in steps)
            score = (int(hitl) + int(bool(failed)), -abs(len(steps) - 6))
            chosen = Showcase(workflow["id"], run["id"], failed[0] if failed else 0)
            if best is None or score > best[0]:
                best = (score, chosen)
    if best is None:
        raise SystemExit("the mock serves no Kibana run to show")
    return best[1]


_SHOWS_ROUTE = (
    "f => document.body.dataset.ready === 'true' && (!f || document.body.dataset.route === f)"
)
_SHOWS_STEP = """() => {
  const detail = document.getElementById("step-detail");
  const row = document.querySelector(".row.selected");
  return Boolean(detail && row && detail.dataset.stepKey === row.dataset.stepKey);
}"""


def open_viewer(page: Page, base_url: str, fragment: str = "") -> None:
    """Load the viewer and wait until it shows what ``fragment`` asks for (step included)."""
    page.goto(f"{base_url}/_stepspec/{fragment}")
    page.wait_for_function(_SHOWS_ROUTE, arg=fragment, timeout=TIMEOUT_MS)
    if "step=" in fragment:
        page.wait_for_function(_SHOWS_STEP, timeout=TIMEOUT_MS)


def capture(browser: Browser, base_url: str, showcase: Showcase, path: Path) -> Page:
    """Open ``showcase`` in a new page, save a PNG of the viewport at ``path``, return the page."""
    page = browser.new_page(viewport=VIEWPORT)  # type: ignore[arg-type]
    open_viewer(page, base_url, showcase.fragment)
    path.parent.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(path), animations="disabled", caret="hide")
    return page


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m mock_server.viewer.screenshot FILE``."""
    from mock_server import create_app

    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("output", type=Path, help="PNG file to write, e.g. docs/run-viewer.png")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="stepspec-screenshot-") as state_dir:
        app = create_app({"seed": 0, "state_path": os.path.join(state_dir, "state.sqlite3")})
        showcase = pick_showcase(app)
        try:
            with serve(app) as base_url, chromium() as browser:
                capture(browser, base_url, showcase, args.output).close()
        except ChromiumMissing as missing:
            print(f"error: {missing}", file=sys.stderr)
            return 3
    print(f"wrote {args.output} (Kibana run {showcase.run_id}, step {showcase.step_index})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
