"""The step-content table of ``mock_server.kibana._content``: every step type the seeded
workflows use has its own builder (none falls through to the generic echo of ``with``)."""

from __future__ import annotations

import random

from mock_server._vocab import vocabulary
from mock_server.kibana._content import BUILDERS, content
from mock_server.kibana._templates import BULK, DOCUMENTED, TEMPLATES, StepDef


def _types(steps: tuple[StepDef, ...]) -> set[str]:
    found: set[str] = set()
    for step in steps:
        found |= {step.type} | _types(step.steps) | _types(step.else_)
    return found


def test_every_seeded_step_type_has_a_builder() -> None:
    used = set().union(*(_types(t.steps) for t in (*TEMPLATES, BULK, DOCUMENTED)))
    assert used, "the templates define steps"
    assert used <= set(BUILDERS), sorted(used - set(BUILDERS))


def test_an_unknown_type_echoes_its_with() -> None:
    step = StepDef("custom", "vendor.unknown", {"answer": 42})
    drawn = content(step, random.Random(1), vocabulary(), {})
    assert (drawn.input, drawn.output) == ({"answer": 42}, None)
    assert 10_000 <= drawn.duration_us <= 500_000
