"""Arcee workflow definitions: graphs of model, code, integration, retrieval and conditional nodes.

A ``Workflow`` is what ``GET /workflows`` shows and what runs execute: input variables, nodes with
their editor metadata, edges from ``START`` to ``END`` and the node whose text is the run's
output. Workflows are drawn from a few archetypes modelled on the docs' examples (prompt → model →
Slack; query → ``model_1``; retrieval-augmented answers by email; code + conditional triage; a
multi-model digest) plus one 1,000-node bulk pipeline for load tests.
"""

from __future__ import annotations

import itertools
import random
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from mock_server._vocab import Vocabulary, pick
from mock_server.arcee import _text

Json = Any
START = "START"
END = "END"
BULK_NODES = 1_000


class NodeKind(StrEnum):
    """A node's ``type`` in the graph (only ``model`` is documented; the rest are inferred)."""

    MODEL = "model"
    CODE = "code"
    INTEGRATION = "integration"
    KNOWLEDGE = "knowledge_retrieval"
    CONDITIONAL = "conditional"


@dataclass(frozen=True, slots=True)
class Node:
    """One node of a workflow graph."""

    node_id: str
    kind: NodeKind
    label: str
    metadata: Mapping[str, Json]


@dataclass(frozen=True, slots=True)
class Workflow:
    """One Arcee workflow: its identity, inputs and graph (rendering adds the envelope)."""

    index: int
    name: str
    description: str
    subject: str
    """What the workflow's prompts are about (keeps its runs on one topic)."""
    input_names: tuple[str, ...]
    nodes: tuple[Node, ...]
    edges: tuple[tuple[str, str], ...]
    selected_output: str
    version: int
    public: bool
    status: str
    edited_by_colleague: bool
    """Whether someone other than the creator saved the last version."""
    _by_id: dict[str, Node] = field(init=False, repr=False, compare=False)
    _out: dict[str, tuple[str, ...]] = field(init=False, repr=False, compare=False)
    _paths: dict[bool, tuple[str, ...]] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        out: dict[str, list[str]] = {}
        for source, target in self.edges:
            out.setdefault(source, []).append(target)
        object.__setattr__(self, "_by_id", {node.node_id: node for node in self.nodes})
        object.__setattr__(self, "_out", {key: tuple(value) for key, value in out.items()})
        object.__setattr__(self, "_paths", {})

    def node(self, node_id: str) -> Node:
        """The node called ``node_id``."""
        return self._by_id[node_id]

    def successors(self, node_id: str) -> tuple[str, ...]:
        """Targets of the edges leaving ``node_id``, in edge order."""
        return self._out.get(node_id, ())

    def path(self, branch: bool) -> tuple[str, ...]:
        """The node ids from ``START`` to ``END`` (both excluded), taking a conditional's first
        edge if ``branch`` and its second otherwise; worked out once per workflow and side."""
        found = self._paths.get(branch)
        if found is None:
            steps: list[str] = []
            current = self.successors(START)[0]
            while current != END:
                steps.append(current)
                targets = self.successors(current)
                current = targets[0] if branch or len(targets) == 1 else targets[1]
            found = self._paths[branch] = tuple(steps)
        return found

    @property
    def multiple_edges(self) -> bool:
        """Whether some node has more than one outgoing edge (a conditional)."""
        return any(len(targets) > 1 for targets in self._out.values())


def model_node(rng: random.Random, vocab: Vocabulary, node_id: str, variable: str) -> Node:
    """A model node whose user message is the value of ``variable``."""
    metadata = {
        "model": pick(rng, _text.MODELS),
        "stream": False,
        "max_tokens": 8192,
        "temperature": pick(rng, (0.2, 0.5, 0.7, 0.9)),
        "top_p": 1,
        "top_k": 50,
        "repetition_penalty": 0,
        "messages": [
            {"role": "system", "content": _text.system_prompt(rng, vocab)},
            {"role": "user", "content": "{{" + variable + "}}"},
        ],
        "output_mapping": {node_id: "choices[0].message.content"},
    }
    return Node(node_id, NodeKind.MODEL, "Model node", metadata)


def code_node(node_id: str, source: str) -> Node:
    """A Python code node (Orchestra runs it in a Python 3.10 sandbox)."""
    return Node(node_id, NodeKind.CODE, "Code node", {"language": "python", "code": source})


def slack_node(rng: random.Random, vocab: Vocabulary, variable: str) -> Node:
    """The Slack integration of the docs' diagram example."""
    channel = pick(rng, vocab.slack_channels).lstrip("#")
    metadata = {
        "app_name": "slack",
        "action": "SLACK_SHARE_A_ME_MESSAGE_IN_A_CHANNEL",
        "input_mapping": {"channel": channel, "text": "{{" + variable + "}}"},
        "tool_config": {"tool_type": "slack"},
    }
    return Node("slack_integration", NodeKind.INTEGRATION, "Slack", metadata)


def gmail_node(variable: str, recipient: str) -> Node:
    """The "Gmail: Send Email" integration of the passing-variables page."""
    metadata = {
        "app_name": "gmail",
        "action": "GMAIL_SEND_EMAIL",
        "input_mapping": {
            "recipient_email": recipient,
            "subject": "{{email_subject}}",
            "body": "{{" + variable + "}}",
        },
        "tool_config": {"tool_type": "gmail"},
    }
    return Node("gmail_send_email", NodeKind.INTEGRATION, "Gmail: Send Email", metadata)


def knowledge_node(rng: random.Random, vocab: Vocabulary, variable: str) -> Node:
    """A knowledge-retrieval node over a named knowledge base."""
    base = f"{pick(rng, vocab.companies)} handbook"
    metadata = {"knowledge_base": base, "query": "{{" + variable + "}}", "top_k": 3}
    return Node("knowledge_retrieval", NodeKind.KNOWLEDGE, "Knowledge Retrieval", metadata)


def conditional_node(variable: str, value: str) -> Node:
    """A conditional node with one ``==`` criterion."""
    metadata = {
        "criteria": "and",
        "conditions": [{"variable": variable, "operator": "==", "value": value}],
    }
    return Node("conditional", NodeKind.CONDITIONAL, "Conditional", metadata)


CODE_SUBJECT = (
    "def main(ticket_text):\n"
    "    words = ticket_text.split()\n"
    "    priority = 'high' if len(words) > 12 else 'low'\n"
    "    return {'email_subject': ' '.join(words[:6]), 'priority': priority}\n"
)
CODE_FORMAT = (
    "def main(model):\n"
    "    lines = [line for line in model.splitlines() if line.strip()]\n"
    "    return {'digest': '\\n'.join(lines[:3]), 'line_count': len(lines)}\n"
)
CODE_RECORD = (
    "def main(batch_id, record):\n"
    "    return {'batch_id': batch_id, 'record': record, 'normalized': True}\n"
)

Shape = tuple[str, tuple[str, ...], tuple[Node, ...], tuple[tuple[str, str], ...], str]
"""(description, input names, nodes, edges, selected output)."""


def _chain(*node_ids: str) -> tuple[tuple[str, str], ...]:
    path = (START, *node_ids, END)
    return tuple(itertools.pairwise(path))


def _joke_to_slack(rng: random.Random, vocab: Vocabulary) -> Shape:
    nodes = (model_node(rng, vocab, "model", "prompt"), slack_node(rng, vocab, "model"))
    text = "Takes a prompt, answers it with a model node and posts the answer to Slack."
    return text, ("prompt",), nodes, _chain("model", "slack_integration"), "model"


def _single_model(rng: random.Random, vocab: Vocabulary) -> Shape:
    nodes = (model_node(rng, vocab, "model_1", "query"),)
    return "Answers a query with one model node.", ("query",), nodes, _chain("model_1"), "model_1"


def _rag_email(rng: random.Random, vocab: Vocabulary) -> Shape:
    nodes = (
        knowledge_node(rng, vocab, "question"),
        model_node(rng, vocab, "model", "knowledge_retrieval"),
        gmail_node("model", pick(rng, vocab.emails)),
    )
    edges = _chain("knowledge_retrieval", "model", "gmail_send_email")
    text = "Looks the question up in the knowledge base, drafts an answer and emails it."
    return text, ("question", "email_subject"), nodes, edges, "model"


def _triage(rng: random.Random, vocab: Vocabulary) -> Shape:
    nodes = (
        code_node("code_1", CODE_SUBJECT),
        conditional_node("code_1.data.results.priority", "high"),
        model_node(rng, vocab, "model_1", "ticket_text"),
        slack_node(rng, vocab, "code_1"),
    )
    edges = (
        (START, "code_1"),
        ("code_1", "conditional"),
        ("conditional", "model_1"),
        ("conditional", "slack_integration"),
        ("model_1", END),
        ("slack_integration", END),
    )
    text = "Scores a support ticket; urgent ones get a drafted reply, the rest go to Slack."
    return text, ("ticket_text",), nodes, edges, "model_1"


def _digest(rng: random.Random, vocab: Vocabulary) -> Shape:
    nodes = (
        model_node(rng, vocab, "model", "topic"),
        code_node("code_1", CODE_FORMAT),
        model_node(rng, vocab, "model_1", "code_1"),
        slack_node(rng, vocab, "model_1"),
    )
    edges = _chain("model", "code_1", "model_1", "slack_integration")
    text = "Drafts a digest, trims it with code, polishes it with a second model, posts it."
    return text, ("topic",), nodes, edges, "model_1"


ARCHETYPES: tuple[Callable[[random.Random, Vocabulary], Shape], ...] = (
    _joke_to_slack, _single_model, _rag_email, _triage, _digest,
)  # fmt: skip


def build_workflow(index: int, rng: random.Random, vocab: Vocabulary) -> Workflow:
    """Workflow ``index`` of the world (``rng`` is private to it)."""
    archetype = ARCHETYPES[index % len(ARCHETYPES)]
    description, inputs, nodes, edges, selected = archetype(rng, vocab)
    return Workflow(
        index=index,
        name=pick(rng, _text.WORKFLOW_NAMES[archetype.__name__.lstrip("_")]),
        description=description,
        subject=_text.topic(rng),
        input_names=inputs,
        nodes=nodes,
        edges=edges,
        selected_output=selected,
        version=1 + int(rng.random() * 7),
        public=rng.random() < 0.25,
        # LIST-WF: "Can be active or inactive". Every tenth workflow (from index 3) is inactive,
        # so every world of four or more workflows lists one, plus about one in ten others.
        status="inactive" if rng.random() >= 0.9 or index % 10 == 3 else "active",
        edited_by_colleague=rng.random() < 0.4,
    )


def build_bulk_workflow(index: int, rng: random.Random, vocab: Vocabulary) -> Workflow:
    """A straight pipeline of ``BULK_NODES`` nodes (every tenth a model node) for load tests."""
    nodes: list[Node] = []
    previous = "batch_id"
    for number in range(1, BULK_NODES + 1):
        if number % 10 == 0:
            nodes.append(model_node(rng, vocab, f"model_{number}", previous))
        else:
            nodes.append(code_node(f"code_{number}", CODE_RECORD))
        previous = nodes[-1].node_id
    return Workflow(
        index=index,
        name="Bulk record enrichment",
        description=f"Normalises a batch record by record: {BULK_NODES} nodes in a row.",
        subject="the record batch",
        input_names=("batch_id",),
        nodes=tuple(nodes),
        edges=_chain(*(node.node_id for node in nodes)),
        selected_output=nodes[-1].node_id,
        version=3,
        public=False,
        status="active",
        edited_by_colleague=False,
    )
