"""The traffic view lists the newest request first, whatever order the answers were logged in."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from conformance.har import HarEntry
from mock_server.proxy import ProxyConfig
from mock_server.proxy._traffic import TrafficLog

STEPS = "http://127.0.0.1:9/api/workflows/executions/e/steps"


def test_an_answer_logged_late_is_listed_by_when_its_request_began() -> None:
    """Two handler threads can log out of order: the client may send its next request before
    the proxy logged the answer to the last one."""
    log = TrafficLog(
        ProxyConfig(api="kibana", target="http://127.0.0.1:9"), emit=lambda _line: None
    )
    began = datetime(2026, 12, 5, 12, 0, tzinfo=UTC)
    try:
        later = HarEntry("GET", STEPS, status=401, started=began + timedelta(milliseconds=40))
        earlier = HarEntry("GET", STEPS, status=200, started=began)
        log.add(later, judge=False)
        log.add(earlier, judge=False)
        statuses = [row["status"] for row in log.snapshot()["exchanges"]]
    finally:
        log.close()
    assert statuses == [401, 200]
