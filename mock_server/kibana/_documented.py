"""The vendor's documented examples, resolvable by their documented ids.

``GET /api/workflows/executions/exec-a1b2c3d4-e5f6-7890/step/step-exec-001`` must return the
docs' console-step example exactly, and ``.../step/step-exec-002`` the HITL example. The two
payloads are read from the seed fixtures (kept byte-for-byte in ``conformance.fixtures``) and
served as parsed, key order included. The execution and the workflow they name exist too and
agree with them: the execution is ``completed``, started at the docs' ``12:00:00`` and finished
with its last step (``12:05:30``), and embeds both steps without ``input``/``output``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from functools import cache
from importlib import resources
from typing import Any

from mock_server.kibana._templates import DOCUMENTED, definition, yaml_text

Json = Any
WORKFLOW_ID = "workflow-a1b2c3d4-e5f6-7890-abcd-ef1234567890"
EXECUTION_ID = "exec-a1b2c3d4-e5f6-7890"
STEP_FIXTURES = ("seed-console-step.json", "seed-hitl-step.json")
STARTED_AT = "2025-11-20T12:00:00.000Z"
CREATED_AT = "2025-11-18T09:12:44.000Z"
AUTHOR = "elastic"


@cache
def steps() -> tuple[Mapping[str, Json], ...]:
    """The documented step executions, in ``globalExecutionIndex`` order."""
    folder = resources.files("conformance.fixtures") / "kibana" / "step-execution" / "valid"
    loaded = [json.loads((folder / name).read_text(encoding="utf-8")) for name in STEP_FIXTURES]
    return tuple(sorted(loaded, key=lambda step: int(step["globalExecutionIndex"])))


@cache
def workflow_definition() -> Mapping[str, Json]:
    """The documented workflow (``Hello world``) with both documented steps."""
    return definition(DOCUMENTED, DOCUMENTED.name)


@cache
def workflow_yaml() -> str:
    """Its YAML."""
    return yaml_text(workflow_definition())


def _finished() -> str:
    return max(str(step["finishedAt"]) for step in steps())


def duration_ms() -> int:
    """The execution's duration, derived from its documented steps."""
    from mock_server._timeline import parse_iso

    return (parse_iso(_finished()) - parse_iso(STARTED_AT)) // 1000


def list_item() -> dict[str, Json]:
    """The documented execution as a list item."""
    return {
        "spaceId": "default",
        "id": EXECUTION_ID,
        "status": "completed",
        "error": None,
        "isTestRun": False,
        "startedAt": STARTED_AT,
        "finishedAt": _finished(),
        "duration": duration_ms(),
        "workflowId": WORKFLOW_ID,
        "workflowName": DOCUMENTED.name,
        "triggeredBy": "manual",
        "executedBy": AUTHOR,
    }


def execution(step_payloads: list[dict[str, Json]]) -> dict[str, Json]:
    """The documented execution's detail document around ``step_payloads``."""
    item = list_item()
    return {
        "id": EXECUTION_ID,
        "spaceId": "default",
        "status": "completed",
        "isTestRun": False,
        "startedAt": STARTED_AT,
        "finishedAt": item["finishedAt"],
        "duration": item["duration"],
        "error": None,
        "workflowId": WORKFLOW_ID,
        "workflowName": DOCUMENTED.name,
        "workflowDefinition": dict(workflow_definition()),
        "yaml": workflow_yaml(),
        "executedBy": AUTHOR,
        "createdBy": AUTHOR,
        "triggeredBy": "manual",
        "createdAt": STARTED_AT,
        "cancelRequested": False,
        "context": {"inputs": {"message": "hello world"}},
        "scopeStack": [],
        "stepExecutionIds": [step["id"] for step in step_payloads],
        "stepExecutions": step_payloads,
    }
