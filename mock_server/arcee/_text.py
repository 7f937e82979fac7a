"""Realistic text for Arcee workflows: names, prompts and model answers.

The shared vocabulary (``mock_server._vocab``) supplies people, companies and filler sentences;
this module adds the few phrases that make an Orchestra workflow read like one (a prompt asking
for a joke or a summary, an answer that addresses it). Everything is picked with a caller's
seeded ``random.Random``, so the text is a pure function of the world seed and the entity.
"""

from __future__ import annotations

import random

from mock_server._vocab import Vocabulary, pick

TOPICS: tuple[str, ...] = (
    "the weather", "quarterly sales", "our onboarding flow", "Kubernetes upgrades",
    "the new pricing page", "customer churn", "the product launch", "remote work",
    "data privacy", "the support backlog", "cloud costs", "the hiring plan",
    "release notes", "the marketing budget", "incident response", "team offsites",
)  # fmt: skip
PROMPTS: tuple[str, ...] = (
    "Tell me a joke about {topic}",
    "Summarise the latest updates on {topic} in three bullet points",
    "Draft a short, friendly email to {person} about {topic}",
    "Explain {topic} to a new hire at {company}",
    "List the main risks of {topic} and one mitigation for each",
    "Write a two-sentence status update on {topic}",
)  # fmt: skip
OPENERS: tuple[str, ...] = (
    "Here is a short summary of {topic}:",
    "Sure! A quick take on {topic}:",
    "A joke about {topic}? It had so many updates it needed a changelog for its changelog.",
    "Status update on {topic}:",
    "Key points on {topic}:",
)  # fmt: skip
MODELS: tuple[str, ...] = (
    "virtuoso-large", "virtuoso-medium", "virtuoso-small", "coder-large", "arcee-blitz",
    "maestro-reasoning",
)  # fmt: skip
SYSTEM_PROMPTS: tuple[str, ...] = (
    "You are a helpful assistant.",
    "You are a concise analyst. Answer in plain language.",
    "You write short, friendly business messages.",
    "You are a support triage assistant for {company}.",
)  # fmt: skip
WORKFLOW_NAMES: dict[str, tuple[str, ...]] = {
    "joke_to_slack": ("Weather joke to Slack", "Friday fun to #general", "Team morale booster"),
    "single_model": ("Quick answer", "Ask Virtuoso", "Product FAQ bot", "Tone rewriter"),
    "rag_email": ("Knowledge base answers", "Customer question responder", "Policy lookup"),
    "triage": ("Support ticket triage", "Escalation router", "Inbound request sorter"),
    "digest": ("Daily standup digest", "Competitor news brief", "Release notes drafter"),
}
"""Names per archetype (see ``_graph.ARCHETYPES``)."""


def topic(rng: random.Random) -> str:
    """A subject a prompt can be about."""
    return pick(rng, TOPICS)


def prompt(rng: random.Random, vocab: Vocabulary, subject: str) -> str:
    """A user prompt about ``subject``."""
    return pick(rng, PROMPTS).format(
        topic=subject, person=pick(rng, vocab.first_names), company=pick(rng, vocab.companies)
    )


def answer(rng: random.Random, vocab: Vocabulary, subject: str) -> str:
    """A model answer about ``subject``: an opener and two or three sentences."""
    lines = [pick(rng, OPENERS).format(topic=subject), ""]
    lines += [pick(rng, vocab.sentences) for _ in range(2 + int(rng.random() * 2))]
    return "\n".join(lines)


def system_prompt(rng: random.Random, vocab: Vocabulary) -> str:
    """A system message for a model node."""
    return pick(rng, SYSTEM_PROMPTS).format(company=pick(rng, vocab.companies))


def token_count(text: str) -> int:
    """A plausible token count for ``text`` (about 1.3 tokens per word)."""
    return max(1, ((text.count(" ") + text.count("\n") + 1) * 4 + 2) // 3)


def hex_digits(rng: random.Random, length: int) -> str:
    """``length`` lowercase hex digits."""
    return f"{rng.getrandbits(4 * length):0{length}x}"
