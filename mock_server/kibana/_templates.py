"""Workflow definitions the Kibana world is made of, in Kibana's YAML workflow language.

Each ``Template`` is a realistic workflow (security triage, an approval gate, a foreach fan-out,
a throttled loop with a timer, a parent that runs a child workflow...) covering the documented
step types: ``console``, ``http``, ``if``, ``foreach``, ``wait``, ``waitForInput``, ``ai.prompt``,
``ai.agent``, ``elasticsearch.search``, ``elasticsearch.esql.query``, ``kibana.createCase``,
``cases.createCase``, ``slack`` and ``workflow.execute``. ``active`` is the non-terminal status
the newest run of such a workflow shows, so that the world holds every status.

``definition(template)`` is the parsed form Kibana stores as ``workflowDefinition`` and
``yaml_text`` the YAML it was parsed from; ``topological_order`` numbers the steps the way
``topologicalIndex`` does (document order, parents before their children).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

import yaml

from mock_server._timeline import Status

Json = Any


@dataclass(frozen=True)
class StepDef:
    """One step of a workflow definition."""

    name: str
    type: str
    with_: Mapping[str, Json] = field(default_factory=dict)
    condition: str | None = None
    """``if`` steps: the KQL-like condition."""
    foreach: str | None = None
    """``foreach`` steps: the expression giving the items."""
    steps: tuple[StepDef, ...] = ()
    """``if`` then-branch, or the ``foreach`` body."""
    else_: tuple[StepDef, ...] = ()
    timeout: str | None = None


@dataclass(frozen=True)
class Template:
    """A workflow definition plus what its runs look like."""

    key: str
    name: str
    description: str
    tags: tuple[str, ...]
    triggers: tuple[Mapping[str, Json], ...]
    inputs: tuple[Mapping[str, Json], ...]
    steps: tuple[StepDef, ...]
    active: Status = Status.RUNNING


HITL_TYPES = frozenset({"waitForInput", "wait_for_input", "waitForApproval"})
"""Step types that wait for a human (code: camelCase; the docs' example: ``wait_for_input``)."""


def _manual() -> tuple[Mapping[str, Json], ...]:
    return ({"type": "manual"},)


TEMPLATES: tuple[Template, ...] = (
    Template(
        key="hello",
        name="Hello webhook",
        description="Logs a greeting and posts it to a webhook.",
        tags=("example",),
        triggers=_manual(),
        inputs=({"name": "message", "type": "string", "default": "hello world"},),
        steps=(
            StepDef("hello_world_step", "console", {"message": "{{ inputs.message }}"}),
            StepDef(
                "post_to_webhook",
                "http",
                {"url": "{{ consts.webhook_url }}", "method": "POST",
                 "body": {"text": "{{ inputs.message }}"}},
            ),
        ),
    ),
    Template(
        key="triage",
        name="Triage security alerts",
        description="Classifies new alerts with an LLM and opens a case for the critical ones.",
        tags=("security", "triage"),
        triggers=({"type": "alert"}, {"type": "manual"}),
        inputs=({"name": "lookback", "type": "string", "default": "now-15m"},),
        steps=(
            StepDef(
                "search_alerts",
                "elasticsearch.search",
                {"index": ".alerts-security.alerts-default",
                 "query": {"range": {"@timestamp": {"gte": "{{ inputs.lookback }}"}}},
                 "size": 50},
            ),
            StepDef(
                "classify_alerts",
                "ai.prompt",
                {"prompt": "Classify these alerts by severity: {{ steps.search_alerts.output }}",
                 "connectorId": "openai-gpt"},
            ),
            StepDef(
                "is_critical",
                "if",
                condition="steps.classify_alerts.output.severity : critical",
                steps=(
                    StepDef(
                        "open_case",
                        "cases.createCase",
                        {"title": "Critical alert: {{ steps.classify_alerts.output.title }}",
                         "owner": "securitySolution", "severity": "critical"},
                    ),
                    StepDef(
                        "page_oncall",
                        "slack",
                        {"connectorId": "slack-soc", "channel": "#soc-triage",
                         "message": "Critical alert triaged, case opened"},
                    ),
                ),
                else_=(
                    StepDef("log_low_severity", "console", {"message": "No critical alerts"}),
                ),
            ),
        ),
    ),
    Template(
        key="approval",
        name="Approve production change",
        description="Asks a human to approve a change before deploying it.",
        tags=("change-management", "hitl"),
        triggers=_manual(),
        inputs=(
            {"name": "change", "type": "string", "required": True},
            {"name": "service", "type": "string", "default": "checkout"},
        ),
        steps=(
            StepDef("announce_change", "console", {"message": "Change: {{ inputs.change }}"}),
            StepDef(
                "approve_change",
                "waitForInput",
                {"message": "Approve change to production?",
                 "schema": {"type": "object",
                            "properties": {"approved": {"type": "boolean"},
                                           "comment": {"type": "string"}},
                            "required": ["approved"]}},
            ),
            StepDef(
                "is_approved",
                "if",
                condition="steps.approve_change.output.input.approved : true",
                steps=(
                    StepDef(
                        "deploy_change",
                        "http",
                        {"url": "https://deploy.internal/api/releases", "method": "POST",
                         "body": {"service": "{{ inputs.service }}"}},
                    ),
                    StepDef(
                        "notify_release_channel",
                        "slack",
                        {"connectorId": "slack-eng", "channel": "#deployments",
                         "message": "Deployed {{ inputs.service }}"},
                    ),
                ),
                else_=(StepDef("log_rejection", "console", {"message": "Change rejected"}),),
            ),
        ),
        active=Status.WAITING_FOR_INPUT,
    ),
    Template(
        key="enrichment",
        name="Enrich suspicious users",
        description="Finds risky sign-ins with ES|QL and asks an agent to assess each user.",
        tags=("security", "identity"),
        triggers=({"type": "scheduled", "with": {"every": "1h"}},),
        inputs=(),
        steps=(
            StepDef(
                "find_suspicious_logins",
                "elasticsearch.esql.query",
                {"query": "FROM logs-okta.system-* | WHERE event.outcome == \"failure\" "
                          "| STATS failures = COUNT(*) BY user.name | WHERE failures > 5"},
            ),
            StepDef(
                "enrich_each_user",
                "foreach",
                foreach="{{ steps.find_suspicious_logins.output.values }}",
                steps=(
                    StepDef("lookup_user", "http",
                            {"url": "https://idp.internal/api/users/{{ foreach.item }}",
                             "method": "GET"}),
                    StepDef("assess_risk", "ai.agent",
                            {"agentId": "security-analyst",
                             "message": "Assess the risk of {{ steps.lookup_user.output }}"}),
                ),
            ),
            StepDef("record_findings", "kibana.createCase",
                    {"title": "Suspicious sign-ins", "owner": "securitySolution",
                     "description": "{{ steps.enrich_each_user.output }}"}),
        ),
    ),
    Template(
        key="throttle",
        name="Throttled reindex",
        description="Reindexes indices one by one, pausing between them to spare the cluster.",
        tags=("maintenance",),
        triggers=({"type": "scheduled", "with": {"every": "1d"}},),
        inputs=({"name": "pause", "type": "string", "default": "5m"},),
        steps=(
            StepDef(
                "reindex_each_index",
                "foreach",
                foreach="{{ consts.indices }}",
                steps=(
                    StepDef("start_reindex", "http",
                            {"url": "{{ consts.es_url }}/_reindex?wait_for_completion=false",
                             "method": "POST"}),
                    StepDef("cool_down", "wait", {"duration": "{{ inputs.pause }}"}),
                ),
            ),
            StepDef("report_done", "console", {"message": "Reindex finished"}),
        ),
        active=Status.WAITING,
    ),
    Template(
        key="orchestrator",
        name="Incident response orchestrator",
        description="Runs the triage workflow as a child and posts its summary.",
        tags=("incident-response",),
        triggers=_manual(),
        inputs=({"name": "incident", "type": "string", "required": True},),
        steps=(
            StepDef("open_incident", "console", {"message": "Incident {{ inputs.incident }}"}),
            StepDef("run_triage_child", "workflow.execute",
                    {"workflowId": "{{ consts.triage_workflow_id }}",
                     "inputs": {"lookback": "now-1h"}}),
            StepDef("post_summary", "slack",
                    {"connectorId": "slack-soc", "channel": "#incidents",
                     "message": "{{ steps.run_triage_child.output }}"}),
        ),
        active=Status.WAITING_FOR_CHILD,
    ),
    Template(
        key="digest",
        name="Daily observability digest",
        description="Summarises error rates with an LLM and posts the digest to Slack.",
        tags=("observability", "reporting"),
        triggers=({"type": "scheduled", "with": {"every": "1d"}},),
        inputs=(),
        steps=(
            StepDef(
                "error_rates",
                "elasticsearch.esql.query",
                {"query": "FROM logs-* | WHERE log.level == \"error\" "
                          "| STATS errors = COUNT(*) BY service.name | SORT errors DESC | LIMIT 5"},
            ),
            StepDef("summarize", "ai.prompt",
                    {"prompt": "Write a short digest of {{ steps.error_rates.output }}",
                     "connectorId": "elastic-llm"}),
            StepDef("post_digest", "slack",
                    {"connectorId": "slack-obs", "channel": "#observability",
                     "message": "{{ steps.summarize.output.content }}"}),
        ),
    ),
    Template(
        key="escalation",
        name="Escalate unacknowledged alert",
        description="Waits for an acknowledgement and escalates when nobody answers in time.",
        tags=("oncall", "hitl"),
        triggers=({"type": "alert"},),
        inputs=(),
        steps=(
            StepDef("fetch_alert", "elasticsearch.search",
                    {"index": ".alerts-security.alerts-default", "size": 1}),
            StepDef("acknowledge", "waitForInput",
                    {"message": "Acknowledge the alert?",
                     "schema": {"type": "object",
                                "properties": {"acknowledged": {"type": "boolean"}}}},
                    timeout="15m"),
            StepDef(
                "is_acknowledged",
                "if",
                condition="steps.acknowledge.output.input.acknowledged : true",
                steps=(StepDef("log_ack", "console", {"message": "Acknowledged"}),),
                else_=(
                    StepDef("escalate_to_manager", "slack",
                            {"connectorId": "slack-oncall", "channel": "#oncall",
                             "message": "Alert not acknowledged within 15 minutes"}),
                    StepDef("open_incident", "kibana.createCase",
                            {"title": "Unacknowledged alert", "owner": "securitySolution"}),
                ),
            ),
        ),
    ),
)  # fmt: skip


BULK = Template(
    key="bulk",
    name="Bulk reindex documents",
    description="Copies a batch of documents into a new index one by one (a load-test workflow).",
    tags=("maintenance", "bulk"),
    triggers=({"type": "scheduled", "with": {"every": "1d"}},),
    inputs=({"name": "target", "type": "string", "default": "logs-reindexed"},),
    steps=(
        StepDef(
            "index_each_document",
            "foreach",
            foreach="{{ consts.documents }}",
            steps=(
                StepDef(
                    "index_document",
                    "elasticsearch.index",
                    {"index": "{{ inputs.target }}", "document": "{{ foreach.item }}"},
                ),
            ),
        ),
        StepDef("report_done", "console", {"message": "Batch reindexed"}),
    ),
)
"""The bulk workflow: its seeded runs have 1,000, 10,000 and 2,000 step executions."""

DOCUMENTED = Template(
    key="documented",
    name="Hello world",
    description="Logs a message",
    tags=(),
    triggers=({"type": "manual"},),
    inputs=({"name": "message", "type": "string", "default": "hello world"},),
    steps=(
        StepDef("hello_world_step", "console", {"message": "{{ inputs.message }}"}),
        StepDef("approve_change", "waitForInput", {"message": "Approve change to production?"}),
    ),
    active=Status.COMPLETED,
)
"""The workflow of the vendor's documented examples (its live runs use this definition).

Its wait step is typed ``waitForInput``, the spelling Kibana's code registers (the docs' example
step, served verbatim at ``step-exec-002``, says ``wait_for_input``): generated data follows the
code, so a live run of this workflow has ``waitForInput`` steps, ``kibana_execution_view``/
``inbox`` channels and the engine's ``{input, resumedBy, resumedAt}`` output."""


def walk(steps: tuple[StepDef, ...]) -> Iterator[StepDef]:
    """Every step in document order, parents before their children."""
    for step in steps:
        yield step
        yield from walk(step.steps)
        yield from walk(step.else_)


def topological_order(template: Template) -> Mapping[str, int]:
    """Step name -> ``topologicalIndex``."""
    found = _ORDERS.get(template.key)
    if found is None:  # a template parsed from submitted YAML
        found = {step.name: index for index, step in enumerate(walk(template.steps))}
    return found


_ORDERS: dict[str, Mapping[str, int]] = {
    template.key: {step.name: index for index, step in enumerate(walk(template.steps))}
    for template in (*TEMPLATES, BULK, DOCUMENTED)
}


def _step_dict(step: StepDef) -> dict[str, Json]:
    out: dict[str, Json] = {"name": step.name, "type": step.type}
    if step.condition is not None:
        out["condition"] = step.condition
    if step.foreach is not None:
        out["foreach"] = step.foreach
    if step.timeout is not None:
        out["timeout"] = step.timeout
    if step.with_:
        out["with"] = dict(step.with_)
    if step.steps:
        out["steps"] = [_step_dict(s) for s in step.steps]
    if step.else_:
        out["else"] = [_step_dict(s) for s in step.else_]
    return out


def definition(template: Template, name: str, enabled: bool = True) -> dict[str, Json]:
    """The parsed workflow (``workflowDefinition``) under the workflow's ``name``."""
    return {
        "version": "1",
        "name": name,
        "enabled": enabled,
        "description": template.description,
        "tags": list(template.tags),
        "triggers": [dict(t) for t in template.triggers],
        "inputs": [dict(i) for i in template.inputs],
        "steps": [_step_dict(s) for s in template.steps],
    }


def yaml_text(parsed: Mapping[str, Json]) -> str:
    """The YAML source of a parsed definition (block style, keys in definition order)."""
    return yaml.safe_dump(dict(parsed), sort_keys=False, allow_unicode=True, width=100)


class InvalidWorkflow(ValueError):
    """Submitted workflow YAML that cannot run; the message is Kibana's 400 text."""


def _step_from(node: Any, where: str) -> StepDef:
    if not isinstance(node, Mapping):
        raise InvalidWorkflow(f"Invalid workflow yaml: {where} must be a mapping")
    name, kind = node.get("name"), node.get("type")
    if not isinstance(name, str) or not name or not isinstance(kind, str) or not kind:
        raise InvalidWorkflow(f"Invalid workflow yaml: {where} needs a string 'name' and 'type'")
    with_ = node.get("with") or {}
    if not isinstance(with_, Mapping):
        raise InvalidWorkflow(f"Invalid workflow yaml: {where}.with must be a mapping")
    return StepDef(
        name=name,
        type=kind,
        with_=dict(with_),
        condition=str(node["condition"]) if "condition" in node else None,
        foreach=str(node["foreach"]) if "foreach" in node else None,
        steps=_steps_from(node.get("steps") or [], f"{where}.steps"),
        else_=_steps_from(node.get("else") or [], f"{where}.else"),
        timeout=str(node["timeout"]) if "timeout" in node else None,
    )


def _steps_from(nodes: Any, where: str) -> tuple[StepDef, ...]:
    if not isinstance(nodes, list):
        raise InvalidWorkflow(f"Invalid workflow yaml: {where} must be a list")
    return tuple(_step_from(node, f"{where}[{i}]") for i, node in enumerate(nodes))


def parse_workflow_yaml(text: str) -> tuple[Template, dict[str, Json]]:
    """A ``Template`` and the parsed definition from submitted YAML (test runs)."""
    try:
        parsed = yaml.safe_load(text)
    except yaml.YAMLError as problem:
        first_line = str(problem).splitlines()[0] if str(problem) else "syntax error"
        raise InvalidWorkflow(f"Invalid workflow yaml: {first_line}") from None
    if not isinstance(parsed, dict):
        raise InvalidWorkflow("Invalid workflow yaml: the document must be a mapping")
    steps = _steps_from(parsed.get("steps"), "steps")
    if not steps:
        raise InvalidWorkflow("Invalid workflow yaml: steps must not be empty")
    name = parsed.get("name")
    if not isinstance(name, str) or not name:
        raise InvalidWorkflow("Invalid workflow yaml: name must be a non-empty string")
    inputs = parsed.get("inputs") or []
    template = Template(
        key="",
        name=name,
        description=str(parsed.get("description", "")),
        tags=tuple(str(t) for t in parsed.get("tags") or []),
        triggers=({"type": "manual"},),
        inputs=tuple(i for i in inputs if isinstance(i, Mapping) and "name" in i)
        if isinstance(inputs, list)
        else (),
        steps=steps,
    )
    return template, parsed
