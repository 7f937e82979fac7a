"""The docs' own example, served at its documented ids.

The Execution Detail page shows execution ``run_x7k9m2`` of workflow ``wf_abc123``; the Get
Workflow page shows that workflow. Both are served from the shipped fixtures: the execution byte
for byte (``fixtures/trigify/execution-response/valid/seed-completed-execution.json``), the
workflow from ``fixtures/trigify/workflow-response/valid/notes-get-workflow.json``. The workflow
lists this one execution, with the list item's values taken from the detail.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

import orjson

Json = Any
DOCUMENTED_WORKFLOW_ID = "wf_abc123"
DOCUMENTED_RUN_ID = "run_x7k9m2"
_EXECUTION = ("trigify", "execution-response", "valid", "seed-completed-execution.json")
_WORKFLOW = ("trigify", "workflow-response", "valid", "notes-get-workflow.json")


@dataclass(frozen=True)
class Documented:
    """The example workflow and execution."""

    execution_body: bytes
    """The whole ``{success, data}`` response, verbatim."""
    workflow: dict[str, Json]
    list_item: dict[str, Json]


@cache
def documented() -> Documented:
    """Read the fixtures once."""
    root = resources.files("conformance.fixtures")
    body = root.joinpath(*_EXECUTION).read_bytes()
    data = orjson.loads(body)["data"]
    workflow = orjson.loads(root.joinpath(*_WORKFLOW).read_bytes())["data"]
    item = {
        "run_id": data["run_id"],
        "status": data["status"],
        "started_at": data["started_at"],
        "completed_at": data["ended_at"],
        "duration": data["duration_ms"],
        "error": data.get("error"),
    }
    return Documented(body, workflow, item)
