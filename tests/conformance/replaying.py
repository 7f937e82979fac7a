"""Helpers for the replay tests: what the run viewer asks, and a recording with a renamed run."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

from conformance.har import HarWriter
from tests.conformance.recording import Recording

AUTH = {
    "kibana": {"Authorization": "ApiKey test-key", "kbn-xsrf": "true"},
    "arcee": {"Authorization": "Bearer test-key"},
    "trigify": {"x-api-key": "test-key"},
}

# What the run viewer asks (mock_server/viewer/viewer.js ADAPTERS): workflows, a workflow's
# runs, a run; and where the ids are in those answers.
VIEWER: dict[str, dict[str, Any]] = {
    "kibana": {
        "workflows": "/api/workflows?size=100",
        "workflow_ids": lambda body: [w["id"] for w in body["results"]],
        "runs": lambda wf: f"/api/workflows/workflow/{wf}/executions?size=100",
        "run_ids": lambda body: [r["id"] for r in body["results"]],
        "run": lambda wf, run: f"/api/workflows/executions/{run}",
    },
    "arcee": {
        "workflows": "/api/v1/workflow/workflows",
        "workflow_ids": lambda body: [w["workflow_id"] for w in body],
        "runs": lambda wf: f"/api/v1/workflow/workflows/{wf}/runs?limit=100",
        "run_ids": lambda body: [r["id"] for r in body],
        "run": lambda wf, run: f"/api/v1/workflow/workflows/{wf}/runs/{run}",
    },
    "trigify": {
        "workflows": "/v1/workflows?limit=100",
        "workflow_ids": lambda body: [w["id"] for w in body["data"]["items"]],
        "runs": lambda wf: f"/v1/workflows/{wf}/executions?page_size=100",
        "run_ids": lambda body: [r["run_id"] for r in body["data"]["executions"]],
        "run": lambda wf, run: f"/v1/workflows/{wf}/executions/{run}",
    },
}


def viewer_runs(client: Any, api: str) -> list[tuple[str, str]]:
    """(workflow, run) pairs the viewer lists whose run detail opens (200)."""
    view, headers = VIEWER[api], AUTH[api]
    shown: list[tuple[str, str]] = []
    listing = client.get(view["workflows"], headers=headers)
    assert listing.status_code == 200
    for workflow in view["workflow_ids"](listing.get_json()):
        runs = client.get(view["runs"](workflow), headers=headers)
        if runs.status_code != 200:
            continue
        for run in view["run_ids"](runs.get_json()):
            if client.get(view["run"](workflow, run), headers=headers).status_code == 200:
                shown.append((workflow, run))
    return shown


def rename_run(recording: Recording, run: str, new: str, path: Path) -> Path:
    """``recording`` with ``run`` called ``new`` everywhere (URLs and bodies), written to
    ``path``: a run only the recording knows."""
    with HarWriter(path) as writer:
        for entry in recording.entries:
            writer.add(
                replace(
                    entry,
                    url=entry.url.replace(run, new),
                    response_body=entry.response_body.replace(run.encode(), new.encode()),
                )
            )
    return path
