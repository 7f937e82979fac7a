"""What one Kibana step execution carries: rendered input, output, duration, usage, failure.

``content(step, rng, vocab, facts)`` draws the concrete values of one step execution from its
own seeded ``random.Random``: an ``http`` step gets a URL, a status and a body; an
``elasticsearch.search`` step a hits envelope; ``ai.*`` steps a completion and token usage;
``slack`` a message ``ts``; and so on, one small builder per step type (``BUILDERS``, any other
type echoes its ``with``). ``failure(step, rng)`` gives the ``SerializedError`` a step of that
type fails with (JavaScript error names, as Kibana stores them).
"""

from __future__ import annotations

import random
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from mock_server._timeline import ErrorInfo
from mock_server._vocab import Vocabulary, pick, slug
from mock_server.kibana._templates import HITL_TYPES, StepDef

Json = Any
Facts = Mapping[str, Json]
_MS = 1000


@dataclass(slots=True)
class Content:
    """Drawn values of one step execution."""

    input: Json
    output: Json
    duration_us: int
    usage: Mapping[str, int] | None = None


def _between(rng: random.Random, low_ms: int, high_ms: int) -> int:
    """A duration in µs, whole milliseconds, log-uniform-ish between the bounds."""
    return int(low_ms + (high_ms - low_ms) * rng.random() ** 2) * _MS


def _hex(rng: random.Random, digits: int) -> str:
    return f"{rng.getrandbits(digits * 4):0{digits}x}"


def _uuid(rng: random.Random) -> str:
    h = _hex(rng, 32)
    return f"{h[:8]}-{h[8:12]}-4{h[13:16]}-a{h[17:20]}-{h[20:]}"


def parse_duration_ms(text: str) -> int:
    """``"5m"`` -> 300000 (units ms, s, m, h, d)."""
    units = {"ms": 1, "s": 1000, "m": 60_000, "h": 3_600_000, "d": 86_400_000}
    for unit in ("ms", "s", "m", "h", "d"):
        if text.endswith(unit) and text[: -len(unit)].isdigit():
            return int(text[: -len(unit)]) * units[unit]
    raise ValueError(f"not a duration: {text!r}")


def _usage(rng: random.Random, low: int, high: int) -> dict[str, int]:
    prompt = rng.randint(low, high)
    completion = rng.randint(low // 8 + 20, high // 4 + 40)
    return {"inputTokens": prompt, "outputTokens": completion, "totalTokens": prompt + completion}


Builder = Callable[[StepDef, Mapping[str, Json], random.Random, Vocabulary, Facts], Content]
"""Draws one execution of a step type: ``(step, with, rng, vocab, facts) -> Content``."""


def _console(
    step: StepDef, w: Mapping[str, Json], rng: random.Random, vocab: Vocabulary, facts: Facts
) -> Content:
    message = str(w.get("message", "")).replace(
        "{{ inputs.message }}", str(facts.get("message", "hello world"))
    )
    if "{{" in message:
        message = pick(rng, vocab.sentences)
    return Content({"message": message}, message, _between(rng, 2, 40))


def _http(
    step: StepDef, w: Mapping[str, Json], rng: random.Random, vocab: Vocabulary, facts: Facts
) -> Content:
    url = str(w.get("url", ""))
    if "{{" in url:
        url = pick(rng, vocab.urls)
    method = str(w.get("method", "GET"))
    data = {
        "id": _uuid(rng),
        "status": pick(rng, ("accepted", "ok", "queued")),
        "owner": pick(rng, vocab.emails),
    }
    return Content(
        {
            "url": url,
            "method": method,
            "headers": {"Content-Type": "application/json"},
            **({"body": {"requestedBy": pick(rng, vocab.usernames)}} if method != "GET" else {}),
        },
        {
            "status": 200 if method == "GET" else pick(rng, (200, 201, 202)),
            "statusText": "OK",
            "headers": {"content-type": "application/json"},
            "data": data,
        },
        _between(rng, 60, 2500),
    )


def _es_search(
    step: StepDef, w: Mapping[str, Json], rng: random.Random, vocab: Vocabulary, facts: Facts
) -> Content:
    index = str(w.get("index", pick(rng, vocab.indices)))
    hits = [
        {
            "_index": index,
            "_id": _hex(rng, 20),
            "_source": {
                "@timestamp": facts.get("iso_hint", "2025-11-21T09:00:00.000Z"),
                "host.name": pick(rng, vocab.hosts),
                "user.name": pick(rng, vocab.usernames),
                "kibana.alert.severity": pick(rng, ("low", "medium", "high", "critical")),
                "message": pick(rng, vocab.sentences),
            },
        }
        for _ in range(rng.randint(0, 3))
    ]
    total = len(hits) + rng.randint(0, 40)
    return Content(
        {"index": index, "query": w.get("query", {"match_all": {}}), "size": w.get("size", 10)},
        {
            "took": rng.randint(2, 180),
            "timed_out": False,
            "hits": {"total": {"value": total, "relation": "eq"}, "hits": hits},
        },
        _between(rng, 15, 900),
    )


def _es_index(
    step: StepDef, w: Mapping[str, Json], rng: random.Random, vocab: Vocabulary, facts: Facts
) -> Content:
    doc_id = _hex(rng, 20)
    return Content(
        {
            "index": str(facts["inputs"].get("target", "logs-reindexed")),
            "id": doc_id,
            "document": {
                "user.name": pick(rng, vocab.usernames),
                "host.name": pick(rng, vocab.hosts),
            },
        },
        {
            "_index": str(facts["inputs"].get("target", "logs-reindexed")),
            "_id": doc_id,
            "_version": 1,
            "result": "created",
        },
        _between(rng, 3, 40),
    )


def _esql(
    step: StepDef, w: Mapping[str, Json], rng: random.Random, vocab: Vocabulary, facts: Facts
) -> Content:
    users = [pick(rng, vocab.usernames) for _ in range(int(facts.get("items", 3)))]
    return Content(
        {"query": w.get("query", "FROM logs-* | LIMIT 10"), "format": "json"},
        {
            "columns": [
                {"name": "count", "type": "long"},
                {"name": "user.name", "type": "keyword"},
            ],
            "values": [[rng.randint(6, 90), user] for user in users],
        },
        _between(rng, 40, 2000),
    )


def _ai_prompt(
    step: StepDef, w: Mapping[str, Json], rng: random.Random, vocab: Vocabulary, facts: Facts
) -> Content:
    text = pick(rng, vocab.paragraphs)
    severity = pick(rng, ("low", "medium", "high", "critical"))
    return Content(
        {
            "prompt": pick(rng, vocab.sentences),
            "connectorId": w.get("connectorId", "openai-gpt"),
        },
        {
            "content": text,
            "severity": severity,
            "title": pick(rng, vocab.sentences).rstrip("."),
            "model": pick(rng, vocab.llm_models),
        },
        _between(rng, 800, 14_000),
        _usage(rng, 300, 4000),
    )


def _ai_agent(
    step: StepDef, w: Mapping[str, Json], rng: random.Random, vocab: Vocabulary, facts: Facts
) -> Content:
    return Content(
        {"agentId": w.get("agentId", "default-agent"), "message": pick(rng, vocab.sentences)},
        {
            "response": {"message": pick(rng, vocab.paragraphs)},
            "risk": pick(rng, ("low", "medium", "high")),
            "conversationId": _uuid(rng),
        },
        _between(rng, 3000, 40_000),
        _usage(rng, 1500, 12_000),
    )


def _create_case(
    step: StepDef, w: Mapping[str, Json], rng: random.Random, vocab: Vocabulary, facts: Facts
) -> Content:
    title = str(w.get("title", "Case"))
    if "{{" in title:
        title = title.split("{{")[0] + pick(rng, vocab.sentences).rstrip(".")
    reporter = pick(rng, vocab.usernames)
    return Content(
        {
            "title": title,
            "description": pick(rng, vocab.paragraphs),
            "owner": w.get("owner", "securitySolution"),
            "tags": ["workflow", slug(title)[:24]],
            "severity": w.get("severity", pick(rng, ("low", "medium", "high"))),
        },
        {
            "id": _uuid(rng),
            "title": title,
            "status": "open",
            "version": "WzEyMywxXQ==",
            "created_by": {"username": reporter, "full_name": None, "email": None},
            "totalComment": 0,
        },
        _between(rng, 90, 700),
    )


def _slack(
    step: StepDef, w: Mapping[str, Json], rng: random.Random, vocab: Vocabulary, facts: Facts
) -> Content:
    channel = str(w.get("channel", pick(rng, vocab.slack_channels)))
    ts = f"{1763700000 + rng.randint(0, 99999)}.{rng.randint(0, 999999):06d}"
    return Content(
        {
            "connectorId": w.get("connectorId", "slack"),
            "channel": channel,
            "message": pick(rng, vocab.sentences),
        },
        {"ok": True, "channel": channel, "ts": ts},
        _between(rng, 120, 1200),
    )


def _if(
    step: StepDef, w: Mapping[str, Json], rng: random.Random, vocab: Vocabulary, facts: Facts
) -> Content:
    result = bool(facts.get("branch", True))
    return Content({"condition": step.condition}, {"conditionResult": result}, _between(rng, 1, 6))


def _foreach(
    step: StepDef, w: Mapping[str, Json], rng: random.Random, vocab: Vocabulary, facts: Facts
) -> Content:
    items = int(facts.get("items", 1))
    return Content({"foreach": step.foreach}, {"items": items}, _between(rng, 2, 12))


def _wait(
    step: StepDef, w: Mapping[str, Json], rng: random.Random, vocab: Vocabulary, facts: Facts
) -> Content:
    text = str(facts.get("pause", "5m"))
    return Content({"duration": text}, None, parse_duration_ms(text) * _MS)


def _hitl(
    step: StepDef, w: Mapping[str, Json], rng: random.Random, vocab: Vocabulary, facts: Facts
) -> Content:
    payload = {"message": w.get("message", "Continue?"), "schema": w.get("schema", {})}
    return Content(payload, None, _between(rng, 20_000, 3_000_000))


def _execute_workflow(
    step: StepDef, w: Mapping[str, Json], rng: random.Random, vocab: Vocabulary, facts: Facts
) -> Content:
    return Content(
        {
            "workflowId": facts.get("child_workflow_id", "workflow-child"),
            "inputs": w.get("inputs", {}),
        },
        {
            "executionId": _uuid(rng),
            "status": "completed",
            "output": {"summary": pick(rng, vocab.sentences)},
        },
        _between(rng, 1500, 30_000),
    )


def _generic(
    step: StepDef, w: Mapping[str, Json], rng: random.Random, vocab: Vocabulary, facts: Facts
) -> Content:
    return Content(dict(w), None, _between(rng, 10, 500))


BUILDERS: Mapping[str, Builder] = {
    "console": _console,
    "http": _http,
    "elasticsearch.search": _es_search,
    "elasticsearch.index": _es_index,
    "elasticsearch.esql.query": _esql,
    "ai.prompt": _ai_prompt,
    "ai.agent": _ai_agent,
    "kibana.createCase": _create_case,
    "cases.createCase": _create_case,
    "slack": _slack,
    "if": _if,
    "foreach": _foreach,
    "wait": _wait,
    **dict.fromkeys(HITL_TYPES, _hitl),
    "workflow.execute": _execute_workflow,
}
"""The builder of each step type; any other type echoes its ``with`` (``_generic``)."""


def content(step: StepDef, rng: random.Random, vocab: Vocabulary, facts: Facts) -> Content:
    """Draw one execution of ``step``; ``facts`` carries run-level values (inputs, items...).
    Builders only read the step's ``with`` (``_generic`` copies it), so it is passed as is."""
    return BUILDERS.get(step.type, _generic)(step, step.with_, rng, vocab, facts)


_FAILURES: Mapping[str, tuple[tuple[str, str], ...]] = {
    "http": (
        ("HttpError", "Request failed with status code 503"),
        ("Error", "connect ECONNREFUSED 10.0.3.17:443"),
    ),
    "elasticsearch.search": (
        ("ResponseError", "index_not_found_exception: no such index [.alerts-security]"),
        ("ResponseError", "search_phase_execution_exception: all shards failed"),
    ),
    "elasticsearch.esql.query": (
        ("ResponseError", "verification_exception: Unknown column [user.name]"),
    ),
    "ai.prompt": (("Error", "Connector openai-gpt returned 429 Too Many Requests"),),
    "ai.agent": (("Error", "Agent security-analyst exceeded the maximum of 10 tool calls"),),
    "slack": (("Error", "Slack API error: channel_not_found"),),
    "kibana.createCase": (("Error", "Failed to create case: Forbidden"),),
    "cases.createCase": (("Error", "Failed to create case: Forbidden"),),
    "workflow.execute": (("Error", "Child workflow execution failed"),),
}


def failure(step: StepDef, rng: random.Random) -> ErrorInfo:
    """The error a step of this type fails with."""
    kind, message = pick(rng, _FAILURES.get(step.type, (("Error", "Step execution failed"),)))
    details: dict[str, Json] = {"stepType": step.type}
    if kind == "HttpError":
        details["status"] = 503
    return ErrorInfo(kind, message, details)


def timeout_error(step: StepDef, limit_ms: int) -> ErrorInfo:
    """The error of a step that ran out of time."""
    return ErrorInfo(
        "TimeoutError",
        f'Step "{step.name}" timed out after {limit_ms // 1000}s',
        {"timeoutMs": limit_ms},
    )
