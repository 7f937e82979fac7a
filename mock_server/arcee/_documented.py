"""The docs' own example, served at its documented ids.

The Workflow Execution Steps page shows a two-step run (``model`` then ``slack_integration``)
with run id ``5b69669f-975a-49af-a33a-61ff9ae5a20f``. Its steps are served byte for byte from
the seed fixture ``fixtures/arcee/step-list/valid/seed-model-then-slack.json``. The docs never
name the workflow, so stepspec gives it the id ``DOCUMENTED_WORKFLOW_ID`` (a UUID in the docs'
style) and a graph that matches the steps (prompt → model → Slack). The run's history and
single-run answers are derived from the fixture's steps, so all three endpoints agree.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

import orjson

from mock_server._stamp import iso_micros
from mock_server._timeline import parse_iso
from mock_server.arcee._graph import END, START, Node, NodeKind, Workflow
from mock_server.arcee._render import Tenant, elapsed_seconds

Json = Any
DOCUMENTED_WORKFLOW_ID = "4a1d7e52-9c3b-4f8e-a6d0-5b2c8e1f9a37"
DOCUMENTED_RUN_ID = "5b69669f-975a-49af-a33a-61ff9ae5a20f"
DOCUMENTED_TENANT = Tenant("2*****************1", "2*****************7", "2*****************1")
"""The docs mask the ids; the documented workflow keeps the masks so it matches its steps."""
DOCUMENTED_CREATED_US = parse_iso("2025-03-12T00:59:55.465508Z")
"""The workflow-list example's timestamp (a day before the example run)."""
_FIXTURE = ("arcee", "step-list", "valid", "seed-model-then-slack.json")


@dataclass(frozen=True)
class DocumentedRun:
    """The example run: the verbatim steps body and the run payload derived from it."""

    steps_body: bytes
    started_us: int
    finished_us: int
    inputs: dict[str, Json]
    all_outputs: dict[str, Json]
    text: str

    def run_payload(self, *, detail: bool) -> dict[str, Json]:
        """The run as the history (``detail=False``) or the single-run answer shows it."""
        return {
            "id": DOCUMENTED_RUN_ID,
            "status": "completed",
            "start_time": iso_micros(self.started_us),
            "end_time": iso_micros(self.finished_us),
            "elapsed_time": elapsed_seconds(self.started_us, self.finished_us),
            "error": None,
            "outputs": dict(self.all_outputs) if detail else self.text,
            "all_outputs": dict(self.all_outputs),
            "inputs": dict(self.inputs),
        }


@cache
def documented_run() -> DocumentedRun:
    """The example run, read once from the shipped fixture."""
    source = resources.files("conformance.fixtures").joinpath(*_FIXTURE)
    body = source.read_bytes()
    steps: list[dict[str, Json]] = orjson.loads(body)
    inputs = dict(steps[0]["inputs"]["input_data"])
    outputs: dict[str, Json] = dict(inputs)
    text = steps[0]["outputs"]["choices"][0]["message"]["content"]
    outputs["model"] = text
    outputs["slack_integration"] = steps[1]["outputs"]
    return DocumentedRun(
        steps_body=body,
        started_us=min(parse_iso(step["start_time"]) for step in steps),
        finished_us=max(parse_iso(step["end_time"]) for step in steps),
        inputs=inputs,
        all_outputs=outputs,
        text=text,
    )


@cache
def documented_workflow() -> Workflow:
    """A workflow whose graph produces the example's two steps."""
    model = Node(
        "model",
        NodeKind.MODEL,
        "Model node",
        {
            "model": "virtuoso-medium",
            "stream": False,
            "max_tokens": 8192,
            "temperature": 0.7,
            "top_p": 1,
            "top_k": 50,
            "repetition_penalty": 0,
            "messages": [{"role": "user", "content": "{{prompt}}"}],
            "output_mapping": {"model": "choices[0].message.content"},
        },
    )
    slack = Node(
        "slack_integration",
        NodeKind.INTEGRATION,
        "Slack",
        {
            "app_name": "slack",
            "action": "SLACK_SHARE_A_ME_MESSAGE_IN_A_CHANNEL",
            "input_mapping": {"channel": "orchestra-demo", "text": "{{model}}"},
            "tool_config": {"tool_type": "slack"},
        },
    )
    return Workflow(
        index=-1,
        name="Weather joke to Slack",
        description=(
            "Takes in a prompt, answers it with a model node and sends the answer to Slack "
            "(the Workflow Execution Steps example)."
        ),
        subject="the weather",
        input_names=("prompt",),
        nodes=(model, slack),
        edges=((START, "model"), ("model", "slack_integration"), ("slack_integration", END)),
        selected_output="model",
        version=1,
        public=False,
        status="active",
        edited_by_colleague=False,
    )
