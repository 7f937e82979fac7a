"""What one node does in one run: its step ``inputs``, ``outputs`` and how long it takes.

Each node kind has a small builder that turns the run's variables into the documented shapes:
model nodes answer with an OpenAI-style ``chat.completion`` (exactly the keys of the docs'
example, including Arcee's ``confidence_info``), code nodes with the sandbox envelope
``{data: {results, stdout, stderr, error, sandbox_id}, error, successfull, successful}``,
integrations with ``{result: {data, error, successfull, successful}}``. A failing node gets a
failure-shaped output and an error message instead. Builders draw from the run's private
``random.Random`` in a fixed order, so a run is the same in every process.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import orjson

from mock_server._vocab import Vocabulary, pick
from mock_server.arcee import _graph, _text
from mock_server.arcee._graph import Node, NodeKind

Json = Any
_NO_LOGPROBS = "No logprobs available - model/provider may not support confidence calculation"


@dataclass(slots=True)
class NodeRun:
    """One node's part of a run, before timing is applied by the timeline (read once by the
    planner, so not frozen: a frozen dataclass costs twice as much to build)."""

    inputs: dict[str, Json]
    outputs: dict[str, Json]
    value: Json
    """What later nodes and the run's ``all_outputs`` see under this node's id."""
    error: str | None = None


@dataclass(slots=True)
class NodeCall:
    """Everything a builder needs to know about the call it renders (not frozen, as
    ``NodeRun``: one is made per node of every run)."""

    node: Node
    rng: random.Random
    vocab: Vocabulary
    subject: str
    variables: Mapping[str, Json]
    """Values visible so far: run inputs, then each executed node's value."""
    base_inputs: Mapping[str, Json]
    """``run_id`` and ``input_data``, appended to every step's inputs."""
    start_us: int
    duration_us: int
    fail: bool
    entity_id: str
    branch: bool = True
    """For conditionals (and the code feeding them): which way the run goes."""


def resolve(template: str, variables: Mapping[str, Json]) -> str:
    """Replace ``{{name}}`` (or ``{{name.path}}``) by the variable's value, as text."""
    if "{{" not in template:
        return template
    pieces: list[str] = []
    rest = template
    while "{{" in rest:
        head, _, rest = rest.partition("{{")
        name, _, rest = rest.partition("}}")
        value = variables.get(name.split(".", 1)[0], "")
        pieces += (head, value if isinstance(value, str) else orjson.dumps(value).decode())
    pieces.append(rest)
    return "".join(pieces)


DURATION_MS: dict[NodeKind, tuple[int, int]] = {
    NodeKind.MODEL: (700, 6_000),
    NodeKind.CODE: (80, 1_500),
    NodeKind.INTEGRATION: (300, 2_000),
    NodeKind.KNOWLEDGE: (150, 900),
    NodeKind.CONDITIONAL: (3, 40),
}
"""How long each kind of node takes, in milliseconds (uniform in the range)."""


def draw_duration(kind: NodeKind, rng: random.Random) -> int:
    """A duration in microseconds for a node of ``kind``."""
    low, high = DURATION_MS[kind]
    return low * 1000 + int(rng.random() * (high - low) * 1000)


def _model(call: NodeCall) -> NodeRun:
    meta, rng = call.node.metadata, call.rng
    messages = [
        {"role": m["role"], "content": resolve(m["content"], call.variables)}
        for m in meta["messages"]
    ]
    inputs: dict[str, Json] = {
        "model": meta["model"],
        "stream": meta["stream"],
        "max_tokens": meta["max_tokens"],
        "temperature": meta["temperature"],
        "top_p": meta["top_p"],
        "top_k": meta["top_k"],
        "repetition_penalty": meta["repetition_penalty"],
        "messages": messages,
        **call.base_inputs,
    }
    if call.fail:
        error = pick(rng, (
            f"Error code: 429 - Rate limit reached for {meta['model']}",
            "Request timed out after 120.0 seconds",
            f"Error code: 503 - {meta['model']} is temporarily unavailable",
        ))  # fmt: skip
        return NodeRun(inputs, {}, None, error)
    content = _text.answer(rng, call.vocab, call.subject)
    prompt_tokens = sum(_text.token_count(m["content"]) for m in messages) + 8
    completion_tokens = _text.token_count(content)
    outputs = {
        "id": "chatcmpl-" + _text.hex_digits(rng, 32),
        "object": "chat.completion",
        "created": (call.start_us + call.duration_us // 2) // 1_000_000,
        "model": meta["model"],
        "choices": [
            {
                "index": 0,
                "message": {
                    "role": "assistant",
                    "reasoning_content": None,
                    "content": content,
                    "tool_calls": [],
                },
                "logprobs": None,
                "finish_reason": "stop",
                "stop_reason": None,
            }
        ],
        "usage": {
            "prompt_tokens": prompt_tokens,
            "total_tokens": prompt_tokens + completion_tokens,
            "completion_tokens": completion_tokens,
            "prompt_tokens_details": None,
        },
        "prompt_logprobs": None,
        "confidence_info": {
            "error": _NO_LOGPROBS,
            "confidence_score": None,
            "mean_entropy": None,
            "total_entropy": None,
        },
    }
    return NodeRun(inputs, outputs, content)


def _code_results(call: NodeCall) -> dict[str, Json]:
    source = call.node.metadata["code"]
    if source == _graph.CODE_SUBJECT:
        words = str(call.variables.get("ticket_text", "")).split()
        return {"email_subject": " ".join(words[:6]), "priority": "high" if call.branch else "low"}
    if source == _graph.CODE_FORMAT:
        lines = [line for line in str(call.variables.get("model", "")).splitlines() if line]
        return {"digest": "\n".join(lines[:3]), "line_count": len(lines)}
    return {
        "batch_id": call.variables.get("batch_id", ""),
        "record": int(call.node.node_id.rsplit("_", 1)[-1]),
        "normalized": True,
    }


def _code(call: NodeCall) -> NodeRun:
    rng = call.rng
    inputs = {"language": "python", "code": call.node.metadata["code"], **call.base_inputs}
    sandbox = _text.hex_digits(rng, 20)
    if call.fail:
        error = pick(rng, (
            "NameError: name 'ticket_txt' is not defined",
            "ZeroDivisionError: division by zero",
            "KeyError: 'priority'",
            "TimeoutError: sandbox execution exceeded 60 seconds",
        ))  # fmt: skip
        trace = f'Traceback (most recent call last):\n  File "main.py", line 3, in main\n{error}'
        failure: dict[str, Json] = {"results": None, "stdout": "", "stderr": trace,
                                    "error": error, "sandbox_id": sandbox}  # fmt: skip
        outputs = {"data": failure, "error": error, "successfull": False, "successful": False}
        return NodeRun(inputs, outputs, None, error)
    results = _code_results(call)
    data: dict[str, Json] = {
        "results": results,
        "stdout": "",
        "stderr": "",
        "error": None,
        "sandbox_id": sandbox,
    }
    outputs = {"data": data, "error": None, "successfull": True, "successful": True}
    return NodeRun(inputs, outputs, outputs)


def _integration(call: NodeCall) -> NodeRun:
    meta, rng = call.node.metadata, call.rng
    mapping = {key: resolve(value, call.variables) for key, value in meta["input_mapping"].items()}
    inputs = {
        "app_name": meta["app_name"],
        "action": meta["action"],
        "entity_id": call.entity_id,
        "workspace_type": "local",
        "input_mapping": mapping,
        "tool_config": meta["tool_config"],
        **call.base_inputs,
    }
    if call.fail:
        error = pick(rng, (
            f"{meta['app_name']} API error: channel_not_found",
            f"{meta['app_name']} API error: 403 insufficient permissions",
            f"Connection for {meta['app_name']} expired; reconnect the integration",
        ))  # fmt: skip
        result = {"data": None, "error": error, "successfull": False, "successful": False}
        return NodeRun(inputs, {"result": result}, None, error)
    end_s = (call.start_us + call.duration_us) // 1_000_000
    if meta["app_name"] == "slack":
        data: dict[str, Json] = {
            "ok": True,
            "channel": f"C0{rng.getrandbits(36):09X}",
            "ts": f"{end_s}.{int(rng.random() * 1_000_000):06d}",
            "warning": "missing_charset",
            "response_metadata": {"warnings": ["missing_charset"]},
        }
    else:
        data = {"id": _text.hex_digits(rng, 16), "threadId": _text.hex_digits(rng, 16),
                "labelIds": ["SENT"]}  # fmt: skip
    outputs = {"result": {"data": data, "error": None, "successfull": True, "successful": True}}
    return NodeRun(inputs, outputs, outputs)


def _knowledge(call: NodeCall) -> NodeRun:
    meta, rng = call.node.metadata, call.rng
    query = resolve(meta["query"], call.variables)
    inputs = {"knowledge_base": meta["knowledge_base"], "query": query, "top_k": meta["top_k"],
              **call.base_inputs}  # fmt: skip
    if call.fail:
        error = f"Knowledge base '{meta['knowledge_base']}' is still indexing; try again later"
        return NodeRun(inputs, {"results": []}, None, error)
    results: list[dict[str, Json]] = [
        {
            "content": pick(rng, call.vocab.paragraphs),
            "score": round(0.92 - rank * 0.07 - rng.random() * 0.05, 4),
            "metadata": {"source": f"{pick(rng, call.vocab.words)}.pdf", "page": 1 + rank * 3},
        }
        for rank in range(meta["top_k"])
    ]
    text = "\n\n".join(str(result["content"]) for result in results)
    return NodeRun(inputs, {"results": results, "query": query}, text)


def _conditional(call: NodeCall) -> NodeRun:
    meta = call.node.metadata
    inputs = {"criteria": meta["criteria"], "conditions": meta["conditions"], **call.base_inputs}
    if call.fail:
        error = f"Variable '{meta['conditions'][0]['variable']}' not found in workflow state"
        return NodeRun(inputs, {}, None, error)
    outputs = {"result": call.branch}
    return NodeRun(inputs, outputs, outputs)


BUILDERS: dict[NodeKind, Callable[[NodeCall], NodeRun]] = {
    NodeKind.MODEL: _model,
    NodeKind.CODE: _code,
    NodeKind.INTEGRATION: _integration,
    NodeKind.KNOWLEDGE: _knowledge,
    NodeKind.CONDITIONAL: _conditional,
}


def run_node(call: NodeCall) -> NodeRun:
    """What ``call.node`` does in this run."""
    return BUILDERS[call.node.kind](call)
