"""Trigify workflow definitions: a trigger, actions, edges and the execution table's columns.

Six archetypes cover the four documented trigger kinds and the two real ones the create page does
not list: the docs' own "summarise new posts to Slack" (``workflows/new-post``), engagement
enrichment (``workflows/engagement``), a webhook router with ``if``/``else`` conditional edges
(``workflows/webhook``), a weekly digest (``workflows/scheduled-trigger``), a workflow chained on
another's signals (``workflows/signal-created``) and a multi-search liker enrichment that runs
one action per item of a ``builtin:loop`` (``workflows/multi-post-trigger``; its executions repeat
the body's ``step_id`` with ``iteration``/``totalItems``, as Trigify's execution log does).
``column_config`` entries point at an action (``stepId``) and a dot path into its output
(``fieldPath``); executions fill ``mapped_output`` from them.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from mock_server._vocab import Vocabulary, pick

Json = Any
SOURCE = "$source"
MODEL = "openai/gpt-5-mini"


@dataclass(frozen=True, slots=True)
class Action:
    """One action of a workflow; ``recipe`` (how the mock makes its output) is never rendered."""

    id: str
    kind: str
    name: str
    inputs: Mapping[str, Json]
    recipe: str


@dataclass(frozen=True, slots=True)
class Edge:
    """An edge; ``conditional`` is ``(type, ref)`` for ``if``/``else`` edges."""

    source: str
    target: str
    name: str | None = None
    conditional: tuple[str, str] | None = None


@dataclass(frozen=True, slots=True)
class Column:
    """A ``column_config`` entry."""

    id: str
    step_id: str
    field_path: str
    label: str


@dataclass(frozen=True, slots=True)
class Workflow:
    """One Trigify workflow (status and dates are decided by the world)."""

    index: int
    name: str
    description: str | None
    trigger_kind: str
    trigger_inputs: Mapping[str, Json]
    actions: tuple[Action, ...]
    edges: tuple[Edge, ...]
    columns: tuple[Column, ...] | None
    notes: tuple[Mapping[str, Json], ...] = ()
    loops: Mapping[str, str] = field(default_factory=dict)
    """Loop bodies: the id of an action run once per item -> the id of its ``builtin:loop``."""
    _sides: tuple[bool | None, ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        # Every run asks which actions its branch takes: worked out once per workflow.
        object.__setattr__(self, "_sides", tuple(self.side(action.id) for action in self.actions))

    def side(self, action_id: str) -> bool | None:
        """Which conditional side leads to ``action_id``: True (``if``), False (``else``), or
        None when it is reached unconditionally."""
        for edge in self.edges:
            if edge.target == action_id and edge.conditional is not None:
                return edge.conditional[0] != "else"
        return None

    def taken(self, branch: bool) -> list[bool]:
        """Whether each action runs when the conditional goes to ``branch`` (True: ``if``)."""
        return [side is None or side == branch for side in self._sides]


def _ref(path: str) -> str:
    return "{{ !ref($." + path + ") }}"


def _summarise(rng: random.Random, vocab: Vocabulary) -> tuple[Any, ...]:
    channel = pick(rng, ("#social-alerts", *vocab.slack_channels[:6]))
    actions = (
        Action("agent-1", "generic_agent", "Summarise Post",
               {"outputFormat": "text", "model": MODEL,
                "prompt": "Summarise this post: " + _ref("trigger.outputs.text")}, "summary"),
        Action("slack-1", "slack_send_channel_message", "Send Summary",
               {"channel": channel,
                "message": "New post summary: " + _ref("agent-1.result.output")}, "slack"),
    )  # fmt: skip
    edges = (Edge(SOURCE, "agent-1"), Edge("agent-1", "slack-1"))
    columns = (Column("col_summary", "agent-1", "result.output", "Summary"),)
    names = ("Summarise new posts to Slack", "Competitor post digest", "Founder posts to Slack")
    text = "AI-summarise each new post and post the summary to Slack"
    return names, text, "workflows/new-post", {}, actions, edges, columns, ()


def _enrich(rng: random.Random, vocab: Vocabulary) -> tuple[Any, ...]:
    actions = (
        Action("enrich-1", "enrich/profile", "Enrich profile",
               {"linkedin_url": _ref("trigger.outputs.profile_url")}, "enrich"),
        Action("agent-1", "generic_agent", "Write icebreaker",
               {"outputFormat": "text", "model": MODEL,
                "prompt": "Write a one-line icebreaker for " + _ref("enrich-1.result.full_name")
                + ", " + _ref("enrich-1.result.headline")}, "icebreaker"),
        Action("slack-1", "slack_send_channel_message", "Notify sales",
               {"channel": "#sales-leads",
                "message": "New engager " + _ref("enrich-1.result.full_name") + ": "
                + _ref("agent-1.result.output")}, "slack"),
    )  # fmt: skip
    edges = (Edge(SOURCE, "enrich-1"), Edge("enrich-1", "agent-1"), Edge("agent-1", "slack-1"))
    columns = (
        Column("col_name", "enrich-1", "result.full_name", "Name"),
        Column("col_company", "enrich-1", "result.company", "Company"),
        Column("col_icebreaker", "agent-1", "result.output", "Icebreaker"),
    )
    names = ("Enrich post engagers", "Warm leads from comments", "Engager research")
    text = "Enrich everyone who engages with our posts and draft an icebreaker for sales"
    return names, text, "workflows/engagement", {}, actions, edges, columns, ()


def _router(rng: random.Random, vocab: Vocabulary) -> tuple[Any, ...]:
    check = "$.check-1.result.output"
    actions = (
        Action("check-1", "condition", "Check intent",
               {"value": _ref("trigger.outputs.body.intent"), "operator": "equals",
                "compare_to": "high"}, "classify"),
        Action("notify-1", "slack_send_channel_message", "Alert sales",
               {"channel": pick(rng, vocab.slack_channels),
                "message": "High-intent request from " + _ref("trigger.outputs.body.email")},
               "slack"),
        Action("log-1", "generic_agent", "Log request",
               {"outputFormat": "text", "model": MODEL,
                "prompt": "Summarise this request for the CRM: "
                + _ref("trigger.outputs.body.message")}, "note"),
    )  # fmt: skip
    edges = (
        Edge(SOURCE, "check-1"),
        Edge("check-1", "notify-1", "high intent", ("if", check)),
        Edge("check-1", "log-1", None, ("else", check)),
    )
    notes = ({"type": "note", "text": "Route high-intent requests to Slack"},)
    names = ("Webhook router", "Inbound lead router", "Demo request triage")
    text = "Route high-intent webhook requests to Slack; log the rest"
    return names, text, "workflows/webhook", {}, actions, edges, None, notes


def _digest(rng: random.Random, vocab: Vocabulary) -> tuple[Any, ...]:
    domain = pick(rng, vocab.domains)
    actions = (
        Action("agent-1", "generic_agent", "Draft digest",
               {"outputFormat": "text", "model": MODEL,
                "prompt": "Write this week's digest of the saved posts"}, "digest"),
        Action("http-1", "http_request", "Save to CRM",
               {"method": "POST", "url": f"https://api.{domain}/v1/notes",
                "body": _ref("agent-1.result.output")}, "http"),
        Action("slack-1", "slack_send_channel_message", "Share digest",
               {"channel": pick(rng, vocab.slack_channels),
                "message": _ref("agent-1.result.output")}, "slack"),
    )  # fmt: skip
    edges = (Edge(SOURCE, "agent-1"), Edge("agent-1", "http-1"), Edge("http-1", "slack-1"))
    columns = (
        Column("col_digest", "agent-1", "result.output", "Digest"),
        Column("col_record", "http-1", "result.body.id", "CRM record"),
    )
    names = ("Weekly social digest", "Monday market brief", "Weekly competitor roundup")
    inputs = {"cron": "0 9 * * 1", "timezone": pick(rng, ("UTC", "Europe/London", "US/Eastern"))}
    text = "Every Monday, digest the week's saved posts, file them in the CRM and share them"
    return names, text, "workflows/scheduled-trigger", inputs, actions, edges, columns, ()


def _signal(rng: random.Random, vocab: Vocabulary) -> tuple[Any, ...]:
    actions = (
        Action("agent-1", "generic_agent", "Qualify signal",
               {"outputFormat": "text", "model": MODEL,
                "prompt": "Is this buying signal worth a call? " + _ref("trigger.outputs.summary")},
               "summary"),
        Action("slack-1", "slack_send_channel_message", "Alert account owner",
               {"channel": pick(rng, vocab.slack_channels),
                "message": "New signal: " + _ref("agent-1.result.output")}, "slack"),
    )  # fmt: skip
    edges = (Edge(SOURCE, "agent-1"), Edge("agent-1", "slack-1"))
    columns = (Column("col_verdict", "agent-1", "result.output", "Verdict"),)
    names = ("Act on detected signals", "Signal follow-up", "Route buying signals")
    text = "When another workflow creates a signal, qualify it and alert the account owner"
    return names, text, "workflows/signal-created", {}, actions, edges, columns, ()


def _loop(rng: random.Random, vocab: Vocabulary) -> tuple[Any, ...]:
    items = "$.loop-1.result.collection"
    actions = (
        Action("loop-1", "builtin:loop", "Each liker",
               {"collection": _ref("trigger.outputs.likers")}, "collect"),
        Action("enrich-1", "enrich/profile", "Enrich liker",
               {"linkedin_url": _ref("loop-1.item")}, "enrich"),
        Action("slack-1", "slack_send_channel_message", "Share enriched likers",
               {"channel": pick(rng, vocab.slack_channels),
                "message": "Enriched the likers of " + _ref("trigger.outputs.post_url")}, "slack"),
    )  # fmt: skip
    edges = (
        Edge(SOURCE, "loop-1"),
        Edge("loop-1", "enrich-1", "each", ("loop", items)),
        Edge("loop-1", "slack-1", "done", ("completed", items)),
    )
    columns = (Column("col_name", "enrich-1", "result.full_name", "Name"),)
    names = ("Enrich likers across searches", "Competitor post likers", "Multi-search engagers")
    text = "For posts from several saved searches, enrich every liker and share the list"
    return (names, text, "workflows/multi-post-trigger", {}, actions, edges, columns, (),
            {"enrich-1": "loop-1"})  # fmt: skip


ARCHETYPES: tuple[Callable[[random.Random, Vocabulary], tuple[Any, ...]], ...] = (
    _summarise, _enrich, _router, _digest, _signal, _loop,
)  # fmt: skip
RECIPE_OF_KIND = {
    "generic_agent": "summary",
    "slack_send_channel_message": "slack",
    "enrich/profile": "enrich",
    "condition": "classify",
    "http_request": "http",
    "builtin:loop": "collect",
}
"""The recipe of an action read from a rendered definition (the docs' example workflow)."""


def build_workflow(index: int, rng: random.Random, vocab: Vocabulary, draft: bool) -> Workflow:
    """Workflow ``index`` (``rng`` is private to it); drafts sometimes lack a description."""
    # Rotated by one per block of six so that no archetype is always the world's every-sixth
    # draft (which never runs); workflow 0 is the docs' "summarise to Slack" in every world.
    count = len(ARCHETYPES)
    names, text, trigger, inputs, actions, edges, columns, notes, *loops = ARCHETYPES[
        (index + index // count) % count
    ](rng, vocab)
    return Workflow(
        index=index,
        name=("Draft: " if draft else "") + pick(rng, names),
        description=None if draft and rng.random() < 0.5 else text,
        trigger_kind=trigger,
        trigger_inputs=inputs,
        actions=actions,
        edges=edges,
        columns=None if columns is not None and rng.random() < 0.15 else columns,
        notes=notes,
        loops=loops[0] if loops else {},
    )


def from_definition(index: int, data: Mapping[str, Json]) -> Workflow:
    """A rendered workflow object (``data`` of WF-GET) as a ``Workflow`` the world can run."""
    definition = data.get("workflow") or {}
    trigger = definition.get("trigger") or {}
    actions = tuple(
        Action(a["id"], a["kind"], a.get("name") or a["id"], a.get("inputs") or {},
               RECIPE_OF_KIND.get(a["kind"], "note"))
        for a in definition.get("actions", ())
    )  # fmt: skip
    edges = tuple(
        Edge(e["from"], e["to"], e.get("name"),
             (e["conditional"]["type"], e["conditional"]["ref"]) if "conditional" in e else None)
        for e in definition.get("edges", ())
    )  # fmt: skip
    columns = tuple(
        Column(c["id"], c["stepId"], c["fieldPath"], c["label"]) for c in data.get("columns", ())
    )
    return Workflow(
        index=index,
        name=data.get("name", ""),
        description=data.get("description"),
        trigger_kind=trigger.get("kind", "workflows/webhook"),
        trigger_inputs=trigger.get("inputs") or {},
        actions=actions,
        edges=edges,
        columns=columns or None,
    )


def trigger_outputs(
    kind: str, rng: random.Random, vocab: Vocabulary, at_us: int
) -> dict[str, Json]:
    """What the trigger of one execution delivered (``$.trigger.outputs``)."""
    person = pick(rng, vocab.usernames).replace(".", "-")
    activity = f"urn:li:activity:{7_000_000_000_000_000_000 + rng.getrandbits(59) % 10**18}"
    if kind == "workflows/new-post":
        return {
            "text": pick(rng, vocab.post_texts),
            "author": pick(rng, vocab.full_names),
            "author_url": f"https://www.linkedin.com/in/{person}",
            "post_url": f"https://www.linkedin.com/feed/update/{activity}",
        }
    if kind == "workflows/engagement":
        return {
            "type": pick(rng, ("comment", "like", "repost")),
            "engager": pick(rng, vocab.full_names),
            "profile_url": f"https://www.linkedin.com/in/{person}",
            "post_url": f"https://www.linkedin.com/feed/update/{activity}",
        }
    if kind == "workflows/webhook":
        return {
            "body": {
                "email": pick(rng, vocab.emails),
                "company": pick(rng, vocab.companies),
                "intent": "high" if rng.random() < 0.5 else "low",
                "message": pick(rng, vocab.sentences),
            }
        }
    if kind == "workflows/signal-created":
        return {
            "signal": {
                "id": f"sig_{rng.getrandbits(40):010x}",
                "type": pick(rng, ("funding", "hiring", "competitor_mention", "job_change")),
                "company": pick(rng, vocab.companies),
            },
            "summary": pick(rng, vocab.sentences),
        }
    if kind == "workflows/multi-post-trigger":
        likers = 2 + int(rng.random() * 3)
        return {
            "text": pick(rng, vocab.post_texts),
            "post_url": f"https://www.linkedin.com/feed/update/{activity}",
            "likers": [
                f"https://www.linkedin.com/in/{pick(rng, vocab.usernames).replace('.', '-')}"
                for _ in range(likers)
            ],
        }
    return {"scheduled_at": at_us // 1000}
