"""Discovery samples the server (issue 10 item 5): runs of every status it sees are read by id, so
the response checks meet every shape the server serves, not only the newest workflow's run."""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable
from typing import Any

import pytest

pytestmark = pytest.mark.slow

RUN_BY_ID = {
    "kibana": r"^/api/workflows/executions/[^/]+$",
    "arcee": r"^/api/v1/workflow/workflows/[^/]+/runs/[^/]+$",
    "trigify": r"^/v1/workflows/[^/]+/executions/[^/]+$",
}
MOCK_STATUSES = {"kibana": 5, "arcee": 3, "trigify": 3}
"""Distinct run statuses the seeded mock world shows in the workflows discovery samples."""


def _status(body: Any) -> str | None:
    if isinstance(body, list) and body:
        body = body[0]
    if not isinstance(body, dict):
        return None
    status = body.get("status") or (body.get("data") or {}).get("status")
    return status if isinstance(status, str) else None


@pytest.mark.parametrize("api", RUN_BY_ID)
def test_discovery_reads_a_run_of_every_status(
    api: str, app_factory: Any, served: Any, run_check: Callable[..., Any]
) -> None:
    app = app_factory()
    app.testing = False
    statuses: list[str | None] = []
    inner = app.wsgi_app

    def wsgi(environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        body = b"".join(inner(environ, start_response))
        if re.match(RUN_BY_ID[api], environ["PATH_INFO"]):
            statuses.append(_status(json.loads(body)))
        return [body]

    app.wsgi_app = wsgi
    with served(app) as url:
        result = run_check(
            "--api", api, "--base-url", url, "--checks", "body_matches_schema", "--format", "json"
        )
    report = json.loads(result.stdout)
    assert result.exit_code == 0, json.dumps(report["findings"])[:2000]
    assert len(set(statuses)) >= MOCK_STATUSES[api], statuses
    assert {"completed", "failed"} <= set(statuses)
    assert report["ids"]["runs"] >= MOCK_STATUSES[api]
