"""Arcee payloads from timelines: steps, runs and workflows in the documented shapes.

Rendering is the only place that knows Arcee's field names. Every duration is computed from the
two timestamps as rendered (``elapsed_time`` = whole seconds between them, rounded down), so a
client that recomputes it from the payload always agrees. Statuses map one to one from the
neutral timeline (only ``completed`` is documented; ``running`` and ``failed`` are inferred).

Decisions on documented conflicts:

- ``error`` is ``null`` when there is none (the example), not ``""`` (the syntax block).
- A run's ``outputs`` is the documented *string* (the selected node's text, or the last node's
  when the run took a branch without it) in the history and
  the documented *object* (same as ``all_outputs``) in the single-run answer, for completed runs;
  a failed run shows its partial outputs object and a running run ``{}`` in both.
- Running steps and runs have ``end_time: null`` and ``elapsed_time`` counted up to "now".
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import orjson

from mock_server._stamp import iso_micros, space_timestamp
from mock_server._timeline import RunTimeline, Status, StepRun
from mock_server.arcee._graph import END, START, Workflow
from mock_server.arcee._naming import uuid_text

Json = Any
_STATUS = {
    Status.COMPLETED: "completed",
    Status.FAILED: "failed",
    Status.RUNNING: "running",
    Status.PENDING: "pending",
}
_BUCKET = "orchestra-workflows"


@dataclass(frozen=True, slots=True)
class Tenant:
    """Who owns the rendered entities: user and organization ids (masked for the docs' run)."""

    user_id: str
    organization_id: str
    colleague_id: str


def status_text(status: Status) -> str:
    """Arcee's word for a neutral status (anything unusual reads as ``running``)."""
    return _STATUS.get(status, "running")


def elapsed_seconds(start_us: int, end_us: int) -> int:
    """Whole seconds between two instants, rounded down (never negative)."""
    return max(0, (end_us - start_us) // 1_000_000)


def step_payload(
    step: StepRun, step_id: str, run_id: str, tenant: Tenant, now_us: int
) -> dict[str, Json]:
    """One element of ``GET .../runs/{run_id}/steps``."""
    started = step.started_us if step.started_us is not None else now_us
    finished = step.finished_us
    error = step.plan.error.message if step.status is Status.FAILED and step.plan.error else None
    return {
        "id": step_id,
        "user_id": tenant.user_id,
        "organization_id": tenant.organization_id,
        "node_id": step.plan.step_key,
        "status": status_text(step.status),
        "start_time": iso_micros(started),
        "end_time": None if finished is None else iso_micros(finished),
        "elapsed_time": elapsed_seconds(started, now_us if finished is None else finished),
        "error": error,
        "outputs": step.plan.output if finished is not None else {},
        "inputs": step.plan.input,
        "step_metadata": None,
        "tokens": 0,
    }


def run_error(timeline: RunTimeline) -> str | None:
    """The run-level error: which node failed and why."""
    for step in timeline.steps:
        if step.status is Status.FAILED and step.plan.error is not None:
            return f"Node '{step.plan.step_key}' failed: {step.plan.error.message}"
    return None


def all_outputs(timeline: RunTimeline, values: Mapping[str, Json]) -> dict[str, Json]:
    """Input variables, then the value of every node that completed, in execution order."""
    found: dict[str, Json] = dict(timeline.plan.inputs)
    for step in timeline.steps:
        if step.status is Status.COMPLETED and step.plan.step_key in values:
            found[step.plan.step_key] = values[step.plan.step_key]
    return found


def run_payload(
    timeline: RunTimeline,
    values: Mapping[str, Json],
    selected_output: str,
    now_us: int,
    *,
    detail: bool,
) -> dict[str, Json]:
    """A run as the history (``detail=False``) or the single-run answer (``detail=True``)."""
    started, finished = timeline.plan.started_us, timeline.finished_us
    everything = all_outputs(timeline, values)
    outputs: Json = {}
    if timeline.status is Status.COMPLETED:
        # The selected node may sit on a branch this run did not take: then the last node's.
        final = everything.get(selected_output, list(everything.values())[-1])
        text = final if isinstance(final, str) else orjson.dumps(final).decode()
        outputs = everything if detail else text
    elif timeline.status is Status.FAILED:
        outputs = everything
    return {
        "id": timeline.plan.run_id,
        "status": status_text(timeline.status),
        "start_time": iso_micros(started),
        "end_time": None if finished is None else iso_micros(finished),
        "elapsed_time": elapsed_seconds(started, now_us if finished is None else finished),
        "error": run_error(timeline),
        "outputs": outputs,
        "all_outputs": everything,
        "inputs": dict(timeline.plan.inputs),
    }


def _canvas(workflow: Workflow, workflow_id: str, key: bytes) -> str:
    """The editor canvas as the JSON string the docs show (``node_metadata``)."""

    def canvas_id(name: str) -> str:
        digest = hashlib.blake2b(f"{workflow_id}/{name}".encode(), digest_size=8, key=key)
        return uuid_text(int.from_bytes(digest.digest(), "big"), key)

    ids = {START: canvas_id(START), END: canvas_id(END)}
    nodes: list[dict[str, Json]] = [
        {
            "id": ids[START],
            "type": "start",
            "data": {
                "inputData": list(workflow.input_names),
                "customName": "Start 1",
                "customLabel": "start_1",
            },
            "position": {"x": 400, "y": 250},
        }
    ]
    counts: dict[str, int] = {}
    for column, node in enumerate(workflow.nodes, start=1):
        ids[node.node_id] = canvas_id(node.node_id)
        counts[node.kind] = counts.get(node.kind, 0) + 1
        nodes.append(
            {
                "id": ids[node.node_id],
                "type": node.kind.value,
                "data": {
                    "customName": f"{node.label} {counts[node.kind]}",
                    "customLabel": node.node_id,
                },
                "position": {"x": 400 + 360 * column, "y": 250},
            }
        )
    edges = [
        {"id": f"e-{source}-{target}", "source": ids[source], "target": ids[target]}
        for source, target in workflow.edges
        if source in ids and target in ids
    ]
    return orjson.dumps({"nodes": nodes, "edges": edges}).decode()


def graph_payload(workflow: Workflow, workflow_id: str, key: bytes) -> dict[str, Json]:
    """The workflow's ``graph`` object."""
    finishers = [source for source, target in workflow.edges if target == END]
    return {
        "settings": {"support_multiple_edges": workflow.multiple_edges},
        "input_data": dict.fromkeys(workflow.input_names, ""),
        "description": workflow.description,
        "nodes": {
            node.node_id: {
                "type": node.kind.value,
                "metadata": {"description": node.label, **node.metadata},
            }
            for node in workflow.nodes
        },
        "edges": [[source, target] for source, target in workflow.edges],
        "entry_point": workflow.successors(START)[0],
        "finish_point": finishers[0],
        "selectedOutput": workflow.selected_output,
        "node_metadata": _canvas(workflow, workflow_id, key),
    }


def workflow_payload(
    workflow: Workflow,
    workflow_id: str,
    tenant: Tenant,
    created_us: int,
    updated_us: int,
    key: bytes,
) -> dict[str, Json]:
    """One element of ``GET /workflows``."""
    slug = "-".join(workflow.name.lower().split())
    object_key = f"{tenant.organization_id}/workflows/{slug}-{workflow_id[:8]}.yaml"
    return {
        "workflow_id": workflow_id,
        "user_id": tenant.user_id,
        "organization_id": tenant.organization_id,
        "created_at": space_timestamp(created_us),
        "created_by": tenant.user_id,
        "description": workflow.description,
        "file_metadata": {
            "bucket": _BUCKET,
            "url": f"https://{_BUCKET}.s3.amazonaws.com/{object_key}",
            "key": object_key,
        },
        "graph": graph_payload(workflow, workflow_id, key),
        "name": workflow.name,
        "status": workflow.status,
        "updated_at": space_timestamp(updated_us),
        "updated_by": tenant.colleague_id if workflow.edited_by_colleague else tenant.user_id,
        "version": str(workflow.version),
        "public": workflow.public,
    }
