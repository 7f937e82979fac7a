"""Trigify action kinds: what each takes, how long it runs, what it outputs, how it fails.

Two kinds are documented (``generic_agent`` with ``outputFormat``/``model``/``prompt``;
``slack_send_channel_message`` with ``channel``/``message``); ``condition`` appears in the docs'
conditional-edge example, ``enrich/profile`` in the error example ("Step 'Enrich profile' …",
"unknown action kind 'enrich/profle'"), and ``http_request`` is a plausible addition. ``CATALOGUE``
is also what ``GET /v1/workflows/actions`` lists.

An action's output is made by its *recipe* (summary, icebreaker, slack message, …), a mock-only
detail of the definition that is never rendered. Inputs hold ``{{ !ref($.<id>.<path>) }}``
references that ``resolve`` fills from the trigger and earlier outputs.
"""

from __future__ import annotations

import random
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import orjson

from mock_server._vocab import Vocabulary, pick

Json = Any
_REF = re.compile(r"\{\{\s*!ref\(\$\.([^)]+)\)\s*\}\}")


@dataclass(frozen=True, slots=True)
class ActionKind:
    """One entry of the action catalogue."""

    kind: str
    name: str
    description: str
    inputs: tuple[tuple[str, str, bool, str], ...]
    """(name, type, required, description) of each input."""
    duration_ms: tuple[int, int]
    errors: tuple[tuple[str, str, bool], ...]
    """(code, message, retryable) of the ways it fails."""


CATALOGUE: tuple[ActionKind, ...] = (
    ActionKind(
        "generic_agent", "AI agent", "Runs an LLM prompt and returns its answer.",
        (("prompt", "string", True, "The prompt; may reference earlier outputs"),
         ("model", "string", True, "Model id, e.g. openai/gpt-5-mini"),
         ("outputFormat", "string", False, "text or json")),
        (1_500, 9_000),
        (("TIMEOUT", "Model request timed out after 30s", True),
         ("MODEL_ERROR", "The model returned an empty response", True)),
    ),
    ActionKind(
        "slack_send_channel_message", "Send Slack message", "Posts a message to a channel.",
        (("channel", "string", True, "Channel name, e.g. #social-alerts"),
         ("message", "string", True, "Message text")),
        (150, 900),
        (("SLACK_API_ERROR", "channel_not_found", False),
         ("SLACK_API_ERROR", "not_in_channel", False)),
    ),
    ActionKind(
        "enrich/profile", "Enrich profile", "Looks up a LinkedIn profile's person and company.",
        (("linkedin_url", "string", True, "Profile URL"),),
        (800, 4_000),
        (("NOT_FOUND", "profile not found", False),
         ("RATE_LIMITED", "Enrichment provider rate limit reached", True)),
    ),
    ActionKind(
        "condition", "Condition", "Compares a value and follows the matching edge.",
        (("value", "string", True, "Value to test; usually a reference"),
         ("operator", "string", True, "equals, contains, greater_than"),
         ("compare_to", "string", True, "Value to compare with")),
        (3, 60),
        (("INVALID_REFERENCE", "Reference resolved to undefined", False),),
    ),
    ActionKind(
        "builtin:loop", "Loop", "Runs the actions after it once per item of a collection.",
        (("collection", "array", True, "The items; usually a reference"),),
        (5, 40),
        (("INVALID_REFERENCE", "Loop collection is not an array", False),),
    ),
    ActionKind(
        "http_request", "HTTP request", "Sends an HTTP request to another system.",
        (("method", "string", True, "GET, POST, PUT or PATCH"),
         ("url", "string", True, "Target URL"),
         ("body", "string", False, "Request body")),
        (100, 1_500),
        (("HTTP_ERROR", "Request failed with status 502 Bad Gateway", True),),
    ),
)  # fmt: skip
KINDS: Mapping[str, ActionKind] = {entry.kind: entry for entry in CATALOGUE}


def catalogue_payload() -> list[dict[str, Json]]:
    """The items of ``GET /v1/workflows/actions``."""
    return [
        {
            "kind": entry.kind,
            "name": entry.name,
            "description": entry.description,
            "inputs": [
                {"name": name, "type": kind, "required": required, "description": text}
                for name, kind, required, text in entry.inputs
            ],
        }
        for entry in CATALOGUE
    ]


def draw_duration(kind: str, rng: random.Random) -> int:
    """A duration in microseconds for an action of ``kind``."""
    low, high = KINDS[kind].duration_ms
    return (low + int(rng.random() * (high - low))) * 1000


def draw_error(kind: str, rng: random.Random) -> tuple[str, str, bool]:
    """One way an action of ``kind`` fails: (code, message, retryable)."""
    return pick(rng, KINDS[kind].errors)


def lookup(context: Mapping[str, Json], path: str) -> Json:
    """The value at dot ``path`` in ``context`` (``steps.`` prefixes accepted), or None."""
    parts = path.split(".")
    if parts[0] == "steps":
        parts = parts[1:]
    value: Json = context
    for part in parts:
        # ``type() is dict`` first: the values are almost always dicts, and an ABC check is slow.
        if not (type(value) is dict or isinstance(value, Mapping)) or part not in value:
            return None
        value = value[part]
    return value


def resolve(template: Json, context: Mapping[str, Json]) -> Json:
    """``template`` with every ``{{ !ref($.path) }}`` replaced by its value, as text."""
    if not isinstance(template, str) or "!ref" not in template:
        return template

    def text(match: re.Match[str]) -> str:
        value = lookup(context, match.group(1))
        if value is None:
            return ""
        return value if isinstance(value, str) else orjson.dumps(value).decode()

    return _REF.sub(text, template)


@dataclass(slots=True)
class OutputCall:
    """What a recipe sees: the run's randomness, words, resolved inputs and the trigger data
    (not frozen: one is made per step of every run, and a frozen dataclass costs twice as much
    to build)."""

    rng: random.Random
    vocab: Vocabulary
    inputs: Mapping[str, Json]
    trigger: Mapping[str, Json]
    end_us: int
    branch: bool


def _summary(call: OutputCall) -> dict[str, Json]:
    verb = pick(call.rng, ("announced", "shared", "argued", "celebrated", "asked about"))
    text = f"The author {verb} {pick(call.rng, call.vocab.sentences).lower()}"
    return {"result": {"output": text}}


def _icebreaker(call: OutputCall) -> dict[str, Json]:
    name = str(call.trigger.get("engager", "there")).split(" ")[0]
    line = f"Hi {name}, thanks for engaging with our post! {pick(call.rng, call.vocab.sentences)}"
    return {"result": {"output": line}}


def _digest(call: OutputCall) -> dict[str, Json]:
    points = [f"- {pick(call.rng, call.vocab.sentences)}" for _ in range(3)]
    return {"result": {"output": "Weekly digest:\n" + "\n".join(points)}}


def _note(call: OutputCall) -> dict[str, Json]:
    sentence = pick(call.rng, call.vocab.sentences)
    return {"result": {"output": f"Logged low-intent request: {sentence}"}}


def _classify(call: OutputCall) -> dict[str, Json]:
    return {"result": {"output": call.branch}}


_CHANNEL_CHARS = "ABCDEFGHJKLMNPQRSTUVWXYZ0123456789"
"""The 34 characters of a Slack channel id after its ``C0``."""


def _slack(call: OutputCall) -> dict[str, Json]:
    draw = call.rng.random  # nine ``pick``s from _CHANNEL_CHARS, inlined (same draws, same text)
    channel = "C0" + "".join([_CHANNEL_CHARS[int(draw() * len(_CHANNEL_CHARS))] for _ in range(9)])
    ts = f"{call.end_us // 1_000_000}.{int(call.rng.random() * 1_000_000):06d}"
    return {"result": {"ok": True, "channel": channel, "ts": ts,
                       "message": {"text": call.inputs.get("message", "")}}}  # fmt: skip


def _enrich(call: OutputCall) -> dict[str, Json]:
    rng, vocab = call.rng, call.vocab
    return {
        "result": {
            "full_name": str(call.trigger.get("engager") or pick(rng, vocab.full_names)),
            "headline": f"{pick(rng, vocab.job_titles)} at {pick(rng, vocab.companies)}",
            "company": pick(rng, vocab.companies),
            "location": pick(rng, vocab.cities),
            "linkedin_url": call.inputs.get("linkedin_url", ""),
        }
    }


def _http(call: OutputCall) -> dict[str, Json]:
    record = f"rec_{call.rng.getrandbits(40):010x}"
    return {"result": {"status": 200, "body": {"ok": True, "id": record}}}


def _collect(call: OutputCall) -> dict[str, Json]:
    items = list(call.trigger.get("likers") or [])
    return {"result": {"collection": items, "totalItems": len(items)}}


RECIPES: Mapping[str, Callable[[OutputCall], dict[str, Json]]] = {
    "collect": _collect,
    "summary": _summary,
    "icebreaker": _icebreaker,
    "digest": _digest,
    "note": _note,
    "classify": _classify,
    "slack": _slack,
    "enrich": _enrich,
    "http": _http,
}


def output_for(recipe: str, call: OutputCall) -> dict[str, Json]:
    """The output an action with ``recipe`` produces."""
    return RECIPES[recipe](call)
