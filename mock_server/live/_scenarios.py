"""Scenarios: named workflow definitions a caller picks when starting a live run.

A scenario is one YAML file in ``fixtures/scenarios/`` (package data ``conformance.fixtures``),
checked once when first loaded; a bad file raises ``ScenarioError`` naming the file and the
problem. Its fields:

- ``name`` (the file's stem) and ``description``;
- ``outcome``: how the run ends unless a client acts: ``completed``, ``failed``, or ``waiting``
  (it stops at a ``waitForInput`` step until resumed, or until the step's ``timeout``);
- ``workflow``: the definition in Kibana's workflow language (``name``, ``inputs``, ``steps``);
  Kibana runs follow it step by step and show it as ``workflowDefinition``;
- ``fail_step`` (``outcome: failed``): the step that fails, and with it the run;
- ``durations``: optional step name -> duration (``"800ms"``, ``"4s"``, ``"2m"``), so a scenario
  takes a predictable time (other steps draw theirs);
- ``items``: optional number of items a ``foreach`` iterates over;
- ``arcee.fail_kind``: for Arcee runs of a failing scenario, the node kind that fails (the first
  node of that kind on the run's path; without one, the last node). Arcee has no
  human-in-the-loop step, so a ``waiting`` scenario simply completes there.

How a caller picks one: the ``X-Stepspec-Scenario`` header (every API), or the input field
``stepspec_scenario`` (Kibana: in ``inputs``; Arcee: in the body of input variables); the field is
consumed, not stored as an input. An unknown name is a 400 that lists the known ones.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from typing import Any

import yaml

HEADER = "X-Stepspec-Scenario"
INPUT_FIELD = "stepspec_scenario"
OUTCOMES = frozenset({"completed", "failed", "waiting"})
STEP_TYPES = frozenset(
    {"console", "http", "if", "foreach", "wait", "waitForInput", "ai.prompt", "ai.agent",
     "elasticsearch.search", "elasticsearch.esql.query", "elasticsearch.index",
     "kibana.createCase", "cases.createCase", "slack", "workflow.execute"}
)  # fmt: skip
"""Step types the Kibana renderer draws realistic, schema-valid content for."""
ARCEE_KINDS = frozenset({"model", "code", "integration", "knowledge_retrieval", "conditional"})
_DURATION = re.compile(r"(\d+)(ms|s|m|h)")
_UNIT_MS = {"ms": 1, "s": 1000, "m": 60_000, "h": 3_600_000}

Json = Any


class ScenarioError(ValueError):
    """A scenario file that cannot be used (the message names the file and the problem)."""


class UnknownScenario(LookupError):
    """A caller asked for a scenario that does not exist (the message lists the known ones)."""


@dataclass(frozen=True)
class Scenario:
    """One scenario, as loaded and checked."""

    name: str
    description: str
    outcome: str
    workflow: Mapping[str, Json]
    fail_step: str | None = None
    durations_ms: Mapping[str, int] = field(default_factory=dict)
    items: int | None = None
    arcee_fail_kind: str | None = None


def duration_ms(text: str) -> int:
    """``"800ms"`` -> 800, ``"4s"`` -> 4000, ``"2m"`` -> 120000."""
    found = _DURATION.fullmatch(str(text).strip())
    if found is None:
        raise ValueError(f"{text!r} is not a duration like 800ms, 4s, 2m or 1h")
    return int(found.group(1)) * _UNIT_MS[found.group(2)]


def _walk(steps: Json) -> Iterator[Mapping[str, Json]]:
    for step in steps or []:
        yield step
        yield from _walk(step.get("steps"))
        yield from _walk(step.get("else"))


def _check_steps(steps: Json, where: str) -> None:
    if not isinstance(steps, list) or not steps:
        raise ValueError(f"{where} must be a non-empty list of steps")
    for index, step in enumerate(steps):
        here = f"{where}[{index}]"
        if not isinstance(step, Mapping):
            raise ValueError(f"{here} must be a mapping")
        if not isinstance(step.get("name"), str) or not step["name"]:
            raise ValueError(f"{here} needs a non-empty string 'name'")
        if step.get("type") not in STEP_TYPES:
            raise ValueError(
                f"{here}.type {step.get('type')!r} is not one of {', '.join(sorted(STEP_TYPES))}"
            )
        for nested in ("steps", "else"):
            if nested in step:
                _check_steps(step[nested], f"{here}.{nested}")


def parse_scenario(name: str, text: str) -> Scenario:
    """Check and build the scenario ``name`` from its YAML ``text``."""
    try:
        data = yaml.safe_load(text)
        if not isinstance(data, Mapping):
            raise ValueError("the document must be a mapping")
        if data.get("name") != name:
            raise ValueError(f"'name' must be {name!r} (the file's name), got {data.get('name')!r}")
        if not isinstance(data.get("description"), str) or not data["description"]:
            raise ValueError("'description' must be a non-empty string")
        outcome = data.get("outcome")
        if outcome not in OUTCOMES:
            raise ValueError(f"'outcome' {outcome!r} is not one of {', '.join(sorted(OUTCOMES))}")
        workflow = data.get("workflow")
        if not isinstance(workflow, Mapping) or not isinstance(workflow.get("name"), str):
            raise ValueError("'workflow' must be a mapping with a string 'name'")
        _check_steps(workflow.get("steps"), "workflow.steps")
        steps = {step["name"]: step for step in _walk(workflow["steps"])}
        fail_step = data.get("fail_step")
        if (outcome == "failed") != (fail_step is not None):
            raise ValueError("'fail_step' is required for outcome 'failed', and only then")
        if fail_step is not None and fail_step not in steps:
            raise ValueError(f"'fail_step' {fail_step!r} names no step of the workflow")
        waits = [s for s in steps.values() if s["type"] == "waitForInput"]
        if outcome == "waiting" and not waits:
            raise ValueError("outcome 'waiting' needs a waitForInput step")
        durations = {str(k): duration_ms(v) for k, v in (data.get("durations") or {}).items()}
        unknown = sorted(set(durations) - set(steps))
        if unknown:
            raise ValueError(f"'durations' names unknown steps {unknown!r}")
        items = data.get("items")
        if items is not None and (not isinstance(items, int) or not 1 <= items <= 100):
            raise ValueError(f"'items' must be an integer in 1..100, got {items!r}")
        kind = (data.get("arcee") or {}).get("fail_kind")
        if kind is not None and kind not in ARCEE_KINDS:
            raise ValueError(f"'arcee.fail_kind' {kind!r} is not one of {sorted(ARCEE_KINDS)}")
    except (ValueError, yaml.YAMLError) as problem:
        raise ScenarioError(f"scenario {name}.yaml: {problem}") from None
    return Scenario(
        name=name,
        description=data["description"],
        outcome=outcome,
        workflow=dict(workflow),
        fail_step=fail_step,
        durations_ms=durations,
        items=items,
        arcee_fail_kind=kind,
    )


@cache
def scenarios() -> Mapping[str, Scenario]:
    """Every shipped scenario by name (loaded and checked once per process)."""
    folder = resources.files("conformance.fixtures") / "scenarios"
    found = {}
    for entry in sorted(folder.iterdir(), key=lambda e: e.name):
        if entry.name.endswith(".yaml"):
            name = entry.name.removesuffix(".yaml")
            found[name] = parse_scenario(name, entry.read_text(encoding="utf-8"))
    return found


def scenario(name: str) -> Scenario:
    """The scenario ``name``; ``UnknownScenario`` (listing the known names) otherwise."""
    found = scenarios().get(name)
    if found is None:
        raise UnknownScenario(
            f"Unknown scenario {name!r}; known scenarios: {', '.join(sorted(scenarios()))}"
        )
    return found


def requested_scenario(header: str | None, inputs: Mapping[str, Json]) -> Scenario | None:
    """The scenario a start request asks for (header first, then the input field), or None.

    Raises ``UnknownScenario`` for a name that does not exist (or a field that is no string).
    """
    name: Json = header if header else inputs.get(INPUT_FIELD)
    if name is None:
        return None
    if not isinstance(name, str):
        raise UnknownScenario(
            f"{INPUT_FIELD} must be a string; known scenarios: {', '.join(sorted(scenarios()))}"
        )
    return scenario(name.strip())
