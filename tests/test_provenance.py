"""Provenance: every rule names where it comes from, and reports and the CLI show it.

``APIS_WITH_PROVENANCE`` lists the APIs whose schemas are held to the rule "every schema root
and every ``x-stepspec-inferred`` subschema carries ``x-stepspec-source``" (the other APIs join
as their sources are recorded).
"""

from __future__ import annotations

import json
from importlib import resources
from typing import Any

import pytest
from click.testing import CliRunner

from conformance import _specs
from conformance._provenance import rule_source, schema_sources, unsourced_rules
from conformance._validation import validator
from conformance.checks import CHECKS
from conformance.cli import stepspec
from conformance.findings import Finding, schema_findings

APIS_WITH_PROVENANCE = ("kibana", "arcee", "trigify")
KIBANA_TYPES = "kbn-workflows/types/v1.ts"
RUNTIME_MANAGER = "workflow_context_manager/workflow_execution_runtime_manager.ts"
SCHEMA_TS = "kbn-workflows/spec/schema.ts"


def _schemas(apis: tuple[str, ...]) -> list[str]:
    return [sid for sid in _specs.schema_ids() if _specs.split_schema_id(sid)[0] in apis]


def _fixture(schema: str, kind: str, name: str) -> Any:
    entry = resources.files("conformance.fixtures") / "kibana" / schema / kind / name
    return json.loads(entry.read_text(encoding="utf-8"))


@pytest.mark.parametrize("schema_id", _schemas(APIS_WITH_PROVENANCE))
def test_schema_root_and_inferred_rules_name_their_source(schema_id: str) -> None:
    assert unsourced_rules(schema_id) == [], f"{schema_id}: add x-stepspec-source there"
    root = schema_sources(schema_id)[0]
    assert root.pointer == ""
    assert root.source.startswith(("elastic/kibana:", "https://"))


def test_unsourced_rules_finds_a_missing_marker(monkeypatch: pytest.MonkeyPatch) -> None:
    document = {"type": "object", "allOf": [{"minimum": 0, "x-stepspec-inferred": True}]}
    monkeypatch.setattr(_specs, "schema", lambda schema_id: document)
    assert unsourced_rules("urn:stepspec:kibana:anything") == ["/", "/allOf/0"]


def test_every_check_names_its_source() -> None:
    unsourced = [name for name, registered in CHECKS.items() if not registered.source.strip()]
    assert not unsourced, f"give these checks a source=: {unsourced}"


@pytest.mark.parametrize(
    ("schema", "fixture", "expected"),
    [
        # a rule's own marker wins over the root's
        ("execution", "required--running-without-started-at.json", RUNTIME_MANAGER),
        ("execution", "required--step-usage-item-missing-step-id.json", SCHEMA_TS),
        # through a $ref the referenced schema's root marker applies
        ("execution", "required--step-execution-missing-id.json", KIBANA_TYPES),
        ("token-usage", "required--missing-total-tokens.json", SCHEMA_TS),
    ],
)
def test_a_violation_carries_the_nearest_source(schema: str, fixture: str, expected: str) -> None:
    payload = _fixture(schema, "invalid", fixture)
    violations = validator(f"urn:stepspec:kibana:{schema}").violations(payload)
    assert violations
    assert all(expected in v.source for v in violations), [v.source for v in violations]
    findings = list(schema_findings(payload, f"urn:stepspec:kibana:{schema}"))
    assert [f.source for f in findings] == [v.source for v in violations]


def test_rule_source_stops_at_a_path_the_schema_does_not_have() -> None:
    source = rule_source("urn:stepspec:kibana:execution", ["properties", "nowhere", "type"])
    assert KIBANA_TYPES in source


def test_a_finding_shows_its_source_in_text_and_json() -> None:
    finding = Finding(check="c", title="t", source="https://docs.example/rule")
    assert "rule from: https://docs.example/rule" in str(finding)
    assert finding.as_dict()["source"] == "https://docs.example/rule"
    assert "rule from" not in str(Finding(check="c", title="t"))


def test_spec_list_sources_lists_schema_markers_and_checks() -> None:
    result = CliRunner().invoke(stepspec, ["spec", "list", "--api", "kibana", "--sources"])
    assert result.exit_code == 0, result.output
    out = result.output
    for rule in schema_sources("urn:stepspec:kibana:step-execution"):
        where = "urn:stepspec:kibana:step-execution" + (f"#{rule.pointer}" if rule.pointer else "")
        assert f"{where}{' [inferred rule]' if rule.inferred else ''}: {rule.source}" in out
    for name, registered in CHECKS.items():
        assert f"  {name}: {registered.source}" in out
    plain = CliRunner().invoke(stepspec, ["spec", "list", "--api", "kibana"]).output
    assert "sources:" not in plain
    assert "checks:" not in plain


def test_a_schema_finding_without_a_recorded_source_names_the_schema_file(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from conformance import _validation

    monkeypatch.setattr(_validation, "rule_source", lambda schema_id, path: "")
    payload = _fixture("token-usage", "invalid", "required--missing-total-tokens.json")
    findings = list(schema_findings(payload, "urn:stepspec:kibana:token-usage"))
    assert findings
    assert {f.source for f in findings} == {
        "specs/kibana/token-usage.json (no x-stepspec-source recorded)"
    }


NEWER_THAN_9_4 = {
    "getWorkflowExecutions": (
        "concurrencyGroupKey",
        "startedAfter",
        "startedBefore",
        "finishedAfter",
        "finishedBefore",
        "collapse",
        "sortField",
        "sortOrder",
    ),
    "getWorkflowStepExecutions": ("startedAfter", "startedBefore"),
    "getExecution": ("omitStepExecutions",),
    "listWorkflows": ("managed", "visibilityContext", "sortField", "sortOrder"),
}


@pytest.mark.parametrize("operation_id", sorted(NEWER_THAN_9_4))
def test_parameters_newer_than_the_baseline_say_since_when(operation_id: str) -> None:
    for suffix in ("", "InSpace"):
        operation = next(
            op for op in _specs.operations("kibana") if op.operation_id == operation_id + suffix
        )
        params = {p["name"]: p for p in operation.parameters}
        for name in NEWER_THAN_9_4[operation_id]:
            assert params[name]["x-stepspec-since"] == "9.5", (operation.operation_id, name)
            assert "9.5" in params[name]["description"], (operation.operation_id, name)
            assert params[name]["x-stepspec-source"].startswith("elastic/kibana:")
