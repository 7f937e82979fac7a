"""What the lifecycle checks know about each API's writes: how to start a run and whom to start.

- ``LIFECYCLES``: per API, the operation that starts a run, the response field carrying the new
  run's id (and the object it sits in), the headers every write needs (Kibana's ``kbn-xsrf``) and
  the resume and cancel operations (Kibana only). ``NO_START`` says why an API has no lifecycle
  checks (none today: Trigify's ``POST /v1/workflows/{id}/test`` starts a test run).
- ``candidates``: the workflows of a workflow-list body that can be started, with their
  definition, and whether a human-in-the-loop step (``waitForInput``/``waitForApproval``) is in
  it; found from the definition itself, so the kit works against any server, not a scenario.
  Kibana skips disabled or invalid workflows, Arcee inactive ones (documented states that
  cannot run).
- ``start_body`` and ``resume_input``: request bodies in the documented shape, with a value for
  every input the definition declares (its default when it has one). Trigify's test run mocks
  every action (``test_config.action_mocks``) except ``builtin:`` control flow: on a real
  Trigify a test run executes real actions and costs credits, and a mocked action does neither.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from conformance._operations import ApiProfile, IdKind, path_params

if TYPE_CHECKING:
    from conformance._specs import Operation

SAMPLE_TEXT = "stepspec lifecycle check"
"""The value the kit sends for a text input without a default."""
HITL_STEP_TYPES = frozenset(
    {"waitForInput", "waitForApproval", "wait_for_input", "wait_for_approval"}
)
"""Kibana's human-in-the-loop step types (camelCase in the code, snake_case in a docs example)."""
WAITING = "waiting_for_input"


@dataclass(frozen=True)
class Lifecycle:
    """The writes of one API that the lifecycle checks use."""

    start: str
    """operationId of the operation that starts a run."""
    started_id: str
    """Field of the start response that holds the new run's id."""
    write_headers: Mapping[str, str]
    resume: str | None = None
    cancel: str | None = None
    started_in: tuple[str, ...] = ()
    """Keys of the object of the start response that holds ``started_id`` (``()``: the body)."""


LIFECYCLES: dict[str, Lifecycle] = {
    "kibana": Lifecycle(
        start="runWorkflow",
        started_id="workflowExecutionId",
        # Kibana refuses a write without kbn-xsrf (any value) with a 400.
        write_headers={"kbn-xsrf": "stepspec"},
        resume="resumeExecution",
        cancel="cancelExecution",
    ),
    "arcee": Lifecycle(start="executeWorkflow", started_id="run_id", write_headers={}),
    # WF-TEST: "returns a test_run_id immediately; poll Get Execution Detail".
    "trigify": Lifecycle(
        start="testWorkflow", started_id="test_run_id", write_headers={}, started_in=("data",)
    ),
}
NO_START: dict[str, str] = {}
"""Why an API has no lifecycle checks, for APIs that document no way to start a run."""
WRITE_NOTES: dict[str, str] = {
    "arcee": "on a real Arcee a started workflow runs its real nodes (integrations included)",
    "trigify": "on a real Trigify a test run executes real actions and costs credits; the kit "
    "mocks every action with test_config.action_mocks (builtin: control flow excepted)",
}
"""What a write does on the real service, said wherever the kit reports starting a run."""


@dataclass(frozen=True)
class Candidate:
    """A workflow the kit may start."""

    workflow_id: str
    definition: Mapping[str, Any]
    """Kibana: the workflow definition; Arcee: the workflow graph (``{}`` when unknown)."""
    hitl: bool
    """Whether a human-in-the-loop step is somewhere in the definition."""

    @property
    def wait_times_out(self) -> bool:
        """Whether one of its human-in-the-loop steps ends the wait by itself (``timeout``)."""
        return any("timeout" in step for step in hitl_steps(self.definition))


def candidates(api: str, body: Any, preferred: str | None = None) -> list[Candidate]:
    """The startable workflows of a workflow-list ``body``, ``preferred`` (--workflow-id) first."""
    found: list[Candidate] = []
    listed: set[str] = set()
    for item in _workflow_items(api, body):
        ident = item.get("workflow_id" if api == "arcee" else "id")
        if not isinstance(ident, str) or not ident:
            continue
        listed.add(ident)
        if api == "kibana" and (item.get("enabled") is False or item.get("valid") is False):
            continue  # documented: a disabled or invalid workflow cannot run (400)
        if api == "arcee" and item.get("status") == "inactive":
            continue  # documented state ("active or inactive"); an inactive workflow cannot run
        definition = _definition(api, item)
        found.append(Candidate(ident, definition, any(True for _ in hitl_steps(definition))))
    if preferred is not None:
        found.sort(key=lambda candidate: candidate.workflow_id != preferred)
        if preferred not in listed:  # not on this page: trust the user's --workflow-id
            found.insert(0, Candidate(preferred, {}, False))
    return found


def _workflow_items(api: str, body: Any) -> list[dict[str, Any]]:
    items = body.get("results") if api == "kibana" and isinstance(body, dict) else body
    if api == "trigify":  # {success, data: {items}}
        data = body.get("data") if isinstance(body, dict) else None
        items = data.get("items") if isinstance(data, dict) else None
    return [item for item in items if isinstance(item, dict)] if isinstance(items, list) else []


def _definition(api: str, item: Mapping[str, Any]) -> Mapping[str, Any]:
    if api == "arcee":
        graph = item.get("graph")
        return graph if isinstance(graph, dict) else {}
    if api == "trigify":
        definition = item.get("workflow")
        return definition if isinstance(definition, dict) else {}
    definition = item.get("definition")
    if isinstance(definition, dict):
        return definition
    text = item.get("yaml")
    if isinstance(text, str):
        import yaml

        try:
            parsed = yaml.safe_load(text)
        except yaml.YAMLError:
            return {}
        return parsed if isinstance(parsed, dict) else {}
    return {}


def hitl_steps(definition: Any) -> Iterator[Mapping[str, Any]]:
    """Every human-in-the-loop step of a Kibana definition, nested ones included."""
    if isinstance(definition, dict):
        if definition.get("type") in HITL_STEP_TYPES:
            yield definition
        for value in definition.values():
            yield from hitl_steps(value)
    elif isinstance(definition, list):
        for item in definition:
            yield from hitl_steps(item)


def sample(type_name: Any, options: Any = None) -> Any:
    """A harmless value of a declared input type."""
    if isinstance(options, list) and options:
        return options[0]
    return {
        "number": 1,
        "integer": 1,
        "boolean": True,
        "array": [],
        "object": {},
    }.get(str(type_name), SAMPLE_TEXT)


def start_body(api: str, candidate: Candidate) -> dict[str, Any]:
    """The documented start request: Kibana ``{inputs: {...}}``, Arcee a flat object of inputs,
    Trigify ``{test_config: {action_mocks}}`` stubbing every action (``{}`` when none is known)."""
    if api == "trigify":
        return {"test_config": {"action_mocks": _trigify_mocks(candidate.definition)}}
    if api == "arcee":
        declared = candidate.definition.get("input_data")
        values = declared if isinstance(declared, dict) else {}
        return {
            name: value if value not in ("", None) else SAMPLE_TEXT
            for name, value in values.items()
        }
    return {"inputs": _kibana_inputs(candidate.definition.get("inputs"))}


def _trigify_mocks(definition: Mapping[str, Any]) -> dict[str, Any]:
    """An enabled mock with an empty output for every action that has side effects."""
    actions = definition.get("actions")
    mocks: dict[str, Any] = {}
    for action in actions if isinstance(actions, list) else []:
        if not isinstance(action, dict) or not isinstance(action.get("id"), str):
            continue
        if str(action.get("kind", "")).startswith("builtin:"):
            continue  # control flow (if, loop) runs no action of its own
        mocks[action["id"]] = {"enabled": True, "output": {}}
    return mocks


def _kibana_inputs(declared: Any) -> dict[str, Any]:
    values: dict[str, Any] = {}
    if isinstance(declared, list):  # [{name, type, default?, required?, options?}]
        for item in declared:
            if isinstance(item, dict) and isinstance(item.get("name"), str):
                values[item["name"]] = (
                    item["default"]
                    if "default" in item
                    else sample(item.get("type"), item.get("options"))
                )
    elif isinstance(declared, dict):  # JSON-schema style {properties, required}
        properties = declared.get("properties")
        for name, spec in (properties if isinstance(properties, dict) else {}).items():
            spec = spec if isinstance(spec, dict) else {}
            values[name] = (
                spec["default"] if "default" in spec else sample(spec.get("type"), spec.get("enum"))
            )
    return values


def resume_input(definition: Mapping[str, Any], step_name: Any) -> dict[str, Any]:
    """A resume ``input`` that approves and fills every field the step's schema requires."""
    payload: dict[str, Any] = {"approved": True, "comment": SAMPLE_TEXT}
    for step in hitl_steps(definition):
        if step.get("name") != step_name:
            continue
        settings = step.get("with")
        schema = settings.get("schema") if isinstance(settings, dict) else None
        properties = schema.get("properties") if isinstance(schema, dict) else None
        required = schema.get("required") if isinstance(schema, dict) else None
        for name in required if isinstance(required, list) else []:
            if isinstance(name, str) and name not in payload:
                spec = properties.get(name) if isinstance(properties, dict) else None
                spec = spec if isinstance(spec, dict) else {}
                payload[name] = sample(spec.get("type"), spec.get("enum"))
    return payload


def path_values(
    profile: ApiProfile, operation: Operation, **ids: str | None
) -> dict[str, str] | None:
    """Path parameters of an operation from ids by kind (``workflow=``, ``run=``, ``step=``)."""
    params: dict[str, str] = {}
    for name in path_params(operation):
        kind: IdKind | None = profile.id_params.get(name)
        value = ids.get(kind) if kind is not None else None
        if value is None:
            return None
        params[name] = value
    return params
